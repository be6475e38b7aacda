"""What the policy tests share: the pack run by pulumi-policy's own analyzer, and builders for
resources that pass every rule (each bad case changes one property of one of them).

Each bad case runs twice: through `rules.evaluate` on plain dicts (the offline path), and through
pulumi-policy's own analyzer (`AnalyzeStack`), which serializes the properties to protobuf and
hands the policies the engine's read-only proxies, unknown values included, exactly as
`pulumi preview --policy-pack policy` does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any, ClassVar

import pack
import pytest
import rules
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer

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


def analyze_stack(
    resources: list[rules.Resource], config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Diagnostic]:
    """The pack's policies run by pulumi-policy's analyzer, as the Pulumi CLI calls it, with
    ``config`` (rule id -> its settings) as a policy-pack config file would give it."""
    servicer = _PolicyAnalyzerServicer(
        "trainops-guardrails", "0.0.1", pack.policies(), EnforcementLevel.MANDATORY
    )
    if config:  # what the CLI sends for `--policy-pack-config <file>`
        servicer.Configure(
            proto.ConfigureAnalyzerRequest(
                policyConfig={
                    f"trainops-{rule_id}": proto.PolicyConfig(
                        # `trainops policy-config` writes the level beside the properties
                        enforcementLevel=proto.EnforcementLevel.Value("MANDATORY"),
                        properties=json_format.ParseDict(dict(props), struct_pb2.Struct()),
                    )
                    for rule_id, props in config.items()
                }
            ),
            None,
        )
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r.type,
                name=r.name,
                urn=urn_of(r),
                properties=json_format.ParseDict(
                    dict(serialize_properties(dict(r.props))), struct_pb2.Struct()
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


# ---- good stacks and bad cases -----------------------------------------------------------------

# A bad case: (rule id, a stack that is good but for one property, the one violation it causes),
# as a `pytest.param` named after what is wrong.
CASE = ("rule_id", "resources", "expected")


def bad(rule_id: str, what: str, resources: list[rules.Resource], expected: str) -> Any:
    """A bad case: ``rule_id`` fails on ``resources`` with a message containing ``expected``; its
    test id is the rule id and what is wrong, ``<rule id>-<what>``."""
    return pytest.param(rule_id, resources, expected, id=f"{rule_id}-{what}")


def bad_cases(rule_id: str, cases: dict[str, tuple[list[rules.Resource], str]]) -> list[Any]:
    """The bad cases of one rule, each named by what is wrong: ``{what: (resources, expected)}``
    (the rule is named once, above the ways to break it)."""
    return [
        bad(rule_id, what, resources, expected) for what, (resources, expected) in cases.items()
    ]


def case_rule_ids(cases: Iterable[Any]) -> set[str]:
    """The rule ids of ``pytest.param`` bad cases."""
    return {case.values[0] for case in cases}


Config = Mapping[str, Mapping[str, Any]]


def assert_passes(resources: list[rules.Resource], config: Config | None = None) -> None:
    """No rule objects, offline or through the engine (so each bad case fails for the one
    property it changes)."""
    assert rules.evaluate(rules.Stack(resources, config=config or {}), suppressions=[]) == []
    assert analyze_stack(resources, config) == []


def assert_fails(
    rule_id: str, resources: list[rules.Resource], expected: str, config: Config | None = None
) -> None:
    """Offline: exactly one violation, of ``rule_id``, saying ``expected``."""
    violations = rules.evaluate(rules.Stack(resources, config=config or {}), suppressions=[])
    assert [v.rule for v in violations] == [rule_id], violations
    assert expected in violations[0].message, violations[0].message


def assert_fails_in_engine(
    rule_id: str, resources: list[rules.Resource], expected: str, config: Config | None = None
) -> None:
    """The same case with the engine's proxies: one mandatory violation, on the bad resource."""
    diagnostics = analyze_stack(resources, config)
    assert [(d.policy, d.advisory) for d in diagnostics] == [(f"trainops-{rule_id}", False)]
    assert expected in diagnostics[0].message, diagnostics[0].message
    assert diagnostics[0].urn in {urn_of(r) for r in resources}


def swap(resources: list[rules.Resource], index: int, bad: rules.Resource) -> list[rules.Resource]:
    """``resources`` with the one at ``index`` replaced by ``bad``."""
    swapped = list(resources)
    swapped[index] = bad
    return swapped


def modified(resources: list[rules.Resource], index: int, **props: Any) -> list[rules.Resource]:
    """``resources`` with ``props`` changed on the one at ``index``."""
    return swap(resources, index, changed(resources[index], **props))


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


def without_access_logs(resources: list[rules.Resource]) -> list[rules.Resource]:
    """``resources`` without their server access logging (the bucket of `bucket()`)."""
    return [r for r in resources if r.type != "aws:s3/bucketLogging:BucketLogging"]


def log_bucket() -> list[rules.Resource]:
    """`b` and its access-log target `logs`: SSE-S3, and no logging of its own."""
    logs = [
        rules.Resource(
            r.type,
            "logs" + r.name[1:],
            {**r.props, "bucket": "logs", "arn": "arn:aws:s3:::logs"},
        )
        for r in without_access_logs(bucket(encryption=SSE_S3))
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


def gated_pipeline(
    instance_type: str = "ml.m5.xlarge", cluster: dict[str, Any] | None = None, **arguments: Any
) -> rules.Resource:
    """A pipeline whose evaluation gate runs a Processing step (``arguments`` replace its own)."""
    base = {
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": instance_type,
                "InstanceCount": 1,
                "VolumeKmsKeyId": KEY,
                **(cluster or {}),
            }
        },
        "ProcessingOutputConfig": {"Outputs": [], "KmsKeyId": KEY},
    }
    definition = json.loads(pipeline().props["pipelineDefinition"])
    definition["Steps"].append(
        {"Name": "Evaluate", "Type": "Processing", "Arguments": {**base, **arguments}}
    )
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


class BadCaseTests:
    """The tests every rule module runs over its bad cases: subclass it (or `ServiceTests`) once
    per module with the module's rules and cases, and pytest runs them for it: each rule has a
    bad case, and each bad case fails with its message, directly and through the policy
    engine."""

    service: ClassVar[ModuleType]
    bad: ClassVar[list[Any]]
    # the policy config every case of the module runs with (rule id -> settings)
    config: ClassVar[dict[str, dict[str, Any]]] = {}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrizes the tests over the subclass's tables (pytest asks the class)."""
        if "rule_id" in metafunc.fixturenames:
            metafunc.parametrize(CASE, self.bad)
        if "name" in metafunc.fixturenames:
            metafunc.parametrize("name", list(getattr(self, "good", {})))

    def test_every_rule_has_a_bad_case(self) -> None:
        assert {r.id for r in self.service.RULES} == case_rule_ids(self.bad)

    def test_each_check_fails_on_a_bad_resource(
        self, rule_id: str, resources: list[rules.Resource], expected: str
    ) -> None:
        assert_fails(rule_id, resources, expected, self.config)

    def test_each_check_fails_through_the_policy_engine(
        self, rule_id: str, resources: list[rules.Resource], expected: str
    ) -> None:
        assert_fails_in_engine(rule_id, resources, expected, self.config)


class ServiceTests(BadCaseTests):
    """`BadCaseTests`, and the service's good stacks pass every rule (`class TestSqsRules
    (ServiceTests)` with ``service``, ``good`` and ``bad``)."""

    good: ClassVar[dict[str, list[rules.Resource]]]

    def test_the_good_stacks_pass_every_rule(self, name: str) -> None:
        assert_passes(self.good[name], self.config)
