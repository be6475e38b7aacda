"""The deployment's adapters: SageMaker's exact requests and answers (botocore Stubber, which also
validates each request against botocore's SageMaker model), and the deployment ledger on moto."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.handlers.test_deployment import ARN, GROUP, KEY, SPEC
from trainops_runtime.adapters import clients, deployment_ledger, endpoints
from trainops_runtime.catalog import BlueGreen
from trainops_runtime.deployment import ROLLED_BACK, STARTED, DeploymentRecord, EndpointView

NAME = f"{GROUP}-v2"
ROLLBACK = {
    "Alarms": [
        {"AlarmName": "trainops-dev--churn--deploy-5xx"},
        {"AlarmName": "trainops-dev--churn--deploy-latency"},
    ]
}
TAGS = [{"Key": "trainops:model", "Value": "churn"}, {"Key": "trainops:stack", "Value": "dev"}]
EXISTS = 'Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/x".'


@pytest.fixture
def sagemaker(moto_aws: None) -> Stubber:
    with Stubber(clients.client("sagemaker")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_a_version_is_deployed_as_the_stack_configures_it(sagemaker: Stubber) -> None:
    sagemaker.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{NAME}"},
        {
            "ModelName": NAME,
            "PrimaryContainer": {"ModelPackageName": ARN.format(2)},
            "ExecutionRoleArn": SPEC.execution_role_arn,
            "EnableNetworkIsolation": True,
            "Tags": [*TAGS, {"Key": "trainops:model-package", "Value": ARN.format(2)}],
        },
    )
    sagemaker.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{NAME}"},
        {
            "EndpointConfigName": NAME,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": NAME,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
            "Tags": TAGS,
            "KmsKeyId": KEY,
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": "s3://artifacts/data-capture/churn",
                "KmsKeyId": KEY,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            },
        },
    )
    sagemaker.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{GROUP}"},
        {
            "EndpointName": GROUP,
            "EndpointConfigName": NAME,
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 600,
                    },
                    "TerminationWaitInSeconds": 300,
                    "MaximumExecutionTimeoutInSeconds": 3600,
                },
                "AutoRollbackConfiguration": ROLLBACK,
            },
            "RetainDeploymentConfig": False,
        },
    )
    endpoints.deploy(SPEC, ARN.format(2), NAME)


def test_a_canary_names_its_size_and_local_storage_takes_no_volume_key() -> None:
    canary = replace(
        SPEC,
        blue_green=BlueGreen("CANARY", 25, 300, 0, 900),
        volume_kms_key_arn=None,
        data_capture=None,
    )
    assert endpoints.deployment_config(canary)["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        },
        "TerminationWaitInSeconds": 0,
        "MaximumExecutionTimeoutInSeconds": 900,
    }
    request = endpoints.endpoint_config_request(canary, NAME)
    assert "KmsKeyId" not in request
    assert "DataCaptureConfig" not in request


def test_what_an_earlier_attempt_created_counts_as_done(sagemaker: Stubber) -> None:
    sagemaker.add_client_error("create_model", "ValidationException", EXISTS)
    sagemaker.add_client_error(
        "create_endpoint_config",
        "ValidationException",
        'Cannot create already existing endpoint configuration "arn:...".',
    )
    sagemaker.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{GROUP}"},
    )
    endpoints.deploy(SPEC, ARN.format(2), NAME)


def test_any_other_refusal_is_raised(sagemaker: Stubber) -> None:
    sagemaker.add_client_error(
        "create_model", "ValidationException", "Could not assume role arn:aws:iam::1:role/x"
    )
    with pytest.raises(ClientError, match="Could not assume role"):
        endpoints.create_model(SPEC, ARN.format(2), NAME)


def test_the_endpoint_and_the_package_are_read_as_the_decision_needs(sagemaker: Stubber) -> None:
    at = datetime(2026, 11, 22, tzinfo=UTC)
    sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": GROUP,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{GROUP}",
            "EndpointConfigName": "monitoring-churn-config-1a2b3c4",
            "EndpointStatus": "Updating",
            "CreationTime": at,
            "LastModifiedTime": at,
            "PendingDeploymentSummary": {"EndpointConfigName": NAME, "StartTime": at},
        },
        {"EndpointName": GROUP},
    )
    sagemaker.add_response(
        "describe_model_package",
        {
            "ModelPackageName": GROUP,
            "ModelPackageArn": ARN.format(2),
            "CreationTime": at,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "ModelApprovalStatus": "Approved",
        },
        {"ModelPackageName": ARN.format(2)},
    )
    assert endpoints.describe_endpoint(GROUP) == EndpointView(
        GROUP, "Updating", "monitoring-churn-config-1a2b3c4", NAME, None
    )
    package = endpoints.describe_package(ARN.format(2))
    assert (package.approval_status, package.status) == ("Approved", "Completed")


# ---- the ledger (moto) ---------------------------------------------------------------------------

TABLE = "trainops-test-deployment-ledger"


@pytest.fixture
def table(moto_aws: None) -> str:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


def test_the_ledger_writes_a_model_only_on_the_revision_read(table: str) -> None:
    assert deployment_ledger.read(table, "churn") is None
    started = DeploymentRecord(
        model="churn",
        revision=1,
        package_arn=ARN.format(2),
        package_version=2,
        endpoint_config=NAME,
        previous_config="monitoring-churn-config-1a2b3c4",
        status=STARTED,
        started_at="2026-11-22T12:00:00+00:00",
    )
    assert deployment_ledger.save(table, started, expected_revision=0)
    assert deployment_ledger.read(table, "churn") == started
    assert not deployment_ledger.save(table, started, expected_revision=0)  # lost the race
    back = replace(started, revision=2, status=ROLLED_BACK, alert_sent=False)
    assert deployment_ledger.save(table, back, expected_revision=1)
    assert deployment_ledger.read(table, "churn") == back
    assert not deployment_ledger.save(table, replace(back, revision=3), expected_revision=1)
    sent = replace(back, revision=3, alert_sent=True)
    assert deployment_ledger.save(table, sent, expected_revision=2)
    assert deployment_ledger.read(table, "churn") == sent
    assert deployment_ledger.read(table, "fraud") is None


def test_the_ledger_keeps_a_deferred_approval_and_forgets_it_when_decided(table: str) -> None:
    waits = DeploymentRecord(
        model="fraud",
        revision=1,
        deferred_arn=ARN.format(3),
        deferred_version=3,
        deferred_at="2026-11-22T12:00:00+00:00",
    )
    assert deployment_ledger.save(table, waits, expected_revision=0)
    assert deployment_ledger.read(table, "fraud") == waits
    decided = replace(waits, revision=2, deferred_arn=None, deferred_version=None, deferred_at=None)
    assert deployment_ledger.save(table, decided, expected_revision=1)
    item = clients.client("dynamodb").get_item(TableName=table, Key={"model": {"S": "fraud"}})
    assert set(item["Item"]) == {"model", "revision"}  # a decided deferral leaves no attribute
