"""What moto's SageMaker pipelines lack, added back so tests can exercise real behaviour.

moto 5 starts every pipeline execution as "Succeeded" and ignores `ClientRequestToken`. AWS
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
from moto.sagemaker import models as sagemaker_models

REGION = "us-east-1"


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

    def finish(self, arn: str, status: str, failure_reason: str | None = None) -> None:
        execution = self.execution(arn)
        execution.pipeline_execution_status = status
        execution.pipeline_execution_failure_reason = failure_reason


@pytest.fixture
def pipelines(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> PipelineSim:
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
    return PipelineSim()
