"""What moto's SageMaker endpoints lack, added back so the deployment can be followed over time.

moto 5 has no UpdateEndpoint at all, and its endpoints are InService from creation to deletion.
moto also replaces a model or endpoint config created twice, where SageMaker refuses ("Cannot
create already existing ..."). AWS documents that UpdateEndpoint sets the endpoint's status to
Updating and, when done, back
to InService (API reference, UpdateEndpoint), that DescribeEndpoint shows the config an
endpoint moves to in `PendingDeploymentSummary` while it updates (DescribeEndpoint), and that an
update SageMaker rolls back leaves the endpoint InService with its previous config (deployment
guardrails, auto-rollback). This helper adds exactly that to moto's backend: an `update_endpoint`
action that records each request (the tests assert the DeploymentConfig sent), and lets a test
end the update the way SageMaker would (completed, rolled back, or failed); and moto's
CreateModel and CreateEndpointConfig refuse an existing name as SageMaker does. Everything else
(packages and their approval, models, endpoint configs, DescribeEndpoint itself) is moto's.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker import responses as sagemaker_responses
from moto.sagemaker.exceptions import SagemakerClientError, ValidationError

REGION = "us-east-1"


class EndpointSim:
    """The UpdateEndpoint requests moto received, and the endpoints' updates in flight."""

    def __init__(self) -> None:
        self.client = boto3.client("sagemaker", region_name=REGION)
        self.updates: list[dict[str, Any]] = []
        self.pending: dict[str, str] = {}  # endpoint -> the config it moves to
        # the error code the next UpdateEndpoint fails with (once), e.g. ThrottlingException
        self.refuse_next_update: str | None = None

    @property
    def backend(self) -> Any:
        return sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]

    def endpoint(self, name: str) -> Any:
        return self.backend.endpoints[name]

    def complete(self, name: str) -> None:
        """The new fleet baked without an alarm: the endpoint serves the new config."""
        endpoint = self.endpoint(name)
        endpoint.endpoint_config_name = self.pending.pop(name)
        endpoint.endpoint_status = "InService"

    def roll_back(self, name: str) -> None:
        """A rollback alarm fired: traffic went back to the old fleet, which serves on."""
        self.pending.pop(name)
        self.endpoint(name).endpoint_status = "InService"

    def fail(self, name: str, reason: str) -> None:
        self.pending.pop(name, None)
        endpoint = self.endpoint(name)
        endpoint.endpoint_status, endpoint.failure_reason = "Failed", reason


def install(monkeypatch: pytest.MonkeyPatch) -> EndpointSim:
    """Adds AWS's documented UpdateEndpoint behaviour to moto (inside an active mock_aws)."""
    sim = EndpointSim()

    def update_endpoint(self: Any) -> ActionResult:  # moto lacks this action
        name = self._get_param("EndpointName")
        config = self._get_param("EndpointConfigName")
        endpoint = self.sagemaker_backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(message=f"Could not find endpoint {name}.")
        self.sagemaker_backend.describe_endpoint_config(config)  # raises if it does not exist
        if sim.refuse_next_update:
            refusal = type("Refused", (SagemakerClientError,), {"code": sim.refuse_next_update})
            sim.refuse_next_update = None
            raise refusal("Rate exceeded")
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f"Cannot update in-progress endpoint {endpoint.arn}.")
        sim.updates.append(
            {
                "EndpointName": name,
                "EndpointConfigName": config,
                "DeploymentConfig": self._get_param("DeploymentConfig"),
                "RetainDeploymentConfig": self._get_param("RetainDeploymentConfig"),
            }
        )
        sim.pending[name] = config
        endpoint.endpoint_status = "Updating"
        return ActionResult({"EndpointArn": endpoint.arn})

    original_describe = sagemaker_models.SageMakerModelBackend.describe_endpoint

    def describe_endpoint(self: Any, endpoint_name: str) -> dict[str, Any]:
        response = dict(original_describe(self, endpoint_name))
        if endpoint_name in sim.pending:
            response["PendingDeploymentSummary"] = {
                "EndpointConfigName": sim.pending[endpoint_name]
            }
        return response

    def refusing_existing(method: str, kind: str, names: str, key: str) -> None:
        original = getattr(sagemaker_models.SageMakerModelBackend, method)

        def create(self: Any, **kwargs: Any) -> Any:
            if kwargs[key] in getattr(self, names):
                raise ValidationError(
                    message=f'Cannot create already existing {kind} "{kwargs[key]}".'
                )
            return original(self, **kwargs)

        monkeypatch.setattr(sagemaker_models.SageMakerModelBackend, method, create)

    refusing_existing("create_model", "model", "_models", "model_name")
    refusing_existing(
        "create_endpoint_config",
        "endpoint configuration",
        "endpoint_configs",
        "endpoint_config_name",
    )
    monkeypatch.setattr(
        sagemaker_responses.SageMakerResponse, "update_endpoint", update_endpoint, raising=False
    )
    monkeypatch.setattr(
        sagemaker_models.SageMakerModelBackend, "describe_endpoint", describe_endpoint
    )
    return sim


@pytest.fixture
def endpoint_sim(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> EndpointSim:
    return install(monkeypatch)
