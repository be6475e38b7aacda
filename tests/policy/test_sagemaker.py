"""SageMaker rules: training and processing steps, monitoring jobs, models, notebooks and endpoints
are encrypted and network-isolated; instances with local NVMe storage need no volume key."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    KEY,
    ServiceTests,
    bad_cases,
    endpoint_configuration,
    gated_pipeline,
    monitoring_job,
    pipeline,
    resource,
    swap,
)

GOOD: dict[str, list[rules.Resource]] = {
    "pipeline": [pipeline()],
    "gated-pipeline": [gated_pipeline()],
    "monitoring": [monitoring_job()],
    "sagemaker": [
        resource("aws:sagemaker/model:Model", "m", enableNetworkIsolation=True),
        resource("aws:sagemaker/notebookInstance:NotebookInstance", "n", kmsKeyId=KEY),
        endpoint_configuration(),
    ],
}
SAGEMAKER = GOOD["sagemaker"]

# What the module's cases run with: the instance types a stack like prod allows.
ALLOWED = ["ml.m5.*", "ml.m5d.*", "ml.c5.*", "ml.g5.*", "ml.t3.*"]
CONFIG = {"instance-types": {"allowedInstanceTypes": ALLOWED}}

BAD = bad_cases(
    "sagemaker",
    {
        "training-step-not-isolated": (
            [pipeline(EnableNetworkIsolation=False)],
            "is not network-isolated",
        ),
        "training-step-volumes-without-a-key": (
            [pipeline(ResourceConfig={"InstanceType": {"Get": "Parameters.InstanceType"}})],
            "does not encrypt its volumes",
        ),
        "training-step-output-without-a-key": (
            [pipeline(OutputDataConfig={"S3OutputPath": "s3://b"})],
            "does not encrypt its output",
        ),
        "processing-step-not-isolated": (
            [gated_pipeline(NetworkConfig={"EnableNetworkIsolation": False})],
            "processing step Evaluate is not network-isolated",
        ),
        "processing-step-volumes-without-a-key": (
            [gated_pipeline(cluster={"VolumeKmsKeyId": None})],
            "processing step Evaluate does not encrypt its volumes",
        ),
        "processing-step-output-without-a-key": (
            [gated_pipeline(ProcessingOutputConfig={"Outputs": []})],
            "processing step Evaluate does not encrypt its output",
        ),
        "monitoring-job-not-isolated": (
            [monitoring_job(networkConfig={"enableNetworkIsolation": False})],
            "monitoring job is not network-isolated",
        ),
        "monitoring-job-volumes-without-a-key": (
            [monitoring_job(cluster={"volumeKmsKeyId": None})],
            "monitoring job volumes are not encrypted",
        ),
        "monitoring-job-output-without-a-key": (
            [monitoring_job(modelBiasJobOutputConfig={"monitoringOutputs": []})],
            "monitoring job output is not encrypted",
        ),
        "model-not-isolated": (
            swap(
                SAGEMAKER,
                0,
                resource("aws:sagemaker/model:Model", "m", enableNetworkIsolation=False),
            ),
            "model container is not network-isolated",
        ),
        "notebook-without-a-key": (
            swap(SAGEMAKER, 1, resource("aws:sagemaker/notebookInstance:NotebookInstance", "n")),
            "notebook storage is not encrypted",
        ),
        "endpoint-without-a-key": (
            swap(SAGEMAKER, 2, endpoint_configuration(kmsKeyArn=None)),
            "endpoint storage is not encrypted",
        ),
        # one variant without local storage is enough to need the key
        "endpoint-one-variant-without-local-storage-and-no-key": (
            [endpoint_configuration("ml.g5.xlarge", "ml.m5.large", kmsKeyArn=None)],
            "endpoint storage is not encrypted",
        ),
    },
)


BAD += bad_cases(
    "instance-types",
    {
        "training-step": (
            [pipeline("ml.p4d.24xlarge")],
            "training step Train uses ml.p4d.24xlarge, which this stack does not allow",
        ),
        "processing-step": (
            [gated_pipeline("ml.r5.xlarge")],
            "processing step Evaluate uses ml.r5.xlarge, which this stack does not allow",
        ),
        "endpoint-variant": (
            [endpoint_configuration("ml.m5.large", "ml.p3.2xlarge")],
            "variant AllTraffic uses ml.p3.2xlarge",
        ),
        "monitoring-job": (
            [monitoring_job(cluster={"instanceType": "ml.r5.large"})],
            "monitoring job uses ml.r5.large",
        ),
        "notebook": (
            [
                resource(
                    "aws:sagemaker/notebookInstance:NotebookInstance",
                    "n",
                    kmsKeyId=KEY,
                    instanceType="ml.p3.2xlarge",
                )
            ],
            "notebook uses ml.p3.2xlarge",
        ),
    },
)


class TestSageMakerRules(ServiceTests):
    service = rules.sagemaker
    good = GOOD
    bad = BAD
    config = CONFIG


def test_without_a_policy_config_every_instance_type_is_allowed() -> None:
    assert rules.evaluate(rules.Stack([pipeline("ml.p4d.24xlarge")]), suppressions=[]) == []


def test_the_packs_instance_pattern_is_the_configs() -> None:
    from components.platform.spend_config import INSTANCE_PATTERN

    assert INSTANCE_PATTERN.pattern == rules.sagemaker.INSTANCE_PATTERN


# ---- local instance storage --------------------------------------------------------------------


def test_local_storage_instances_need_no_volume_key() -> None:
    """SageMaker rejects a volume KMS key for instances with (hardware-encrypted) NVMe storage."""
    local = [
        pipeline(
            "ml.g5.xlarge",
            ResourceConfig={"InstanceType": {"Get": "Parameters.InstanceType"}},
        ),
        monitoring_job(cluster={"instanceType": "ml.m5d.large", "volumeKmsKeyId": None}),
        gated_pipeline("ml.m5d.xlarge", cluster={"VolumeKmsKeyId": None}),
        endpoint_configuration("ml.g5.xlarge", "ml.p4d.24xlarge", kmsKeyArn=None),
    ]
    assert rules.evaluate(rules.Stack(local), suppressions=[]) == []


@pytest.mark.parametrize(
    "instance_type",
    [
        "ml.m5.xlarge",
        "ml.m5d.xlarge",
        "ml.c5.4xlarge",
        "ml.c6id.2xlarge",
        "ml.g4dn.xlarge",
        "ml.g5.2xlarge",
        "ml.g6e.xlarge",
        "ml.p3.2xlarge",
        "ml.p4d.24xlarge",
        "ml.p4de.24xlarge",
        "ml.p5.48xlarge",
        "ml.trn1.32xlarge",
        "ml.inf2.xlarge",
        "ml.t3.medium",
        "local",
    ],
)
def test_the_local_storage_list_matches_the_components(instance_type: str) -> None:
    from components.platform import instance_types

    assert rules.has_local_storage(instance_type) == instance_types.has_local_storage(instance_type)
