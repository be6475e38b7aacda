"""SageMaker for approval-driven deployment: the approved package, the endpoint, and deploying one
version to it.

`deploy` makes three calls, each safe to repeat (the names are the version's, so a retry asks for
the same thing again):

* CreateModel `<package group>-v<N>` from the package (the container is the model package itself,
  `ModelPackageName`, so SageMaker serves the image and artifact that were approved), network
  isolated, running as the model's own execution role;
* CreateEndpointConfig of the same name: the endpoint's variant, instance type and count, the stack
  key on its volume (except on hardware-encrypted local storage) and the same data capture as the
  config Pulumi created;
* UpdateEndpoint to that config with a blue/green DeploymentConfig whose AutoRollbackConfiguration
  names the endpoint's deployment alarms, and RetainDeploymentConfig false (each deployment says
  its own policy).

SageMaker refuses to create a model or endpoint config that exists ("Cannot create already
existing ..."); that answer means an earlier attempt created it, and counts as done. Whether the
endpoint already runs or moves to the config is decided before `deploy` is called
(`trainops_runtime.deployment.decide`), from `describe_endpoint`.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.catalog import DeploymentSpec
from trainops_runtime.deployment import EndpointView, PackageView

ALREADY_EXISTS = "already exist"  # in SageMaker's ValidationException for an existing name
PACKAGE_TAG = "trainops:model-package"


def describe_package(package_arn: str) -> PackageView:
    """The package's approval and status now (the event may be older than a change since)."""
    response = clients.client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    return PackageView(
        arn=str(response["ModelPackageArn"]),
        approval_status=response.get("ModelApprovalStatus"),
        status=str(response["ModelPackageStatus"]),
    )


def describe_endpoint(endpoint_name: str) -> EndpointView:
    """The endpoint's status, the config it serves and the one it is moving to, if any."""
    response = clients.client("sagemaker").describe_endpoint(EndpointName=endpoint_name)
    pending = response.get("PendingDeploymentSummary") or {}
    return EndpointView(
        name=str(response["EndpointName"]),
        status=str(response["EndpointStatus"]),
        config_name=response.get("EndpointConfigName"),
        pending_config_name=pending.get("EndpointConfigName"),
        failure_reason=response.get("FailureReason"),
    )


def _tags(pairs: Any) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in pairs]


def _created(call: Any, **request: Any) -> bool:
    """Makes a create call; False when SageMaker says the name exists already (a retry)."""
    try:
        call(**request)
    except ClientError as error:
        details = error.response.get("Error", {})
        if (
            details.get("Code") == "ValidationException"
            and ALREADY_EXISTS in str(details.get("Message", "")).lower()
        ):
            return False
        raise
    return True


def create_model(spec: DeploymentSpec, package_arn: str, name: str) -> bool:
    """The version's model, serving the approved package; False when it existed already."""
    return _created(
        clients.client("sagemaker").create_model,
        ModelName=name,
        PrimaryContainer={"ModelPackageName": package_arn},
        ExecutionRoleArn=spec.execution_role_arn,
        EnableNetworkIsolation=True,
        Tags=_tags([*spec.tags, (PACKAGE_TAG, package_arn)]),
    )


def endpoint_config_request(spec: DeploymentSpec, name: str) -> dict[str, Any]:
    """CreateEndpointConfig's request for the version's model ``name`` (config of that name)."""
    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": spec.variant_name,
                "ModelName": name,
                "InstanceType": spec.instance_type,
                "InitialInstanceCount": spec.instance_count,
            }
        ],
        "Tags": _tags(spec.tags),
    }
    if spec.volume_kms_key_arn:
        request["KmsKeyId"] = spec.volume_kms_key_arn
    if spec.data_capture is not None:
        request["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": spec.data_capture.sampling_percent,
            "DestinationS3Uri": spec.data_capture.destination,
            "KmsKeyId": spec.data_capture.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    return request


def create_endpoint_config(spec: DeploymentSpec, name: str) -> bool:
    """The version's endpoint config; False when it existed already."""
    return _created(
        clients.client("sagemaker").create_endpoint_config, **endpoint_config_request(spec, name)
    )


def deployment_config(spec: DeploymentSpec) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig: blue/green as `endpoint.blueGreen` says, rolled back
    automatically when one of the endpoint's deployment alarms fires."""
    policy = spec.blue_green
    routing: dict[str, Any] = {
        "Type": policy.traffic_routing,
        "WaitIntervalInSeconds": policy.wait_interval_seconds,
    }
    if policy.traffic_routing == "CANARY":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": policy.canary_size_percent}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": policy.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": policy.maximum_execution_timeout_seconds,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": alarm} for alarm in spec.rollback_alarms]
        },
    }


def update_endpoint(spec: DeploymentSpec, name: str) -> None:
    """Moves the endpoint to the config ``name``, blue/green with automatic rollback."""
    clients.client("sagemaker").update_endpoint(
        EndpointName=spec.endpoint_name,
        EndpointConfigName=name,
        DeploymentConfig=deployment_config(spec),
        RetainDeploymentConfig=False,
    )


def deploy(spec: DeploymentSpec, package_arn: str, name: str) -> None:
    """Creates the version's model and endpoint config (if missing) and updates the endpoint."""
    create_model(spec, package_arn, name)
    create_endpoint_config(spec, name)
    update_endpoint(spec, name)
