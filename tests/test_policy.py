"""The guardrail rules: both stacks pass, and every check fails on a deliberately bad resource.

Each case runs twice: through `rules.evaluate` on plain dicts (the offline path), and through
pulumi-policy's own analyzer (`AnalyzeStack`), which serializes the properties to protobuf and
hands the policies the engine's read-only proxies, unknown values included, exactly as
`pulumi preview --policy-pack policy` does.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pack
import pytest
import rules
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from cli import offline

Q = "aws:sqs/queue:Queue"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
ACCOUNT = "123456789012"


def stack_of(recording: offline.Recording) -> rules.Stack:
    """The mock graph as the policy engine sees it: every resource with its outputs."""
    return rules.Stack(
        [
            rules.Resource(r.type, r.name, {**r.inputs, **r.outputs})
            for r in recording.resources
            if r.custom
        ]
    )


# ---- the policy engine -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    policy: str
    message: str
    urn: str
    advisory: bool


def urn_of(resource: rules.Resource) -> str:
    return f"urn:pulumi:test::trainops::{resource.type}::{resource.name}"


def analyze_stack(resources: list[rules.Resource]) -> list[Diagnostic]:
    """The pack's policies run by pulumi-policy's analyzer, as the Pulumi CLI calls it."""
    servicer = _PolicyAnalyzerServicer(
        "trainops-guardrails", "0.0.1", pack.policies(), EnforcementLevel.MANDATORY
    )
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r.type,
                name=r.name,
                urn=urn_of(r),
                properties=json_format.ParseDict(
                    serialize_properties(dict(r.props)), struct_pb2.Struct()
                ),
            )
            for r in resources
        ]
    )
    advisory = proto.EnforcementLevel.Value("ADVISORY")
    return [
        Diagnostic(d.policyName, d.message, d.urn, d.enforcementLevel == advisory)
        for d in servicer.AnalyzeStack(request, None).diagnostics
    ]


def mandatory(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if not d.advisory]


# ---- both stacks -------------------------------------------------------------------------------

OPTIONAL_FEATURES = {
    "trainops:models.churn.endpoint": {
        "deploy": True,
        "modelDataUrl": "s3://example-ml-data/churn/model.tar.gz",
    },
    "trainops:models.churn.registerModel": {"enabled": True},
    "trainops:models.churn.spot": {"enabled": True},
    "trainops:monitoring.slack": {"workspaceId": "T0123456789", "channelId": "C0123456789"},
    "trainops:eventSourcing.notebook": {"enabled": True},
    "trainops:eventSourcing.immutable": True,
    "trainops:maintenanceWindow.guardWithCriticalAlarm": True,
}
STACKS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "prod-optional-features": ("prod", OPTIONAL_FEATURES),
    # without monitoring the queue schedules its own slot keeper
    "dev-without-monitoring": (
        "dev",
        {
            "trainops:monitoring.enabled": False,
            "trainops:scheduledRetraining.notifications": "none",
        },
    ),
    # CloudTrail data events instead of the access-log bucket
    "dev-cloudtrail-access-logs": ("dev", {"trainops:accessLogs.destination": "cloudtrail"}),
}


@pytest.mark.parametrize("variant", STACKS)
def test_both_stacks_pass_every_rule(
    run_stack: Callable[..., offline.Recording], variant: str
) -> None:
    stack, overrides = STACKS[variant]
    violations = rules.evaluate(stack_of(run_stack(stack, overrides)))
    assert violations == [], "\n".join(f"{v.rule} {v.resource}: {v.message}" for v in violations)


@pytest.mark.parametrize("variant", STACKS)
def test_both_stacks_pass_through_the_policy_engine(
    run_stack: Callable[..., offline.Recording], variant: str
) -> None:
    """The whole pack on the engine's proxies: no violation, no crash, nothing left unchecked."""
    stack, overrides = STACKS[variant]
    assert analyze_stack(stack_of(run_stack(stack, overrides)).resources) == []


def test_every_rule_examines_resources_of_the_stacks(
    run_stack: Callable[..., offline.Recording],
) -> None:
    """A rule whose type tokens match nothing would pass vacuously."""
    resources = [r for stack in ("dev", "prod") for r in stack_of(run_stack(stack)).resources]
    for rule in rules.RULES:
        examined = [r for r in resources if rule.applies_to(r.type)]
        assert examined, f"{rule.id} examines no resource of either stack"


# ---- good resources, and one bad variant per check -----------------------------------------------


def resource(type_token: str, name: str, **props: Any) -> rules.Resource:
    return rules.Resource(type_token, name, props)


def changed(base: rules.Resource, **props: Any) -> rules.Resource:
    return dataclasses.replace(base, props={**base.props, **props})


def arn(service: str, name: str) -> str:
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:{name}"


def queue(name: str, **props: Any) -> rules.Resource:
    return resource(Q, name, **{"arn": arn("sqs", name), "kmsMasterKeyId": KEY, **props})


