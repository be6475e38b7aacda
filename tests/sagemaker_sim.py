"""What moto's SageMaker pipelines lack, added back so tests can exercise real behaviour.

moto 5 starts every pipeline execution as "Succeeded", ignores `ClientRequestToken`, reports
no failure reasons and has no ListPipelineExecutionSteps. AWS
documents that StartPipelineExecution is idempotent per token ("an idempotent operation
completes no more than once") and that a new execution is "Executing" until it ends. This helper
patches moto's backend with exactly those two behaviours, and lets a test end an execution the
way SageMaker would (Succeeded/Failed/Stopped, with a failure reason).
Tests that need the exact request use a botocore Stubber instead; this is for state over time.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker import responses as sagemaker_responses

REGION = "us-east-1"
STEPS: dict[str, list[dict[str, Any]]] = {}


class PipelineSim:
    """Create pipelines in moto and drive their executions."""

    def __init__(self) -> None:
        self.client = boto3.client("sagemaker", region_name=REGION)

    @property
    def backend(self) -> Any:
        return sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]

    def create_pipeline(self, name: str, definition: dict[str, Any] | None = None) -> str:
        response = self.client.create_pipeline(
            PipelineName=name,
            PipelineDefinition=json.dumps(definition or {"Version": "2020-12-01", "Steps": []}),
            RoleArn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sagemaker-execution",
        )
        return str(response["PipelineArn"])

    def executions(self, pipeline: str) -> list[Any]:
        return list(self.backend.pipelines[pipeline].pipeline_executions.values())

    def execution(self, arn: str) -> Any:
        for pipeline in self.backend.pipelines.values():
            if arn in pipeline.pipeline_executions:
                return pipeline.pipeline_executions[arn]
        raise KeyError(arn)

    def parameters(self, arn: str) -> dict[str, str]:
        return {p["Name"]: p["Value"] for p in self.execution(arn).pipeline_parameters}

    def finish(
        self,
        arn: str,
        status: str,
        failure_reason: str | None = None,
        step_failure: str | None = None,
    ) -> None:
        """Ends an execution as SageMaker would; ``step_failure`` is the Train step's reason."""
        execution = self.execution(arn)
        execution.pipeline_execution_status = status
        execution.pipeline_execution_failure_reason = failure_reason
        step: dict[str, Any] = {
            "StepName": "Train",
            "StepStatus": {"Succeeded": "Succeeded", "Failed": "Failed"}.get(status, "Stopped"),
        }
        if step_failure:
            step["FailureReason"] = step_failure
        STEPS[arn] = [step]


@pytest.fixture
def pipelines(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> PipelineSim:
    return install(monkeypatch)


def install(monkeypatch: pytest.MonkeyPatch) -> PipelineSim:
    """Adds AWS's documented behaviour to moto's SageMaker (inside an active mock_aws)."""
    original = sagemaker_models.SageMakerModelBackend.start_pipeline_execution

    def start_pipeline_execution(
        self: Any, pipeline_name: str, *args: Any, **kwargs: Any
    ) -> dict[str, str]:
        token = kwargs.get("client_request_token") or (args[-1] if args else None)
        pipeline = sagemaker_models.get_pipeline_from_name(self.pipelines, pipeline_name)
        for arn, execution in pipeline.pipeline_executions.items():
            if token and execution.client_request_token == token:
                return {"PipelineExecutionArn": arn}  # same token: the same execution
        result = original(self, pipeline_name, *args, **kwargs)
        pipeline.pipeline_executions[
            result["PipelineExecutionArn"]
        ].pipeline_execution_status = "Executing"
        return result

    monkeypatch.setattr(
        sagemaker_models.SageMakerModelBackend, "start_pipeline_execution", start_pipeline_execution
    )

    original_describe = sagemaker_models.SageMakerModelBackend.describe_pipeline_execution

    def describe_pipeline_execution(self: Any, pipeline_execution_arn: str) -> dict[str, Any]:
        response = original_describe(self, pipeline_execution_arn)
        execution = sagemaker_models.get_pipeline_execution_from_arn(
            self.pipelines, pipeline_execution_arn
        )
        response["FailureReason"] = execution.pipeline_execution_failure_reason or ""
        return response

    def list_pipeline_execution_steps(self: Any) -> ActionResult:  # moto lacks this action
        arn = self._get_param("PipelineExecutionArn")
        return ActionResult({"PipelineExecutionSteps": STEPS.get(arn, [])})

    monkeypatch.setattr(
        sagemaker_models.SageMakerModelBackend,
        "describe_pipeline_execution",
        describe_pipeline_execution,
    )
    monkeypatch.setattr(
        sagemaker_responses.SageMakerResponse,
        "list_pipeline_execution_steps",
        list_pipeline_execution_steps,
        raising=False,
    )
    STEPS.clear()
    return PipelineSim()
