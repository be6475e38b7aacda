"""End-to-end: approval-driven deployment on moto, the real handlers wired as the stacks wire them.

    a person approves a package version (SageMaker Model Package State Change, default bus)
        --> deploy_approved --> SageMaker: CreateModel, CreateEndpointConfig, UpdateEndpoint
                            --> deployment ledger (DynamoDB)
                            --> training bus --> recorder --> event store --> projector
    the endpoint's state changes (SageMaker Endpoint State Change, default bus)
        --> deploy_approved --> DescribeEndpoint: completed, or rolled back (critical topic)

The package group, its versions and their approval, the models, endpoint configs and the endpoint
are moto's; moto has no UpdateEndpoint, which tests/endpoint_sim.py adds (recording each request,
moving the endpoint to Updating) and ends as SageMaker would. The events are AWS's documented
samples (tests/fixtures/events), renamed for this stack.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.catalog_file import use_catalog
from tests.e2e.platform import MODELS, STACK, Platform
from tests.endpoint_sim import EndpointSim, install
from tests.lambda_context import LambdaContext
from tests.sagemaker_sim import PipelineSim
from trainops_runtime.adapters import deployment_ledger
from trainops_runtime.handlers import deploy_approved

FIXTURES = Path(__file__).parent.parent / "fixtures" / "events"
GROUP = f"trainops-{STACK}--churn"
ENDPOINT = GROUP
LEDGER = "trainops-test-deployment-ledger"
PULUMI_MODEL, PULUMI_CONFIG = "monitoring-churn-model-1a2b3c4", "monitoring-churn-config-1a2b3c4"
ROLE = "arn:aws:iam::123456789012:role/trainops/e2e/pipeline-churn-execution-1a2b3c4"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4.2"
ALARMS = [f"{GROUP}--deploy-5xx", f"{GROUP}--deploy-latency"]
CAPTURE = "s3://example-trainops-artifacts/data-capture/churn"
DEPLOYMENT = {  # what ApprovalDeployment writes into the function's catalog for churn
    "packageGroup": GROUP,
    "endpointName": ENDPOINT,
    "variantName": "AllTraffic",
    "instanceType": "ml.m5.large",
    "instanceCount": 1,
    "executionRoleArn": ROLE,
    "volumeKmsKeyArn": KEY,
    "dataCapture": {"destination": CAPTURE, "samplingPercent": 100, "kmsKeyArn": KEY},
    "blueGreen": {
        "trafficRouting": "ALL_AT_ONCE",
        "canarySizePercent": 10,
        "waitIntervalSeconds": 900,
        "terminationWaitSeconds": 300,
        "maximumExecutionTimeoutSeconds": 3600,
    },
    "rollbackAlarms": ALARMS,
    "tags": {"trainops:model": "churn", "trainops:stack": STACK},
}
STEPS = ("ModelApproved", "ModelDeployed", "DeploymentRolledBack")
# Deliveries that change nothing emit no metric; moto has no error shape for a throttle.
pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
    pytest.mark.filterwarnings("ignore:.*does not match an error shape"),
]


def sample(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class DeploymentPlatform(Platform):
    """The e2e platform plus what approval-driven deployment adds: churn's package group and the
    endpoint Pulumi created from its modelDataUrl, the deployment ledger, the function's settings,
    and a catalog in which churn deploys on approval and fraud does not."""

    def __init__(
        self, sim: PipelineSim, endpoints: EndpointSim, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        super().__init__(sim, monkeypatch)
        self.endpoints = endpoints
        boto3.client("dynamodb").create_table(
            TableName=LEDGER,
            KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("TRAINOPS_DEPLOYMENT_LEDGER_TABLE", LEDGER)
        use_catalog(monkeypatch, {**MODELS, "churn": {**MODELS["churn"], "deployment": DEPLOYMENT}})
        self.sagemaker = boto3.client("sagemaker")
        self.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        # what monitoring's model_endpoints created from modelDataUrl
        self.sagemaker.create_model(
            ModelName=PULUMI_MODEL,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://example-ml-data/churn/m.tgz"},
            EnableNetworkIsolation=True,
        )
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=PULUMI_CONFIG,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": PULUMI_MODEL,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        self.sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=PULUMI_CONFIG)

    # ---- the model registry ------------------------------------------------------------------
    def register(self) -> str:
        """The pipeline's RegisterModel step: a new version, pending manual approval."""
        return str(
            self.sagemaker.create_model_package(
                ModelPackageGroupName=GROUP,
                InferenceSpecification={
                    "Containers": [
                        {"Image": IMAGE, "ModelDataUrl": "s3://artifacts/models/churn/m.tgz"}
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                ModelApprovalStatus="PendingManualApproval",
            )["ModelPackageArn"]
        )

    def decide(self, arn: str, status: str = "Approved") -> dict[str, Any]:
        """A person sets the version's status; SageMaker's event about it (AWS's sample)."""
        self.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        version = self.sagemaker.describe_model_package(ModelPackageName=arn)["ModelPackageVersion"]
        return package_event(GROUP, version, arn, status)

    # ---- the function ------------------------------------------------------------------------
    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """One asynchronous invocation of deploy_approved by EventBridge."""
        return deploy_approved.handler(copy.deepcopy(event), LambdaContext())

    def endpoint_changed(self, status: str = "IN_SERVICE") -> dict[str, Any]:
        """SageMaker's state change of the endpoint (AWS's sample), as the endpoint is now."""
        event = sample("sagemaker_endpoint_state_change_in_service")
        event["id"] = str(uuid.uuid4())
        event["detail"].update(
            EndpointName=ENDPOINT, EndpointStatus=status, EndpointConfigName=self.serving()
        )
        return event

    def serving(self) -> str:
        return str(self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"])

    def steps(self) -> list[tuple[str, str, Any]]:
        """The deployment's history: (type, request id, data.status or decision)."""
        return [
            (
                event["type"],
                event["payload"]["requestId"],
                event["payload"]["data"].get("status") or event["payload"]["data"].get("decision"),
            )
            for event in self.stored("model#churn")
            if event["type"] in STEPS
        ]


def package_event(group: str, version: int, arn: str, status: str) -> dict[str, Any]:
    event = sample("sagemaker_model_package_state_change_approved")
    event["id"] = str(uuid.uuid4())
    event["resources"] = [arn]
    event["detail"].update(
        ModelPackageGroupName=group,
        ModelPackageVersion=version,
        ModelPackageArn=arn,
        ModelApprovalStatus=status,
    )
    return event


def metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """The deployment metrics emitted since the last call (EMF lines), summed by name."""
    totals: dict[str, int] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                name = metric["Name"]
                if name.startswith(("Deployment", "Approvals")):
                    value = blob[name]
                    totals[name] = totals.get(name, 0) + (
                        sum(value) if isinstance(value, list) else int(value)
                    )
    return totals


@pytest.fixture
def platform(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> DeploymentPlatform:
    return DeploymentPlatform(pipelines, install(monkeypatch), monkeypatch)


def test_an_approved_version_updates_the_endpoint_once_and_the_history_shows_the_chain(
    platform: DeploymentPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = platform.register()
    approved = platform.decide(arn)
    first = platform.deliver(approved)
    assert first["status"] == "started"
    assert first["endpointConfig"] == f"{GROUP}-v1"
    (update,) = platform.endpoints.updates
    assert update == {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": f"{GROUP}-v1",
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "ALL_AT_ONCE",
                    "WaitIntervalInSeconds": 900,
                },
                "TerminationWaitInSeconds": 300,
                "MaximumExecutionTimeoutInSeconds": 3600,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in ALARMS]},
        },
        "RetainDeploymentConfig": False,
    }
    model = platform.sagemaker.describe_model(ModelName=f"{GROUP}-v1")
    assert model["PrimaryContainer"] == {"ModelPackageName": arn}
    assert model["ExecutionRoleArn"] == ROLE
    config = platform.sagemaker.describe_endpoint_config(EndpointConfigName=f"{GROUP}-v1")
    assert config["KmsKeyId"] == KEY
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == CAPTURE
    assert config["ProductionVariants"][0]["ModelName"] == f"{GROUP}-v1"
    # EventBridge delivers at least once: the same event, and the same approval in another
    # envelope, change nothing
    assert platform.deliver(approved)["status"] == "duplicate"
    assert platform.deliver({**approved, "id": str(uuid.uuid4())})["status"] == "duplicate"
    assert len(platform.endpoints.updates) == 1
    # the endpoint updates, bakes, and serves the version
    assert platform.deliver(platform.endpoint_changed("UPDATING"))["status"] == "in-progress"
    platform.endpoints.complete(ENDPOINT)
    done = platform.deliver(platform.endpoint_changed())
    assert (done["status"], done["serving"]) == ("completed", f"{GROUP}-v1")
    assert platform.deliver(platform.endpoint_changed())["status"] == "ignored"  # redelivered
    assert platform.alerts() == []
    assert metrics(capsys) == {
        "DeploymentsStarted": 1,
        "DeploymentsCompleted": 1,
        "DeploymentEventsIgnored": 1,
    }
    platform.pump()
    request = "approval:churn:v1"
    assert platform.steps() == [
        ("ModelApproved", request, "deploy"),
        ("ModelDeployed", request, "started"),
        ("ModelDeployed", request, "completed"),
    ]
    started = platform.stored("model#churn")[1]["payload"]
    assert started["trigger"] == "approval"
    assert started["data"]["previousConfig"] == PULUMI_CONFIG
    assert started["data"]["packageArn"] == arn
    state = platform.state("model#churn")
    assert state["counts"] == {
        "modelApproved": 1,
        "deploymentsStarted": 1,
        "deploymentsCompleted": 1,
    }
    assert state["lastDeployment"] == {
        "requestId": request,
        "packageVersion": 1,
        "endpointConfig": f"{GROUP}-v1",
        "status": "completed",
    }


def test_the_next_approved_version_replaces_the_last_and_an_older_one_is_refused(
    platform: DeploymentPlatform,
) -> None:
    first, second = platform.register(), platform.register()
    platform.deliver(platform.decide(first))
    platform.endpoints.complete(ENDPOINT)
    assert platform.deliver(platform.decide(second))["status"] == "started"
    platform.endpoints.complete(ENDPOINT)
    assert platform.deliver(platform.endpoint_changed())["status"] == "completed"
    assert platform.serving() == f"{GROUP}-v2"
    # v1 approved again later (a person re-approves an old version): never a rollback
    refused = platform.deliver(package_event(GROUP, 1, first, "Approved"))
    assert refused["status"] == "refused"
    assert "older than v2" in refused["reason"]
    assert [u["EndpointConfigName"] for u in platform.endpoints.updates] == [
        f"{GROUP}-v1",
        f"{GROUP}-v2",
    ]
    platform.pump()
    assert platform.steps() == [
        ("ModelApproved", "approval:churn:v1", "deploy"),
        ("ModelDeployed", "approval:churn:v1", "started"),
        # v1's own state change was lost: the next approval records how v1 ended first
        ("ModelDeployed", "approval:churn:v1", "completed"),
        ("ModelApproved", "approval:churn:v2", "deploy"),
        ("ModelDeployed", "approval:churn:v2", "started"),
        ("ModelDeployed", "approval:churn:v2", "completed"),
        ("ModelApproved", "approval:churn:v1", "refused"),
    ]


@pytest.mark.parametrize("status", ["Rejected", "PendingManualApproval"])
def test_a_rejected_or_pending_package_does_nothing(
    platform: DeploymentPlatform, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    arn = platform.register()
    result = platform.deliver(platform.decide(arn, status))
    assert result["status"] == "ignored"
    assert platform.endpoints.updates == []
    models = {m["ModelName"] for m in platform.sagemaker.list_models()["Models"]}
    assert models == {PULUMI_MODEL}
    assert platform.serving() == PULUMI_CONFIG
    assert platform.pump() == []
    assert deployment_ledger.read(LEDGER, "churn") is None
    assert metrics(capsys) == {"DeploymentEventsIgnored": 1}


@pytest.mark.parametrize(
    "group",
    [
        "trainops-other--churn",  # another stack's package group
        f"trainops-{STACK}--fraud",  # a model of this stack that does not deploy on approval
    ],
)
def test_a_package_of_another_stack_or_model_is_ignored_and_counted(
    platform: DeploymentPlatform, capsys: pytest.CaptureFixture[str], group: str
) -> None:
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/1"
    result = platform.deliver(package_event(group, 1, arn, "Approved"))
    assert result["status"] == "ignored"
    assert f"{group} is not the package group of a model deployed on approval" in result["reason"]
    assert platform.endpoints.updates == []
    assert platform.pump() == []
    assert metrics(capsys) == {"DeploymentEventsIgnored": 1}


def test_a_rollback_is_recorded_and_alerts_critical_once(
    platform: DeploymentPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = platform.register()
    approved = platform.decide(arn)
    platform.deliver(approved)
    platform.endpoints.roll_back(ENDPOINT)  # a rollback alarm fired while the fleet baked
    result = platform.deliver(platform.endpoint_changed())
    assert (result["status"], result["serving"]) == ("rolled-back", PULUMI_CONFIG)
    assert platform.serving() == PULUMI_CONFIG
    (alert,) = platform.alerts()
    assert alert["Subject"] == "trainops: deployment of churn v1 rolled back"
    assert f"Deployed config: {GROUP}-v1; serving now: {PULUMI_CONFIG}" in alert["Message"]
    # the state change again, and the same approval again: no second alert, no second update
    assert platform.deliver(platform.endpoint_changed())["status"] == "ignored"
    refused = platform.deliver(approved)
    assert refused["status"] == "refused"
    assert "rolled back" in refused["reason"]
    assert platform.alerts() == []
    assert len(platform.endpoints.updates) == 1
    assert metrics(capsys) == {
        "DeploymentsStarted": 1,
        "DeploymentsRolledBack": 1,
        "DeploymentEventsIgnored": 1,
        "ApprovalsRefused": 1,
    }
    platform.pump()
    request = "approval:churn:v1"
    assert platform.steps() == [
        ("ModelApproved", request, "deploy"),
        ("ModelDeployed", request, "started"),
        ("DeploymentRolledBack", request, None),
        ("ModelApproved", request, "refused"),
    ]
    rolled_back = platform.stored("model#churn")[2]["payload"]
    assert rolled_back["data"]["servingConfig"] == PULUMI_CONFIG
    assert "rolled the deployment back" in rolled_back["reason"]
    state = platform.state("model#churn")
    assert state["counts"]["deploymentsRolledBack"] == 1
    assert state["lastDeployment"]["status"] == "rolledBack"


def test_a_retry_after_a_failed_update_reuses_what_the_first_attempt_created(
    platform: DeploymentPlatform,
) -> None:
    arn = platform.register()
    approved = platform.decide(arn)
    platform.endpoints.refuse_next_update = "ThrottlingException"
    with pytest.raises(ClientError, match="ThrottlingException"):
        platform.deliver(approved)
    assert platform.endpoints.updates == []
    assert deployment_ledger.read(LEDGER, "churn") is None  # nothing to mistake for a rollback
    assert platform.pump() == []
    # Lambda's retry: the model and config exist (SageMaker says "already existing"), the update
    # goes through
    assert platform.deliver(approved)["status"] == "started"
    assert len(platform.endpoints.updates) == 1
    platform.pump()
    assert [step[2] for step in platform.steps()] == ["deploy", "started"]


def test_an_approval_while_the_endpoint_updates_is_deployed_when_it_settles(
    platform: DeploymentPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = platform.register(), platform.register()
    platform.deliver(platform.decide(first))  # v1 is deploying
    waits = platform.deliver(platform.decide(second))
    assert waits["status"] == "deferred"
    assert f"{ENDPOINT} is Updating" in waits["detail"]
    assert deployment_ledger.read(LEDGER, "churn").deferred_version == 2
    platform.endpoints.complete(ENDPOINT)
    settled = platform.deliver(platform.endpoint_changed())
    assert settled["status"] == "completed"
    assert settled["deferredApproval"]["status"] == "started"
    assert [u["EndpointConfigName"] for u in platform.endpoints.updates] == [
        f"{GROUP}-v1",
        f"{GROUP}-v2",
    ]
    platform.pump()
    assert platform.steps() == [
        ("ModelApproved", "approval:churn:v1", "deploy"),
        ("ModelDeployed", "approval:churn:v1", "started"),
        ("ModelDeployed", "approval:churn:v1", "completed"),
        ("ModelApproved", "approval:churn:v2", "deploy"),
        ("ModelDeployed", "approval:churn:v2", "started"),
    ]
    assert metrics(capsys) == {
        "DeploymentsStarted": 2,
        "ApprovalsDeferred": 1,
        "DeploymentsCompleted": 1,
    }


def test_the_sweep_deploys_an_approval_whose_endpoint_settled_unseen(
    platform: DeploymentPlatform,
) -> None:
    first, second = platform.register(), platform.register()
    platform.deliver(platform.decide(first))
    assert platform.deliver(platform.decide(second))["status"] == "deferred"
    platform.endpoints.complete(ENDPOINT)  # its state change is lost
    swept = platform.deliver(sample("eventbridge_scheduled_event"))
    assert swept["status"] == "swept"
    assert swept["acted"]["churn"]["deferredApproval"]["packageVersion"] == 2
    assert len(platform.endpoints.updates) == 2
    assert deployment_ledger.read(LEDGER, "churn").deferred_version is None