def redrive(target: str, count: int = 5) -> str:
    return json.dumps({"deadLetterTargetArn": arn("sqs", target), "maxReceiveCount": count})


def fn(name: str = "f", **props: Any) -> rules.Resource:
    base = {
        "arn": arn("lambda", f"function:{name}"),
        "name": name,
        "runtime": "python3.13",
        "memorySize": 256,
        "timeout": 60,
        "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logGroup": f"/aws/lambda/{name}"},
        "reservedConcurrentExecutions": 2,
    }
    return rules.Resource("aws:lambda/function:Function", name, {**base, **props})


def log_group(name: str = "f", **props: Any) -> rules.Resource:
    return rules.Resource(
        "aws:cloudwatch/logGroup:LogGroup",
        f"{name}-logs",
        {"name": f"/aws/lambda/{name}", "retentionInDays": 30, "kmsKeyId": KEY, **props},
    )


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def event_target(name: str = "t", target: str = "arn:aws:sns:::x", **props: Any) -> rules.Resource:
    base = {
        "arn": target,
        "retryPolicy": {"maximumRetryAttempts": 3},
        "deadLetterConfig": {"arn": arn("sqs", "events-dlq")},
    }
    return rules.Resource("aws:cloudwatch/eventTarget:EventTarget", name, {**base, **props})


def schedule(target: dict[str, Any] | None = None, **props: Any) -> rules.Resource:
    base_target = {
        "arn": "arn:aws:sns:::x",
        "retryPolicy": {"maximumRetryAttempts": 3},
        "deadLetterConfig": {"arn": arn("sqs", "schedule-dlq")},
    }
    return rules.Resource(
        "aws:scheduler/schedule:Schedule",
        "s",
        {"target": {**base_target, **(target or {})}, "kmsKeyArn": KEY, **props},
    )


def invoke_config(function: str = "f", **props: Any) -> rules.Resource:
    base = {
        "functionName": function,
        "destinationConfig": {"onFailure": {"destination": arn("sqs", "failures")}},
    }
    return rules.Resource(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        f"{function}-async",
        {**base, **props},
    )


def table(**props: Any) -> rules.Resource:
    base = {
        "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY},
        "deletionProtectionEnabled": True,
    }
    return rules.Resource("aws:dynamodb/table:Table", "t", {**base, **props})


TLS_ONLY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def bucket(
    block: dict[str, Any] | None = None,
    versioning: dict[str, Any] | None = None,
    encryption: dict[str, Any] | None = None,
    policy: dict[str, Any] | None = None,
    logging: dict[str, Any] | None = None,
) -> list[rules.Resource]:
    """A bucket with its five companions; each override replaces that companion's properties
    (the last, its server access logging into the log bucket `logs`)."""
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return [
        resource("aws:s3/bucket:Bucket", "b", bucket="b", arn="arn:aws:s3:::b"),
        resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "b-block",
            **{"bucket": "b", **dict.fromkeys(flags, True), **(block or {})},
        ),
        resource(
            "aws:s3/bucketVersioning:BucketVersioning",
            "b-versioning",
            **{
                "bucket": "b",
                "versioningConfiguration": {"status": "Enabled"},
                **(versioning or {}),
            },
        ),
        resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "b-encryption",
            **{
                "bucket": "b",
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {
                            "sseAlgorithm": "aws:kms",
                            "kmsMasterKeyId": KEY,
                        }
                    }
                ],
                **(encryption or {}),
            },
        ),
        resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            "b-policy",
            **{"bucket": "b", "policy": doc(TLS_ONLY), **(policy or {})},
        ),
        resource(
            "aws:s3/bucketLogging:BucketLogging",
            "b-access-logs",
            **{"bucket": "b", "targetBucket": "logs", "targetPrefix": "b/", **(logging or {})},
        ),
    ]


SSE_S3 = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}


def log_bucket() -> list[rules.Resource]:
    """`b` and its access-log target `logs`: SSE-S3, and no logging of its own."""
    logs = [
        rules.Resource(
            r.type,
            "logs" + r.name[1:],
            {**r.props, "bucket": "logs", "arn": "arn:aws:s3:::logs"},
        )
        for r in bucket(encryption=SSE_S3)
        if r.type != "aws:s3/bucketLogging:BucketLogging"
    ]
    return [*bucket(), *logs]


def role(**props: Any) -> rules.Resource:
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    return rules.Resource("aws:iam/role:Role", "r", {"assumeRolePolicy": doc(trust), **props})


def role_policy(**statement: Any) -> rules.Resource:
    return resource(
        "aws:iam/rolePolicy:RolePolicy", "p", policy=doc({"Effect": "Allow", **statement})
    )


METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


def alarm(*, composite: bool = False, **props: Any) -> rules.Resource:
    base = {"alarmActions": [arn("sns", "warning")], "actionsEnabled": True}
    return rules.Resource(COMPOSITE_ALARM if composite else METRIC_ALARM, "a", {**base, **props})


