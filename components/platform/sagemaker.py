"""What every feature knows of SageMaker in this stack: its tags, the event types it emits, the
execution role type, and the ARN patterns and IAM statements that cover exactly this stack's
pipelines.

They live in the platform tier because several features use them (the queue, the schedule,
monitoring and the event store all follow the same pipelines), and a feature never imports
another: each reaches these names here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.platform import iam, naming

MODEL_TAG = "trainops:model"
STACK_TAG = "trainops:stack"
# EventBridge detail-types of the SageMaker signals trainops follows.
TRAINING_JOB_EVENT = "SageMaker Training Job State Change"
PIPELINE_EXECUTION_EVENT = "SageMaker Model Building Pipeline Execution Status Change"


@dataclass(frozen=True)
class ExecutionRole:
    """A model's SageMaker execution role, for the parts that run as it (endpoint, bias jobs)."""

    arn: pulumi.Input[str]
    name: pulumi.Input[str]


def pipeline_arn_prefix(ctx: iam.AwsContext, stack: str | None = None) -> str:
    """Every pipeline ARN of this stack starts with this: `...:pipeline/trainops-<stack>--`.

    Shared documents (role policies, event patterns) use it instead of listing each pipeline,
    so they stay the same size however many models the stack trains. It is lower case, as
    SageMaker writes pipeline ARNs in events (model and stack names are lower case).
    """
    return ctx.arn("sagemaker", f"pipeline/{naming.model_prefix(stack)}")


def pipeline_arn_match(ctx: iam.AwsContext, stack: str | None = None) -> list[dict[str, str]]:
    """An EventBridge pattern value that matches exactly this stack's pipelines."""
    return [{"prefix": pipeline_arn_prefix(ctx, stack)}]


def start_statements(
    ctx: iam.AwsContext,
    stack: str | None = None,
    *,
    start: bool = True,
    read_executions: bool = True,
) -> list[iam.Statement]:
    """What a trigger (Lambda) needs to start and follow executions of this stack's pipelines.

    Listing comes with starting: a redelivered request looks for the execution its first
    delivery started before it starts again (`adapters.training.start_training`, ``resume``).
    With ``start=False`` only the read side (for watchers such as the stall detector); with
    ``read_executions=False`` no execution is described (the queue worker and the schedule tick
    learn what runs from the slot ledger or the listing, not from SageMaker's description).
    `tests/test_handler_grants.py` holds each handler's reachable calls to what this grants.
    """
    pipelines = pipeline_arn_prefix(ctx, stack) + "*"
    statements = [
        iam.allow(
            ["sagemaker:ListPipelineExecutions"]
            + (["sagemaker:StartPipelineExecution"] if start else []),
            [pipelines],
            sid="StartAndListOwnPipelines" if start else "ListOwnPipelines",
        )
    ]
    if read_executions:
        statements.append(
            iam.allow(
                ["sagemaker:DescribePipelineExecution"],
                [execution_arns(ctx, stack)],
                sid="ReadOwnPipelineExecutions",
            )
        )
    return statements


def execution_arns(ctx: iam.AwsContext, stack: str | None = None) -> str:
    """Every execution of this stack's pipelines, as an IAM resource pattern."""
    return pipeline_arn_prefix(ctx, stack) + "*/execution/*"
