"""The guardrail rules: both stacks pass, and every rule fails on a deliberately bad resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pack
import pytest
import rules
from pulumi_policy import StackValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions

from cli import offline

Q = "aws:sqs/queue:Queue"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


def stack_of(recording: offline.Recording) -> rules.Stack:
    """The mock graph as the policy engine sees it: every resource with its outputs."""
    return rules.Stack(
        [
            rules.Resource(r.type, r.name, {**r.inputs, **r.outputs})
            for r in recording.resources
            if r.custom
        ]
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_pass_every_rule(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    violations = rules.evaluate(stack_of(run_stack(stack)))
    assert violations == [], "\n".join(f"{v.rule} {v.resource}: {v.message}" for v in violations)


def test_optional_features_pass_too(run_stack: Callable[..., offline.Recording]) -> None:
    recording = run_stack(
        "prod",
        {
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
        },
    )
    assert rules.evaluate(stack_of(recording)) == []


def queue(name: str, **props: Any) -> rules.Resource:
    return rules.Resource(
        Q,
        name,
        {"arn": f"arn:aws:sqs:us-east-1:123456789012:{name}", "kmsMasterKeyId": KEY, **props},
    )


def redrive(target: str, count: int = 5) -> str:
    return json.dumps(
        {
            "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:123456789012:{target}",
            "maxReceiveCount": count,
        }
    )


def fn(name: str = "f", **props: Any) -> rules.Resource:
    base = {
        "arn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        "name": name,
        "runtime": "python3.13",
        "memorySize": 256,
        "timeout": 60,
        "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logGroup": f"/aws/lambda/{name}"},
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


# (rule id, resources of a bad stack, part of the expected violation)
BAD: list[tuple[str, list[rules.Resource], str]] = [
    (
        "sqs-kms",
        [queue("q", kmsMasterKeyId=None, redrivePolicy=redrive("d")), queue("d")],
        "not encrypted",
    ),
    ("sqs-dead-letters", [queue("lonely")], "no dead-letter queue"),
    (
        "sqs-dead-letters",
        [queue("q", redrivePolicy=redrive("d", 2)), queue("d")],
        "maxReceiveCount 2",
    ),
    (
        "sqs-fifo-dlq",
        [queue("q.fifo", fifoQueue=True, redrivePolicy=redrive("d")), queue("d")],
        "must be FIFO",
    ),
    (
        "sqs-visibility",
        [
            queue("q", visibilityTimeoutSeconds=60, redrivePolicy=redrive("d")),
            queue("d"),
            fn(timeout=60),
            rules.Resource(
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "m",
                {
                    "eventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                    "functionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
                },
            ),
        ],
        "below 6 x",
    ),
    (
        "sns-cmk",
        [rules.Resource("aws:sns/topic:Topic", "t", {"kmsMasterKeyId": "alias/aws/sns"})],
        "customer-managed",
    ),
    ("lambda-runtime", [fn(runtime="python3.8"), log_group()], "not a supported"),
    ("lambda-sizing", [fn(memorySize=None), log_group()], "memorySize is not set"),
    (
        "lambda-tracing",
        [fn(tracingConfig={"mode": "PassThrough"}), log_group()],
        "tracing is not active",
    ),
    ("lambda-logs", [fn()], "no log group"),
    ("lambda-logs", [fn(), log_group(retentionInDays=None)], "keeps logs forever"),
    (
        "lambda-async-failures",
        [
            fn(),
            log_group(),
            rules.Resource(
                "aws:cloudwatch/eventTarget:EventTarget",
                "t",
                {
                    "arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "retryPolicy": {},
                    "deadLetterConfig": {"arn": "x"},
                },
            ),
        ],
        "no on-failure destination",
    ),
    (
        "events-target",
        [rules.Resource("aws:cloudwatch/eventTarget:EventTarget", "t", {"arn": "a"})],
        "no explicit retry policy",
    ),
    (
        "events-target",
        [
            queue("d.fifo", fifoQueue=True),
            rules.Resource(
                "aws:cloudwatch/eventTarget:EventTarget",
                "t",
                {
                    "arn": "a",
                    "retryPolicy": {"maximumRetryAttempts": 3},
                    "deadLetterConfig": {"arn": "arn:aws:sqs:us-east-1:123456789012:d.fifo"},
                },
            ),
        ],
        "must be standard",
    ),
    (
        "scheduler",
        [
            rules.Resource(
                "aws:scheduler/schedule:Schedule", "s", {"target": {"arn": "a", "retryPolicy": {}}}
            )
        ],
        "no dead-letter queue",
    ),
    (
        "dynamodb",
        [
            rules.Resource(
                "aws:dynamodb/table:Table", "t", {"serverSideEncryption": {"enabled": True}}
            )
        ],
        "point-in-time recovery is off",
    ),
    (
        "s3-bucket",
        [rules.Resource("aws:s3/bucket:Bucket", "b", {"bucket": "b"})],
        "public-access blocks",
    ),
    (
        "kms-rotation",
        [rules.Resource("aws:kms/key:Key", "k", {"enableKeyRotation": False})],
        "rotation is off",
    ),
    (
        "iam-wildcard-actions",
        [
            rules.Resource(
                "aws:iam/rolePolicy:RolePolicy",
                "p",
                {
                    "policy": doc(
                        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}
                    )
                },
            )
        ],
        "wildcard actions ['s3:*']",
    ),
    (
        "iam-wildcard-actions",
        [
            rules.Resource(
                "aws:iam/rolePolicy:RolePolicy",
                "p",
                {"policy": doc({"Effect": "Allow", "Action": ["*"], "Resource": "*"})},
            )
        ],
        "wildcard actions ['*']",
    ),
    (
        "iam-star-resource",
        [
            rules.Resource(
                "aws:iam/rolePolicy:RolePolicy",
                "p",
                {"policy": doc({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})},
            )
        ],
        "support resource-level permissions",
    ),
    (
        "iam-managed-policies",
        [
            rules.Resource(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "a",
                {"policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"},
            )
        ],
        "AWS-managed broad policy",
    ),
    (
        "iam-managed-policies",
        [
            rules.Resource(
                "aws:iam/role:Role",
                "r",
                {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
            )
        ],
        "AdministratorAccess",
    ),
    (
        "iam-trust-scoped",
        [
            rules.Resource(
                "aws:iam/role:Role",
                "r",
                {
                    "assumeRolePolicy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    )
                },
            )
        ],
        "no aws:SourceAccount",
    ),
    (
        "alarm-actions",
        [rules.Resource("aws:cloudwatch/metricAlarm:MetricAlarm", "a", {"alarmActions": []})],
        "notifies nobody",
    ),
    (
        "sagemaker",
        [
            rules.Resource(
                "aws:sagemaker/pipeline:Pipeline",
                "p",
                {
                    "pipelineDefinition": json.dumps(
                        {
                            "Steps": [
                                {
                                    "Name": "Train",
                                    "Type": "Training",
                                    "Arguments": {"EnableNetworkIsolation": False},
                                }
                            ]
                        }
                    )
                },
            )
        ],
        "is not network-isolated",
    ),
    (
        "sagemaker",
        [rules.Resource("aws-native:sagemaker:ModelBiasJobDefinition", "j", {"networkConfig": {}})],
        "monitoring job is not network-isolated",
    ),
    (
        "sagemaker",
        [rules.Resource("aws:sagemaker/notebookInstance:NotebookInstance", "n", {})],
        "not encrypted",
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "resources", "expected"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_each_rule_fails_on_a_bad_resource(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    rule = next(r for r in rules.RULES if r.id == rule_id)
    violations = rules.evaluate(rules.Stack(resources), [rule], [])
    assert violations, f"{rule_id} passed a bad stack"
    assert any(expected in v.message for v in violations), [v.message for v in violations]


def test_every_rule_has_a_failing_example_and_a_source() -> None:
    assert {r.id for r in rules.RULES} == {b[0] for b in BAD}
    assert all(r.source and r.description for r in rules.RULES)
    assert len({r.id for r in rules.RULES}) == len(rules.RULES)


def test_deny_wildcards_and_key_policies_are_not_violations() -> None:
    deny = rules.Resource(
        "aws:sqs/queuePolicy:QueuePolicy",
        "p",
        {
            "policy": doc(
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "sqs:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            )
        },
    )
    key = rules.Resource(
        "aws:kms/key:Key",
        "k",
        {
            "enableKeyRotation": True,
            "policy": doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": ["kms:Decrypt"],
                    "Resource": "*",
                }
            ),
        },
    )
    xray = rules.Resource(
        "aws:iam/rolePolicy:RolePolicy",
        "x",
        {"policy": doc({"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"})},
    )
    assert rules.evaluate(rules.Stack([deny, key, xray]), suppressions=[]) == []


def test_suppressions_are_explicit_per_resource_with_a_reason(tmp_path: Any) -> None:
    bad = rules.Resource("aws:kms/key:Key", "legacy-key", {"enableKeyRotation": False})
    rule = next(r for r in rules.RULES if r.id == "kms-rotation")
    suppression = rules.Suppression(
        "kms-rotation", "legacy-*", "imported key managed by the security team's rotation runbook"
    )
    assert rules.evaluate(rules.Stack([bad]), [rule], [suppression]) == []
    other = rules.Resource("aws:kms/key:Key", "new-key", {"enableKeyRotation": False})
    assert len(rules.evaluate(rules.Stack([bad, other]), [rule], [suppression])) == 1
    path = tmp_path / "suppressions.json"
    path.write_text(json.dumps([{"rule": "kms-rotation", "resource": "*", "reason": "because"}]))
    with pytest.raises(ValueError, match="needs a real reason"):
        rules.load_suppressions(path)


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


def test_the_pack_reports_through_crossguard() -> None:
    """The pack's own validate functions, called the way the policy engine calls them."""
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    resource = PolicyResource(
        "aws:kms/key:Key", {"enableKeyRotation": False}, "urn:k", "k", options, None, None, [], {}
    )
    reported: list[str] = []
    for policy in pack.policies():
        policy.validate(
            StackValidationArgs([resource]), lambda message, urn=None: reported.append(message)
        )  # type: ignore[misc]
    assert reported == ["k (aws:kms/key:Key): KMS key rotation is off"]
    names = [p.name for p in pack.policies()]
    assert names == [f"trainops-{r.id}" for r in rules.RULES]


def test_every_rule_examines_resources_of_the_stacks(
    run_stack: Callable[..., offline.Recording],
) -> None:
    """A rule whose type tokens match nothing would pass vacuously."""
    resources = [r for stack in ("dev", "prod") for r in stack_of(run_stack(stack)).resources]
    for rule in rules.RULES:
        examined = [r for r in resources if rule.applies_to(r.type)]
        assert examined, f"{rule.id} examines no resource of either stack"