def pipeline(instance_type: str = "ml.m5.xlarge", **arguments: Any) -> rules.Resource:
    base = {
        "EnableNetworkIsolation": True,
        "ResourceConfig": {
            "InstanceType": {"Get": "Parameters.InstanceType"},
            "InstanceCount": 1,
            "VolumeKmsKeyId": KEY,
        },
        "OutputDataConfig": {"S3OutputPath": "s3://b/out", "KmsKeyId": KEY},
    }
    definition = {
        "Parameters": [{"Name": "InstanceType", "Type": "String", "DefaultValue": instance_type}],
        "Steps": [{"Name": "Train", "Type": "Training", "Arguments": {**base, **arguments}}],
    }
    return resource(
        "aws:sagemaker/pipeline:Pipeline", "p", pipelineDefinition=json.dumps(definition)
    )


def monitoring_job(cluster: dict[str, Any] | None = None, **props: Any) -> rules.Resource:
    base = {
        "networkConfig": {"enableNetworkIsolation": True},
        "jobResources": {
            "clusterConfig": {
                "instanceType": "ml.m5.large",
                "volumeKmsKeyId": KEY,
                **(cluster or {}),
            }
        },
        "modelBiasJobOutputConfig": {"kmsKeyId": KEY, "monitoringOutputs": []},
    }
    return rules.Resource("aws-native:sagemaker:ModelBiasJobDefinition", "j", {**base, **props})


def endpoint_configuration(*instance_types: str, **props: Any) -> rules.Resource:
    variants = [{"variantName": "AllTraffic", "instanceType": t} for t in instance_types]
    return rules.Resource(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "e",
        {
            "kmsKeyArn": KEY,
            "productionVariants": variants or [{"instanceType": "ml.m5.large"}],
            **props,
        },
    )


# Stacks that pass every rule: each bad case below changes one property of one of them.
GOOD: dict[str, list[rules.Resource]] = {
    "sqs": [queue("q", redrivePolicy=redrive("d")), queue("d")],
    "fifo": [
        queue("q.fifo", fifoQueue=True, redrivePolicy=redrive("d.fifo")),
        queue("d.fifo", fifoQueue=True),
    ],
    "consumer": [
        queue("q", visibilityTimeoutSeconds=360, redrivePolicy=redrive("d")),
        queue("d"),
        fn(timeout=60),
        log_group(),
        resource(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            "m",
            eventSourceArn=arn("sqs", "q"),
            functionName=arn("lambda", "function:f"),
        ),
    ],
    "sns": [resource("aws:sns/topic:Topic", "t", kmsMasterKeyId=KEY)],
    "lambda": [fn(), log_group()],
    "async": [
        fn(),
        log_group(),
        event_target(target=arn("lambda", "function:f")),
        queue("events-dlq"),
        invoke_config(),
        queue("failures"),
    ],
    "events": [event_target(), queue("events-dlq")],
    "scheduler": [schedule(), queue("schedule-dlq")],
    "dynamodb": [table()],
    "s3": bucket(),
    "s3-access-log-target": log_bucket(),
    "s3-cloudtrail": [
        rules.Resource(
            r.type, r.name, {**r.props, "tags": {"trainops:access-logs": "cloudtrail-data-events"}}
        )
        if r.type == "aws:s3/bucket:Bucket"
        else r
        for r in bucket()
        if r.type != "aws:s3/bucketLogging:BucketLogging"
    ],
    "kms": [resource("aws:kms/key:Key", "k", enableKeyRotation=True)],
    "iam": [
        role(managedPolicyArns=[]),
        role_policy(Action=["s3:GetObject"], Resource="arn:aws:s3:::b/*"),
    ],
    "alarms": [alarm(), alarm(composite=True)],
    "pipeline": [pipeline()],
    "monitoring": [monitoring_job()],
    "sagemaker": [
        resource("aws:sagemaker/model:Model", "m", enableNetworkIsolation=True),
        resource("aws:sagemaker/notebookInstance:NotebookInstance", "n", kmsKeyId=KEY),
        endpoint_configuration(),
    ],
}


def swap(stack: str, index: int, bad: rules.Resource) -> list[rules.Resource]:
    """GOOD[stack] with its resource at ``index`` replaced by ``bad``."""
    resources = list(GOOD[stack])
    resources[index] = bad
    return resources


def good(stack: str, index: int = 0) -> rules.Resource:
    return GOOD[stack][index]


