"""ApprovalDeployment under mocks: the ledger, the deploy function, what it ships and may do, its
rules, the rollback alarms, who owns the endpoint (Pulumi ignores its config for an opted-in model
and never deletes what the endpoint may serve), and the config that refuses what cannot work.
The rules' patterns against AWS's sample events are in tests/test_event_patterns.py."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cli import offline
from components.approval_deployment.component import (
    SWEEP_SCHEDULE,
    approval_pattern,
    deploy_alarm_name,
    endpoint_pattern,
)
from components.config import ConfigError
from components.platform import schedules
from tests.components import helpers
from trainops_runtime import catalog as catalog_module

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
FUNCTION = "aws:lambda/function:Function"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ACCOUNT = offline.ACCOUNT_ID
SM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
CHURN_ENDPOINT = {
    "deploy": True,
    "modelDataUrl": "s3://example-ml-data/churn/model/model.tar.gz",
    "deployOnApproval": True,
}
# dev with churn deployed on approval (dev has no registry, so registerModel is switched on)
DEV_DEPLOYMENT = {
    "trainops:approvalDeployment": {"enabled": True},
    "trainops:models.churn.registerModel": {"enabled": True},
    "trainops:models.churn.endpoint": CHURN_ENDPOINT,
}


def deploy_function(recording: offline.Recording) -> offline.RecordedResource:
    return recording.one(FUNCTION, "approval-deployment-deploy-function")


def shipped_catalog(recording: offline.Recording) -> dict[str, Any]:
    return json.loads(
        deploy_function(recording).inputs["code"].assets[catalog_module.ARCHIVE_PATH].text
    )


def test_the_ledger_is_an_encrypted_recoverable_protected_table(prod: offline.Recording) -> None:
    table = prod.one("aws:dynamodb/table:Table", "approval-deployment-ledger").inputs
    assert table["name"] == "trainops-prod-deployment-ledger"
    assert table["hashKey"] == "model"
    assert table["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": helpers.stack_key_arn(prod),
    }
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["deletionProtectionEnabled"] is True


def test_the_function_gets_its_settings_and_ships_where_each_version_goes(
    prod: offline.Recording,
) -> None:
    function = deploy_function(prod)
    assert function.inputs["handler"] == "trainops_runtime.handlers.deploy_approved.handler"
    assert function.inputs["reservedConcurrentExecutions"] == 1
    variables = function.inputs["environment"]["variables"]
    critical = prod.one("aws:sns/topic:Topic", "monitoring-critical").outputs["arn"]
    assert variables["TRAINOPS_CRITICAL_TOPIC_ARN"] == critical
    assert variables["TRAINOPS_DEPLOYMENT_LEDGER_TABLE"] == "trainops-prod-deployment-ledger"
    assert variables["TRAINOPS_EVENT_BUS"]
    catalog = shipped_catalog(prod)
    assert {model for model, entry in catalog.items() if "deployment" in entry} == {"churn"}
    role = prod.one("aws:iam/role:Role", "pipeline-churn-execution").outputs["arn"]
    bucket = prod.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["bucket"]
    key = helpers.stack_key_arn(prod)
    assert catalog["churn"]["deployment"] == {
        "packageGroup": "trainops-prod--churn",
        "endpointName": "trainops-prod--churn",
        "variantName": "AllTraffic",
        "instanceType": "ml.m5.large",
        "instanceCount": 1,
        "executionRoleArn": role,
        "volumeKmsKeyArn": key,
        "dataCapture": {
            "destination": f"s3://{bucket}/data-capture/churn",
            "samplingPercent": 100,
            "kmsKeyArn": key,
        },
        "blueGreen": {
            "trafficRouting": "ALL_AT_ONCE",
            "canarySizePercent": 10,
            "waitIntervalSeconds": 900,
            "terminationWaitSeconds": 300,
            "maximumExecutionTimeoutSeconds": 3600,
        },
        "rollbackAlarms": [
            "trainops-prod--churn--deploy-5xx",
            "trainops-prod--churn--deploy-latency",
        ],
        "tags": {"trainops:model": "churn", "trainops:stack": "prod"},
    }
    # what the function reads back from the file is that entry
    spec = catalog_module.ModelCatalog.from_json(json.dumps(catalog)).get("churn").deployment
    assert spec is not None
    assert spec.execution_role_arn == role
    # the package group is the one the pipeline registers into
    group = prod.one(
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "pipeline-churn-package-group"
    )
    assert group.inputs["modelPackageGroupName"] == spec.package_group


def test_the_function_may_touch_only_this_stacks_endpoints_and_package_groups(
    prod: offline.Recording,
) -> None:
    statements = helpers.statements_by_sid(
        helpers.role_policy(prod, "approval-deployment-deploy-policy")
    )
    key = helpers.stack_key_arn(prod)
    assert statements["ReadOwnPackages"]["Action"] == ["sagemaker:DescribeModelPackage"]
    assert statements["ReadOwnPackages"]["Resource"] == [f"{SM}:model-package/trainops-prod--*/*"]
    assert statements["CreateIsolatedModels"]["Resource"] == [f"{SM}:model/trainops-prod--*"]
    assert statements["CreateIsolatedModels"]["Condition"] == {
        "Bool": {"sagemaker:NetworkIsolation": "true"}
    }
    assert statements["CreateEncryptedEndpointConfigs"]["Resource"] == [
        f"{SM}:endpoint-config/trainops-prod--*"
    ]
    assert statements["CreateEncryptedEndpointConfigs"]["Condition"] == {
        "ArnEquals": {"sagemaker:VolumeKmsKey": key}
    }
    assert statements["TagOnCreate"]["Condition"] == {
        "StringEquals": {"sagemaker:TaggingAction": ["CreateEndpointConfig", "CreateModel"]}
    }
    assert statements["ReadOwnEndpoints"]["Resource"] == [f"{SM}:endpoint/trainops-prod--*"]
    assert statements["UpdateOwnEndpoints"] == {
        "Sid": "UpdateOwnEndpoints",
        "Effect": "Allow",
        "Action": ["sagemaker:UpdateEndpoint"],
        "Resource": [f"{SM}:endpoint/trainops-prod--*", f"{SM}:endpoint-config/trainops-prod--*"],
    }
    assert statements["PassModelExecutionRoles"] == {
        "Sid": "PassModelExecutionRoles",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": [f"arn:aws:iam::{ACCOUNT}:role/trainops/prod/*"],
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }
    assert statements["GrantStackKeyToEndpoints"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}
    }
    assert statements["GrantStackKeyToEndpoints"]["Resource"] == [key]
    assert statements["ReadRollbackAlarms"]["Resource"] == [
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:trainops-prod--*--deploy-*"
    ]
    ledger = prod.one("aws:dynamodb/table:Table", "approval-deployment-ledger").outputs["arn"]
    assert statements["KeepTheLedger"]["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert statements["KeepTheLedger"]["Resource"] == [ledger]
    critical = prod.one("aws:sns/topic:Topic", "monitoring-critical").outputs["arn"]
    assert statements["AlertRollbacks"]["Resource"] == [critical]
    assert "PublishDomainEvents" in statements
    # no Resource "*" beyond X-Ray's, which allows nothing else
    stars = [s["Sid"] for s in statements.values() if s["Resource"] == "*"]
    assert stars == ["Tracing"]
    # nothing Pulumi made for the endpoint is within reach: its model and config are auto-named
    config = prod.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration").outputs["name"]
    assert not config.startswith("trainops-prod--")


def test_an_instance_with_local_storage_may_get_a_config_without_a_volume_key(
    run_stack: helpers.RunStack,
) -> None:
    overrides = {**DEV_DEPLOYMENT, "trainops:models.churn.endpoint.instanceType": "ml.g5.xlarge"}
    recording = run_stack("dev", copy.deepcopy(overrides))
    statements = helpers.statements_by_sid(
        helpers.role_policy(recording, "approval-deployment-deploy-policy")
    )
    assert statements["CreateEncryptedEndpointConfigs"]["Condition"] == {
        "ArnEqualsIfExists": {"sagemaker:VolumeKmsKey": helpers.stack_key_arn(recording)}
    }
    assert shipped_catalog(recording)["churn"]["deployment"]["volumeKmsKeyArn"] is None


def test_the_models_execution_role_may_read_its_rollback_alarms(prod: offline.Recording) -> None:
    policy = prod.one(helpers.ROLE_POLICY, "approval-deployment-churn-permissions")
    role = prod.one("aws:iam/role:Role", "pipeline-churn-execution")
    assert policy.inputs["role"] == role.outputs["name"]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement == {
        "Sid": "ReadRollbackAlarms",
        "Effect": "Allow",
        "Action": ["cloudwatch:DescribeAlarms"],
        "Resource": [
            f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:trainops-prod--churn--deploy-5xx",
            f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:trainops-prod--churn--deploy-latency",
        ],
    }


def test_a_separate_inference_image_may_be_pulled_by_the_models_role(
    run_stack: helpers.RunStack,
) -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-serve:1.0.0"
    recording = run_stack(
        "dev",
        {
            **DEV_DEPLOYMENT,
            "trainops:models.churn.registerModel": {"enabled": True, "inferenceImage": image},
        },
    )
    statements = helpers.statements_by_sid(
        helpers.role_policy(recording, "approval-deployment-churn-permissions")
    )
    assert "EcrLogin" not in statements  # the training image's grant has it
    pulled = [s for sid, s in statements.items() if sid.startswith("PullInferenceImage")]
    assert pulled
    assert any("repository/churn-serve" in str(s["Resource"]) for s in pulled)


def test_the_rollback_alarms_are_named_for_the_function_and_notify_the_warning_topic(
    prod: offline.Recording,
) -> None:
    alarms = helpers.alarms_by_name(prod)
    warning = prod.one("aws:sns/topic:Topic", "monitoring-warning").outputs["arn"]
    errors, latency = (
        alarms["approval-deployment-churn-5xx"],
        alarms["approval-deployment-churn-latency"],
    )
    assert errors["name"] == deploy_alarm_name("churn", "5xx", "prod")
    assert errors["name"] == "trainops-prod--churn--deploy-5xx"
    assert latency["name"] == "trainops-prod--churn--deploy-latency"
    dimensions = {"EndpointName": "trainops-prod--churn", "VariantName": "AllTraffic"}
    assert (errors["namespace"], errors["metricName"]) == ("AWS/SageMaker", "Invocation5XXErrors")
    assert (errors["dimensions"], errors["period"], errors["statistic"]) == (dimensions, 60, "Sum")
    assert (errors["threshold"], errors["evaluationPeriods"]) == (1, 1)
    assert (latency["metricName"], latency["extendedStatistic"]) == ("ModelLatency", "p99")
    assert latency["threshold"] == 1000 * 1000  # ModelLatency is in microseconds
    assert (latency["period"], latency["evaluationPeriods"]) == (60, 3)
    for alarm in (errors, latency):
        assert alarm["alarmActions"] == [warning]
        assert alarm["okActions"] == [warning]
    # no escalation twins: the endpoint's own alarms (monitoring) escalate the same signals
    assert "approval-deployment-churn-5xx-escalated" not in alarms
    assert "monitoring-churn-endpoint-5xx-escalated" in alarms
    # the catalog names exactly these alarms
    assert shipped_catalog(prod)["churn"]["deployment"]["rollbackAlarms"] == [
        errors["name"],
        latency["name"],
    ]


def test_the_rules_take_the_stacks_approvals_and_endpoint_changes(prod: offline.Recording) -> None:
    function = deploy_function(prod)
    for name, pattern in (
        ("approval-deployment-approvals", approval_pattern("prod")),
        ("approval-deployment-endpoints", endpoint_pattern("prod")),
    ):
        assert json.loads(prod.one(RULE, name).inputs["eventPattern"]) == pattern
        target = prod.one(TARGET, f"{name}-target").inputs
        assert target["arn"] == function.outputs["arn"]
        assert target["deadLetterConfig"]["arn"]
    sweep = prod.one(RULE, "approval-deployment-sweep").inputs
    assert sweep["scheduleExpression"] == SWEEP_SCHEDULE
    assert schedules.rule_schedule_problem(SWEEP_SCHEDULE) is None
    target = prod.one(TARGET, "approval-deployment-sweep-target").inputs
    assert target["arn"] == function.outputs["arn"]
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 600, "maximumRetryAttempts": 2}
    permission = prod.one("aws:lambda/permission:Permission", "approval-deployment-sweep-invoke")
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert approval_pattern("prod")["detail"] == {
        "ModelPackageGroupName": [{"prefix": "trainops-prod--"}],
        "ModelApprovalStatus": ["Approved"],
    }


def test_pulumi_leaves_the_config_of_an_opted_in_endpoint_to_the_deployments(
    prod: offline.Recording, run_stack: helpers.RunStack
) -> None:
    endpoint = prod.one(ENDPOINT, "monitoring-churn-endpoint")
    assert endpoint.ignore_changes == ("endpointConfigName", "deploymentConfig")
    model = prod.one("aws:sagemaker/model:Model", "monitoring-churn-model")
    config = prod.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert model.retain_on_delete
    assert config.retain_on_delete
    # a deployed endpoint whose model does not deploy on approval stays Pulumi's
    recording = run_stack(
        "dev", {"trainops:models.churn.endpoint": {**CHURN_ENDPOINT, "deployOnApproval": False}}
    )
    endpoint = recording.one(ENDPOINT, "monitoring-churn-endpoint")
    assert endpoint.ignore_changes == ()
    model = recording.one("aws:sagemaker/model:Model", "monitoring-churn-model")
    assert not model.retain_on_delete
    assert not [r for r in recording.resources if r.name.startswith("approval-deployment")]


def test_a_stack_of_500_models_gets_three_rules_and_a_constant_policy(
    run_stack: helpers.RunStack,
) -> None:
    def models(count: int) -> dict[str, Any]:
        return {
            f"m{i:03d}": {
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1",
                "trainingData": f"s3://example-ml-data/m{i:03d}/",
                "registerModel": {"enabled": True},
                "endpoint": {
                    "deploy": True,
                    "modelDataUrl": f"s3://example-ml-data/m{i:03d}/model.tar.gz",
                    "deployOnApproval": True,
                },
            }
            for i in range(count)
        }

    sizes = []
    for count in (3, 500):
        recording = run_stack(
            "dev",
            {"trainops:approvalDeployment": {"enabled": True}, "trainops:models": models(count)},
        )
        rules = [
            r.name for r in recording.of_type(RULE) if r.name.startswith("approval-deployment")
        ]
        assert sorted(rules) == [
            "approval-deployment-approvals",
            "approval-deployment-endpoints",
            "approval-deployment-sweep",
        ]
        assert len(shipped_catalog(recording)) == count
        sizes.append(
            len(
                recording.one(helpers.ROLE_POLICY, "approval-deployment-deploy-policy").inputs[
                    "policy"
                ]
            )
        )
    assert sizes[0] == sizes[1]


def test_without_an_opted_in_model_the_feature_warns_and_deploys_nothing(
    run_stack: helpers.RunStack,
) -> None:
    recording = run_stack("dev", {"trainops:approvalDeployment": {"enabled": True}})
    assert "deployment" not in json.dumps(shipped_catalog(recording))
    assert not [
        a for a in helpers.alarms_by_name(recording) if a.startswith("approval-deployment-m")
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"trainops:approvalDeployment": {"enabled": False}},
            "models.churn.endpoint.deployOnApproval: needs approvalDeployment.enabled: true",
        ),
        (
            {**helpers.WITHOUT_MONITORING},
            "approvalDeployment: needs monitoring.enabled: true",
        ),
        (
            {"trainops:models.churn.registerModel": {"enabled": False}},
            "models.churn: endpoint.deployOnApproval needs registerModel.enabled: true",
        ),
        (
            {
                "trainops:models.churn.endpoint": {
                    "name": "existing-endpoint",
                    "deployOnApproval": True,
                }
            },
            "models.churn.endpoint: deployOnApproval needs deploy: true",
        ),
        (
            {"trainops:models.churn.endpoint.deployOnApproval": "sometimes"},
            "deployOnApproval: Input should be a valid boolean",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"trafficRouting": "LINEAR"}},
            "blueGreen.trafficRouting: Input should be 'ALL_AT_ONCE' or 'CANARY'",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"trafficRouting": "CANARY"}},
            "endpoint: blueGreen.trafficRouting: CANARY needs initialInstanceCount of at least 2",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"canarySizePercent": 60}},
            "blueGreen.canarySizePercent: Input should be less than or equal to 50",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"canarySizePercent": 0}},
            "blueGreen.canarySizePercent: Input should be greater than or equal to 1",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"waitIntervalSeconds": 3601}},
            "blueGreen.waitIntervalSeconds: Input should be less than or equal to 3600",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"waitIntervalSeconds": 60}},
            "blueGreen: waitIntervalSeconds (60) is shorter than the 180 seconds",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"terminationWaitSeconds": -1}},
            "blueGreen.terminationWaitSeconds: Input should be greater than or equal to 0",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"maximumExecutionTimeoutSeconds": 599}},
            "maximumExecutionTimeoutSeconds: Input should be greater than or equal to 600",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"maximumExecutionTimeoutSeconds": 28801}},
            "maximumExecutionTimeoutSeconds: Input should be less than or equal to 28800",
        ),
        (
            {
                "trainops:models.churn.endpoint.blueGreen": {
                    "waitIntervalSeconds": 600,
                    "terminationWaitSeconds": 600,
                    "maximumExecutionTimeoutSeconds": 1200,
                }
            },
            "blueGreen: maximumExecutionTimeoutSeconds (1200) must exceed waitIntervalSeconds plus "
            "terminationWaitSeconds (1200)",
        ),
        (
            {"trainops:models.churn.endpoint.blueGreen": {"bakeMinutes": 5}},
            "blueGreen.bakeMinutes: unknown key",
        ),
        (
            {"trainops:approvalDeployment": {"enabled": True, "models": ["churn"]}},
            "approvalDeployment.models: unknown key; valid keys are enabled",
        ),
    ],
    ids=[
        "opted-in-without-the-feature",
        "without-monitoring",
        "without-registry",
        "existing-endpoint",
        "not-a-boolean",
        "linear",
        "canary-of-one",
        "canary-too-big",
        "canary-zero",
        "wait-too-long",
        "wait-shorter-than-the-alarms",
        "negative-termination-wait",
        "timeout-too-short",
        "timeout-too-long",
        "timeout-under-the-waits",
        "unknown-blue-green-key",
        "unknown-feature-key",
    ],
)
def test_config_refuses_what_cannot_work(
    parse_with: helpers.ParseWith, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        # deep: path overrides change the objects they are set in
        parse_with("dev", copy.deepcopy({**DEV_DEPLOYMENT, **overrides}))
    assert message in str(raised.value)


def test_a_canary_of_a_larger_fleet_is_accepted(parse_with: helpers.ParseWith) -> None:
    parsed = parse_with(
        "dev",
        {
            **DEV_DEPLOYMENT,
            "trainops:models.churn.endpoint": {
                **CHURN_ENDPOINT,
                "initialInstanceCount": 4,
                "blueGreen": {"trafficRouting": "CANARY", "canarySizePercent": 25},
            },
        },
    )
    endpoint = parsed.models["churn"].endpoint
    assert endpoint is not None
    assert endpoint.blue_green.canary_size_percent == 25


def test_a_model_name_too_long_for_its_versions_names_fails_at_preview() -> None:
    """The package group fits SageMaker's 63 characters, `<group>-v999999` does not."""
    name, stack = "c" * 32, "a-long-stack-name"
    model = {
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1",
        "trainingData": "s3://example-ml-data/c/",
        "registerModel": {"enabled": True},
        "endpoint": {**CHURN_ENDPOINT, "modelDataUrl": "s3://example-ml-data/c/m.tgz"},
    }
    config = {
        **offline.stack_config("dev"),
        "trainops:approvalDeployment": json.dumps({"enabled": True}),
        "trainops:models": json.dumps({name: model}),
    }
    group = f"trainops-{stack}--{name}"
    assert len(group) <= 63
    with pytest.raises(Exception, match=f"name '{group}-v999999' is 68 characters"):
        offline.run_program(stack, config=config)