s3 = bucket
# (rule id, a stack that is good but for one property, the one violation it must cause)
BAD: list[tuple[str, list[rules.Resource], str]] = [
    ("sqs-kms", swap("sqs", 0, changed(good("sqs"), kmsMasterKeyId=None)), "not encrypted"),
    (
        "sqs-kms",
        swap("sqs", 0, changed(good("sqs"), kmsMasterKeyId="alias/aws/sqs")),
        "AWS-managed key alias/aws/sqs",
    ),
    (
        "sqs-kms",
        swap("sqs", 0, changed(good("sqs"), kmsMasterKeyId=arn("kms", "alias/aws/sqs"))),
        "AWS-managed key",
    ),
    ("sqs-dead-letters", [queue("lonely")], "no dead-letter queue"),
    (
        "sqs-dead-letters",
        swap("sqs", 0, changed(good("sqs"), redrivePolicy=redrive("d", 2))),
        "maxReceiveCount 2",
    ),
    ("sqs-dead-letters", [queue("q", redrivePolicy="{not json")], "not valid JSON"),
    ("sqs-fifo-dlq", swap("fifo", 1, changed(good("fifo", 1), fifoQueue=False)), "must be FIFO"),
    (
        "sqs-visibility",
        swap("consumer", 0, changed(good("consumer"), visibilityTimeoutSeconds=60)),
        "below 6 x",
    ),
    (
        "sns-cmk",
        swap("sns", 0, changed(good("sns"), kmsMasterKeyId="alias/aws/sns")),
        "customer-managed",
    ),
    ("sns-cmk", swap("sns", 0, changed(good("sns"), kmsMasterKeyId=None)), "customer-managed"),
    ("lambda-runtime", swap("lambda", 0, fn(runtime="python3.8")), "not a supported"),
    ("lambda-sizing", swap("lambda", 0, fn(memorySize=None)), "memorySize is not set"),
    ("lambda-sizing", swap("lambda", 0, fn(timeout=None)), "timeout is not set"),
    (
        "lambda-concurrency",
        swap("lambda", 0, fn(reservedConcurrentExecutions=None)),
        "reserved concurrency is None",
    ),
    (
        "lambda-concurrency",
        swap("lambda", 0, fn(reservedConcurrentExecutions=-1)),
        "reserved concurrency is -1",
    ),
    (
        "lambda-concurrency",
        swap("lambda", 0, fn(reservedConcurrentExecutions=0)),
        "reserve at least 1",
    ),
    (
        "lambda-tracing",
        swap("lambda", 0, fn(tracingConfig={"mode": "PassThrough"})),
        "tracing is not active",
    ),
    ("lambda-logs", [fn()], "no log group"),
    ("lambda-logs", swap("lambda", 1, log_group(retentionInDays=None)), "keeps logs forever"),
    (
        "lambda-logs",
        swap("lambda", 1, log_group(kmsKeyId=None)),
        "not encrypted with the stack key",
    ),
    (
        "lambda-async-failures",
        [*GOOD["async"][:4], invoke_config(destinationConfig=None)],
        "no on-failure destination",
    ),
    (
        "lambda-async-failures",
        [
            fn(),
            log_group(),
            schedule(target={"arn": arn("lambda", "function:f")}),
            queue("schedule-dlq"),
        ],
        "no on-failure destination",
    ),
    ("events-target", swap("events", 0, event_target(retryPolicy=None)), "no explicit retry"),
    ("events-target", [event_target(deadLetterConfig=None)], "no dead-letter queue"),
    (
        "events-target",
        swap("events", 1, changed(good("events", 1), fifoQueue=True)),
        "must be standard",
    ),
    (
        "scheduler",
        swap("scheduler", 0, schedule(target={"retryPolicy": None})),
        "no explicit retry",
    ),
    ("scheduler", [schedule(target={"deadLetterConfig": None})], "no dead-letter queue"),
    ("scheduler", swap("scheduler", 0, schedule(kmsKeyArn=None)), "not encrypted"),
    ("scheduler", swap("scheduler", 0, schedule(kmsKeyArn="alias/aws/scheduler")), "not encrypted"),
    ("dynamodb", [table(pointInTimeRecovery={"enabled": False})], "point-in-time recovery is off"),
    ("dynamodb", [table(serverSideEncryption={"enabled": True})], "customer-managed KMS key"),
    (
        "dynamodb",
        [table(serverSideEncryption={"enabled": False, "kmsKeyArn": KEY})],
        "customer-managed KMS key",
    ),
    ("dynamodb", [table(deletionProtectionEnabled=False)], "deletion protection is off"),
    ("s3-bucket", s3()[:1] + s3()[2:], "public-access blocks"),
    ("s3-bucket", s3(block={"restrictPublicBuckets": False}), "public-access blocks"),
    (
        "s3-bucket",
        s3(versioning={"versioningConfiguration": {"status": "Suspended"}}),
        "versioning",
    ),
    (
        "s3-bucket",
        s3(
            encryption={
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
            }
        ),
        "not SSE-KMS",
    ),
    (
        "s3-bucket",
        s3(policy={"policy": doc({**TLS_ONLY, "Condition": {}})}),
        "does not deny requests without TLS",
    ),
    (
        "s3-bucket",
        [
            changed(r, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}])
            if r.name == "logs-encryption"
            else r
            for r in log_bucket()
        ],
        "not SSE-KMS or SSE-S3 (an access-log target)",
    ),
    (
        "s3-access-logs",
        [r for r in s3() if r.type != "aws:s3/bucketLogging:BucketLogging"],
        "no server access logging",
    ),
    (
        "s3-access-logs",
        s3(logging={"bucket": "another-bucket"}),
        "no server access logging",
    ),
    (
        "kms-rotation",
        [resource("aws:kms/key:Key", "k", enableKeyRotation=False)],
        "rotation is off",
    ),
    (
        "iam-wildcard-actions",
        [role_policy(Action="s3:*", Resource="arn:aws:s3:::b")],
        "wildcard actions ['s3:*']",
    ),
    (
        "iam-wildcard-actions",
        [
            role(
                inlinePolicies=[
                    {
                        "name": "inline",
                        "policy": doc(
                            {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}
                        ),
                    }
                ]
            )
        ],
        "inlinePolicies[0]: Allow with wildcard actions ['*']",
    ),
    (
        "iam-star-resource",
        [role_policy(Action=["s3:GetObject"], Resource="*")],
        "support resource-level permissions",
    ),
    (
        "iam-managed-policies",
        [
            resource(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "a",
                policyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
            )
        ],
        "AWS-managed broad policy",
    ),
    (
        "iam-managed-policies",
        [role(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])],
        "AdministratorAccess",
    ),
    (
        "iam-trust-scoped",
        [
            role(
                assumeRolePolicy=doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                )
            )
        ],
        "no aws:SourceAccount",
    ),
    ("alarm-actions", [alarm(alarmActions=[])], "notifies nobody"),
    ("alarm-actions", [alarm(alarmActions=None)], "notifies nobody"),
    ("alarm-actions", [alarm(actionsEnabled=False)], "actionsEnabled is false"),
    (
        "alarm-actions",
        [alarm(composite=True, alarmActions=[])],
        "notifies nobody",
    ),
    ("sagemaker", [pipeline(EnableNetworkIsolation=False)], "is not network-isolated"),
    (
        "sagemaker",
        [pipeline(ResourceConfig={"InstanceType": {"Get": "Parameters.InstanceType"}})],
        "does not encrypt its volumes",
    ),
    (
        "sagemaker",
        [pipeline(OutputDataConfig={"S3OutputPath": "s3://b"})],
        "does not encrypt its output",
    ),
    (
        "sagemaker",
        [monitoring_job(networkConfig={"enableNetworkIsolation": False})],
        "monitoring job is not network-isolated",
    ),
    (
        "sagemaker",
        [monitoring_job(cluster={"volumeKmsKeyId": None})],
        "monitoring job volumes are not encrypted",
    ),
    (
        "sagemaker",
        [monitoring_job(modelBiasJobOutputConfig={"monitoringOutputs": []})],
        "monitoring job output is not encrypted",
    ),
    (
        "sagemaker",
        swap(
            "sagemaker", 0, resource("aws:sagemaker/model:Model", "m", enableNetworkIsolation=False)
        ),
        "model container is not network-isolated",
    ),
    (
        "sagemaker",
        swap("sagemaker", 1, resource("aws:sagemaker/notebookInstance:NotebookInstance", "n")),
        "notebook storage is not encrypted",
    ),
    (
        "sagemaker",
        swap("sagemaker", 2, endpoint_configuration(kmsKeyArn=None)),
        "endpoint storage is not encrypted",
    ),
    (
        "sagemaker",
        # one variant without local storage is enough to need the key
        [endpoint_configuration("ml.g5.xlarge", "ml.m5.large", kmsKeyArn=None)],
        "endpoint storage is not encrypted",
    ),
    (
        "aws-quotas",
        swap("lambda", 0, fn(environment={"variables": {"CATALOG": "x" * 4_100}})),
        "all environment variables of a Lambda function is 4,114 bytes; AWS allows 4,096",
    ),
    (
        "aws-quotas",
        [fn("f" * 65), log_group("f" * 65)],
        "a Lambda function name (name 'fffff",
    ),
    (
        "aws-quotas",
        [
            role(),
            *(
                resource(
                    "aws:iam/rolePolicy:RolePolicy",
                    f"p{index}",
                    role="r",
                    policy=doc(
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": [f"arn:aws:s3:::b/model-{i:03d}/*" for i in range(180)],
                        }
                    ),
                )
                for index in range(2)
            ),
        ],
        "all inline policies of one IAM role together (role r: p0, p1) is 10,632 characters",
    ),
    (
        "aws-quotas",
        [
            rules.Resource(
                "aws:cloudwatch/eventRule:EventRule",
                "rule",
                {
                    "name": "rule",
                    "eventPattern": json.dumps(
                        {"detail": {"pipelineArn": [arn("sagemaker", f"p/{i}") for i in range(60)]}}
                    ),
                },
            )
        ],
        "an EventBridge event pattern (eventPattern) is 2,",
    ),
    (
        "aws-quotas",
        [
            resource(
                "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask",
                f"task-{index}",
                windowId="mw-0123456789abcdef0",
            )
            for index in range(21)
        ],
        "the tasks of one maintenance window (window mw-0123456789abcdef0) is 21 tasks",
    ),
]
BAD_IDS = [f"{case[0]}-{i}" for i, case in enumerate(BAD)]


@pytest.mark.parametrize("name", GOOD)
def test_the_good_stacks_pass_every_rule(name: str) -> None:
    """So each bad case below fails for the one property it changes."""
    assert rules.evaluate(rules.Stack(GOOD[name]), suppressions=[]) == []
    assert analyze_stack(GOOD[name]) == []


@pytest.mark.parametrize(("rule_id", "resources", "expected"), BAD, ids=BAD_IDS)
def test_each_check_fails_on_a_bad_resource(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    violations = rules.evaluate(rules.Stack(resources), suppressions=[])
    assert [v.rule for v in violations] == [rule_id], violations
    assert expected in violations[0].message, violations[0].message


@pytest.mark.parametrize(("rule_id", "resources", "expected"), BAD, ids=BAD_IDS)
def test_each_check_fails_through_the_policy_engine(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    """The same case with the engine's proxies: one mandatory violation, on the bad resource."""
    diagnostics = analyze_stack(resources)
    assert [(d.policy, d.advisory) for d in diagnostics] == [(f"trainops-{rule_id}", False)]
    assert expected in diagnostics[0].message, diagnostics[0].message
    assert diagnostics[0].urn in {urn_of(r) for r in resources}


def test_every_rule_has_a_failing_example_and_a_source() -> None:
    assert {r.id for r in rules.RULES} == {case[0] for case in BAD}
    assert all(r.source and r.description for r in rules.RULES)
    assert len({r.id for r in rules.RULES}) == len(rules.RULES)


def test_rules_read_the_engines_proxies() -> None:
    """The engine hands rules Mapping/Sequence proxies, not dicts and lists (the original bug:
    `alarmActions: []` and a managed-policy list passed, and the bucket rule crashed)."""
    props = unknown_checking_proxy({"alarmActions": [], "rules": [{"a": 1}]})
    assert not isinstance(props["alarmActions"], list)
    assert rules._as_list(props["alarmActions"]) == []
    assert [dict(r) for r in rules._as_list(props["rules"])] == [{"a": 1}]
    assert rules._as_list("one") == ["one"]
    wrapped = [
        rules.Resource(r.type, r.name, unknown_checking_proxy(dict(r.props)))
        for r in [
            *s3(),
            alarm(alarmActions=[]),
            role(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]),
        ]
    ]
    assert {v.rule for v in rules.evaluate(rules.Stack(wrapped), suppressions=[])} == {
        "alarm-actions",
        "iam-managed-policies",
    }


# ---- values unknown during preview -------------------------------------------------------------


def test_an_unknown_value_skips_only_the_checks_that_need_it() -> None:
    """One queue's key is unknown: that queue is reported as unchecked (advisory), the others
    are still checked, so a queue without a key still fails the preview."""
    unknown = queue("unknown", kmsMasterKeyId=UNKNOWN_STRING_VALUE, redrivePolicy=redrive("d"))
    plain = queue("plain", kmsMasterKeyId=None, redrivePolicy=redrive("d"))
    diagnostics = analyze_stack([unknown, plain, queue("d")])
    assert [(d.policy, d.urn) for d in mandatory(diagnostics)] == [
        ("trainops-sqs-kms", urn_of(plain))
    ]
    advisories = [d for d in diagnostics if d.advisory]
    assert [(d.policy, d.urn) for d in advisories] == [(pack.UNKNOWNS_POLICY, urn_of(unknown))]
    assert "trainops-sqs-kms not checked for unknown" in advisories[0].message
    assert ".kmsMasterKeyId can't be known during preview" in advisories[0].message
    assert not any("can't run policy" in d.message for d in diagnostics)


def test_an_unknown_in_a_looked_up_resource_skips_only_its_dependents() -> None:
    """Function f1's log group has an unknown key: f1's log check waits for `pulumi up`. A third
    log group's name is unknown too, but f2's own group is found by its known name, so f2's
    missing retention is still reported."""
    diagnostics = analyze_stack(
        [
            fn("f1"),
            log_group("f1", kmsKeyId=UNKNOWN_STRING_VALUE),
            fn("f2"),
            log_group("f2", retentionInDays=None),
            changed(log_group("f3"), name=UNKNOWN_STRING_VALUE),
        ]
    )
    assert [(d.policy, d.urn) for d in mandatory(diagnostics)] == [
        ("trainops-lambda-logs", urn_of(fn("f2")))
    ]
    assert "keeps logs forever" in mandatory(diagnostics)[0].message
    # f1's log check waits; so does the length of f3's log group name (the quota check)
    assert [(d.policy, d.urn) for d in diagnostics if d.advisory] == [
        (pack.UNKNOWNS_POLICY, urn_of(fn("f1"))),
        (pack.UNKNOWNS_POLICY, urn_of(changed(log_group("f3"), name=UNKNOWN_STRING_VALUE))),
    ]


def test_a_lookup_that_depends_on_an_unknown_is_not_a_violation() -> None:
    """Without a known match, an unknown candidate may be the match: no verdict, no violation."""
    diagnostics = analyze_stack([fn("f1"), changed(log_group("f1"), name=UNKNOWN_STRING_VALUE)])
    assert mandatory(diagnostics) == []
    # f1's log check, and the quota check of the log group's name
    assert [d.policy for d in diagnostics] == [pack.UNKNOWNS_POLICY, pack.UNKNOWNS_POLICY]


# ---- SageMaker local instance storage ----------------------------------------------------------


def test_local_storage_instances_need_no_volume_key() -> None:
    """SageMaker rejects a volume KMS key for instances with (hardware-encrypted) NVMe storage."""
    local = [
        pipeline(
            "ml.g5.xlarge",
            ResourceConfig={"InstanceType": {"Get": "Parameters.InstanceType"}},
        ),
        monitoring_job(cluster={"instanceType": "ml.m5d.large", "volumeKmsKeyId": None}),
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
    from components import instance_types

    assert rules.has_local_storage(instance_type) == instance_types.has_local_storage(instance_type)


# ---- sources -----------------------------------------------------------------------------------

# Every check id a rule cites, with the check's name as published (checkov's check classes,
# cdk-nag's rule list); a new citation must be looked up and added here.
VERIFIED_CHECKS = {
    "CKV_AWS_7": "Ensure rotation for customer created CMKs is enabled",
    "CKV_AWS_18": "Ensure the S3 bucket has access logging enabled",
    "CKV_AWS_21": "Ensure all data stored in the S3 bucket have versioning enabled",
    "CKV_AWS_22": "Ensure SageMaker Notebook is encrypted at rest using KMS CMK",
    "CKV_AWS_26": "Ensure all data stored in the SNS topic is encrypted",
    "CKV_AWS_27": "Ensure all data stored in the SQS queue is encrypted",
    "CKV_AWS_28": "Ensure DynamoDB point in time recovery (backup) is enabled",
    "CKV_AWS_50": "X-ray tracing is enabled for Lambda",
    "CKV_AWS_53": "Ensure S3 bucket has block public ACLS enabled",
    "CKV_AWS_54": "Ensure S3 bucket has block public policy enabled",
    "CKV_AWS_55": "Ensure S3 bucket has ignore public ACLs enabled",
    "CKV_AWS_56": "Ensure S3 bucket has 'restrict_public_buckets' enabled",
    "CKV_AWS_66": "Ensure that CloudWatch Log Group specifies retention days",
    "CKV_AWS_115": "Ensure that AWS Lambda function is configured for function-level concurrent "
    "execution limit",
    "CKV_AWS_98": "Ensure all data stored in the Sagemaker Endpoint is securely encrypted at rest",
    "CKV_AWS_116": "Ensure that AWS Lambda function is configured for a Dead Letter Queue(DLQ)",
    "CKV_AWS_119": "Ensure DynamoDB Tables are encrypted using a KMS Customer Managed CMK",
    "CKV_AWS_145": "Ensure that S3 buckets are encrypted with KMS by default",
    "CKV_AWS_158": "Ensure that CloudWatch Log Group is encrypted by KMS",
    "CKV_AWS_319": "Ensure that CloudWatch alarm actions are enabled",
    "CKV_AWS_363": "Ensure Lambda Runtime is not deprecated",
    "CKV_AWS_367": "Ensure Amazon Sagemaker Data Quality Job uses KMS to encrypt model artifacts",
    "CKV_AWS_368": "Ensure Amazon Sagemaker Data Quality Job uses KMS to encrypt data on attached "
    "storage volume",
    "CKV_AWS_370": "Ensure Amazon SageMaker model uses network isolation",
    "AwsSolutions-IAM4": "The IAM user, role, or group uses AWS managed policies",
    "AwsSolutions-IAM5": "The IAM entity contains wildcard permissions",
    "AwsSolutions-L1": "The non-container Lambda function is not configured to use the latest "
    "runtime version",
    "AwsSolutions-S10": "The S3 Bucket or bucket policy does not require requests to use SSL",
    "AwsSolutions-SQS3": "The SQS queue is not used as a DLQ and does not have a DLQ enabled",
}


def test_every_cited_check_is_a_verified_one() -> None:
    for rule in rules.RULES:
        for check_id in re.findall(r"CKV_AWS_\d+|AwsSolutions-[A-Z]+\d+", rule.source):
            assert check_id in VERIFIED_CHECKS, f"{rule.id} cites unverified {check_id}"


def test_citations_name_the_check_the_rule_implements() -> None:
    source = {r.id: r.source for r in rules.RULES}
    # CKV_AWS_338 asks for a year of retention; "has a retention" is CKV_AWS_66.
    assert "CKV_AWS_66" in source["lambda-logs"]
    assert "CKV_AWS_338" not in source["lambda-logs"]
    # CKV_AWS_116 is the function's DLQ, a neighbour of the on-failure destination.
    assert "related: checkov CKV_AWS_116" in source["lambda-async-failures"]
    # CKV_AWS_319 is about actions being enabled, which the rule now checks too.
    assert "CKV_AWS_319" in source["alarm-actions"]


def test_star_only_actions_have_no_resource_type_in_the_iam_reference() -> None:
    """`iam-star-resource` lets these through on Resource "*": each must be an action the
    Service Authorization Reference (parliament's copy) lists without any resource type."""
    from parliament import iam_definition

    resource_types = {
        f"{service['prefix']}:{privilege['privilege']}": {
            r["resource_type"] for r in privilege["resource_types"]
        }
        for service in iam_definition
        for privilege in service["privileges"]
    }
    for action in rules.STAR_ONLY_ACTIONS:
        assert resource_types.get(action) == {""}, f"{action}: {resource_types.get(action)}"


# ---- suppressions ------------------------------------------------------------------------------

REASON = "imported key managed by the security team's rotation runbook"


def test_suppressions_are_explicit_per_resource_with_a_reason(tmp_path: Path) -> None:
    bad = resource("aws:kms/key:Key", "legacy-key", enableKeyRotation=False)
    rule = next(r for r in rules.RULES if r.id == "kms-rotation")
    for pattern in ("legacy-key", "legacy-*"):
        suppression = rules.Suppression("kms-rotation", pattern, REASON)
        rules.validate_suppression(suppression)
        assert rules.evaluate(rules.Stack([bad]), [rule], [suppression]) == []
        other = resource("aws:kms/key:Key", "new-key", enableKeyRotation=False)
        assert len(rules.evaluate(rules.Stack([bad, other]), [rule], [suppression])) == 1
    path = tmp_path / "suppressions.json"
    path.write_text(
        json.dumps([{"rule": "kms-rotation", "resource": "legacy-key", "reason": "because"}])
    )
    with pytest.raises(ValueError, match="needs a real reason"):
        rules.load_suppressions(path)


@pytest.mark.parametrize(
    "pattern", ["*", "**", "?*", "*-key", "[a-z]*", "-*", "a-*", "legacy*", "legacy-*-key", ""]
)
def test_catch_all_suppressions_are_rejected(tmp_path: Path, pattern: str) -> None:
    path = tmp_path / "suppressions.json"
    path.write_text(json.dumps([{"rule": "kms-rotation", "resource": pattern, "reason": REASON}]))
    with pytest.raises(ValueError, match="is not per resource"):
        rules.load_suppressions(path)


def test_suppressions_of_unknown_rules_are_rejected() -> None:
    with pytest.raises(ValueError, match="names no rule"):
        rules.validate_suppression(rules.Suppression("kms-rotaton", "legacy-key", REASON))


def test_committed_suppressions_are_all_used(run_stack: Callable[..., offline.Recording]) -> None:
    stacks = [stack_of(run_stack("dev")), stack_of(run_stack("prod"))]
    for suppression in rules.load_suppressions():
        rule = next(r for r in rules.RULES if r.id == suppression.rule)
        matched = [
            res
            for stack in stacks
            for res in stack.resources
            if rules.suppressed(rule, res, [suppression])
        ]
        assert matched, f"stale suppression {suppression}"


# ---- the pack ----------------------------------------------------------------------------------


def test_the_pack_reports_through_crossguard() -> None:
    """The pack's policies, run by pulumi-policy's analyzer, report on the resource's URN."""
    key = resource("aws:kms/key:Key", "k", enableKeyRotation=False)
    assert analyze_stack([key]) == [
        Diagnostic(
            "trainops-kms-rotation",
            "KMS keys rotate [checkov CKV_AWS_7]\nk (aws:kms/key:Key): KMS key rotation is off",
            urn_of(key),
            advisory=False,
        )
    ]
    policies = pack.policies()
    assert [p.name for p in policies] == [
        *(f"trainops-{r.id}" for r in rules.RULES),
        pack.UNKNOWNS_POLICY,
    ]
    assert [p.enforcement_level for p in policies] == [EnforcementLevel.MANDATORY] * len(
        rules.RULES
    ) + [EnforcementLevel.ADVISORY]


def test_deny_wildcards_and_key_policies_are_not_violations() -> None:
    deny = resource(
        "aws:sqs/queuePolicy:QueuePolicy",
        "p",
        policy=doc(
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sqs:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    )
    key = resource(
        "aws:kms/key:Key",
        "k",
        enableKeyRotation=True,
        policy=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
            }
        ),
    )
    xray = role_policy(Action=["xray:PutTraceSegments"], Resource="*")
    assert rules.evaluate(rules.Stack([deny, key, xray]), suppressions=[]) == []
