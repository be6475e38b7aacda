"""trainops guardrails as plain functions: one rule set for the policy pack and for the tests.

Each rule is `check(resource, stack) -> [violation, ...]`: the resource under review (its Pulumi
type token, logical name and input properties, camelCase as the engine sees them) and the whole
stack (for rules that need another resource, e.g. a bucket's encryption configuration).
`policy/__main__.py` wraps every rule in a CrossGuard policy for `pulumi preview --policy-pack
policy`; `tests/test_policy.py` runs the same rules over the mock resource graph of both stacks
and shows each one failing on a deliberately bad resource.

This module only needs the standard library: the pack runs it in its own virtualenv.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPPORTED_PYTHON_RUNTIMES = frozenset({"python3.12", "python3.13", "python3.14"})
# Actions AWS authorizes only on Resource "*" (the service has no resource-level permissions).
STAR_ONLY_ACTIONS = frozenset(
    {
        "cloudwatch:PutMetricData",
        "dynamodb:ListStreams",
        "ecr:GetAuthorizationToken",
        "resource-groups:ListGroupResources",
        "ssm:GetCommandInvocation",
        "ssm:ListCommandInvocations",
        "ssm:ListCommands",
        "tag:GetResources",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)
# Documents whose "Resource" means the resource itself (a key policy's "*" is "this key").
SELF_REFERENTIAL_POLICIES = frozenset({"aws:kms/key:Key"})
POLICY_PROPERTIES = ("policy", "assumeRolePolicy")
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "FullAccess", "IAMFullAccess")


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]

    def get(self, *path: str) -> Any:
        value: Any = self.props
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value


@dataclass
class Stack:
    """Every resource of a stack, with the look-ups rules need."""

    resources: list[Resource]
    _by_type: dict[str, list[Resource]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    def of_type(self, type_token: str) -> list[Resource]:
        return self._by_type.get(type_token, [])

    def referencing(self, type_token: str, prop: str, value: Any) -> list[Resource]:
        """Resources of ``type_token`` whose ``prop`` equals ``value`` (unknowns never match)."""
        if not isinstance(value, str) or not value:
            return []
        return [r for r in self.of_type(type_token) if r.props.get(prop) == value]


Check = Callable[[Resource, Stack], list[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    source: str  # where the rule comes from (checkov / cdk-nag id, or the AWS guidance)
    description: str
    types: tuple[str, ...]  # resource types it examines ("*" for every type)
    check: Check

    def applies_to(self, type_token: str) -> bool:
        return "*" in self.types or type_token in self.types


# ---- helpers -----------------------------------------------------------------------------------


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return []
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement", [])
    return [
        s
        for s in ([statements] if isinstance(statements, Mapping) else statements)
        if isinstance(s, Mapping)
    ]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _policy_documents(resource: Resource) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    for prop in POLICY_PROPERTIES:
        value = resource.props.get(prop)
        if isinstance(value, str) and value.strip().startswith("{"):
            yield prop, _statements(value)


def _queue_by_arn(stack: Stack, arn: Any) -> Resource | None:
    if not isinstance(arn, str):
        return None
    for queue in stack.of_type("aws:sqs/queue:Queue"):
        if queue.props.get("arn") == arn:
            return queue
    return None


def _queue_arn(queue: Resource) -> Any:
    return queue.props.get("arn")


# ---- SQS ---------------------------------------------------------------------------------------


def sqs_kms(resource: Resource, _: Stack) -> list[str]:
    if not resource.props.get("kmsMasterKeyId"):
        return ["SQS queue is not encrypted with a KMS key (set kmsMasterKeyId to the stack key)"]
    return []


def _dead_letter_targets(stack: Stack) -> set[str]:
    """ARNs of queues something sends its failures to."""
    arns: set[str] = set()
    for queue in stack.of_type("aws:sqs/queue:Queue"):
        redrive = queue.props.get("redrivePolicy")
        if isinstance(redrive, str):
            with contextlib.suppress(json.JSONDecodeError):
                arns.add(json.loads(redrive).get("deadLetterTargetArn"))
    for target in stack.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        arns.add(target.get("deadLetterConfig", "arn"))
    for schedule in stack.of_type("aws:scheduler/schedule:Schedule"):
        arns.add(schedule.get("target", "deadLetterConfig", "arn"))
    for config in stack.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        arns.add(config.get("destinationConfig", "onFailure", "destination"))
    for mapping in stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        arns.add(mapping.get("destinationConfig", "onFailure", "destinationArn"))
    return {arn for arn in arns if isinstance(arn, str)}


def sqs_dead_letters(resource: Resource, stack: Stack) -> list[str]:
    redrive = resource.props.get("redrivePolicy")
    if isinstance(redrive, str):
        try:
            count = int(json.loads(redrive).get("maxReceiveCount", 0))
        except (json.JSONDecodeError, TypeError, ValueError):
            return ["SQS redrive policy is not valid JSON with a maxReceiveCount"]
        if count < 5:
            return [
                f"maxReceiveCount {count} sends messages to the DLQ on transient errors; use >= 5"
            ]
        return []
    if _queue_arn(resource) in _dead_letter_targets(stack):
        return []
    return ["SQS queue has no dead-letter queue and is not one"]


def sqs_fifo_dlq(resource: Resource, stack: Stack) -> list[str]:
    redrive = resource.props.get("redrivePolicy")
    if not resource.props.get("fifoQueue") or not isinstance(redrive, str):
        return []
    target = _queue_by_arn(stack, json.loads(redrive).get("deadLetterTargetArn"))
    if target is not None and not target.props.get("fifoQueue"):
        return ["a FIFO queue's dead-letter queue must be FIFO too"]
    return []


def sqs_visibility(resource: Resource, stack: Stack) -> list[str]:
    """For an SQS event source mapping: queue visibility >= 6 x the consumer's timeout."""
    queue = _queue_by_arn(stack, resource.props.get("eventSourceArn"))
    if queue is None:
        return []
    function_ref = resource.props.get("functionName")
    for function in stack.of_type("aws:lambda/function:Function"):
        if function_ref in (function.props.get("arn"), function.props.get("name")):
            timeout = int(function.props.get("timeout") or 3)
            visibility = int(queue.props.get("visibilityTimeoutSeconds") or 30)
            if visibility < 6 * timeout:
                return [
                    f"queue visibility {visibility}s is below 6 x the consumer timeout ({timeout}s)"
                ]
    return []


# ---- SNS ---------------------------------------------------------------------------------------


def sns_cmk(resource: Resource, _: Stack) -> list[str]:
    key = resource.props.get("kmsMasterKeyId")
    if not key or key == "alias/aws/sns":
        return ["SNS topic is not encrypted with a customer-managed KMS key"]
    return []


# ---- Lambda ------------------------------------------------------------------------------------


def lambda_runtime(resource: Resource, _: Stack) -> list[str]:
    runtime = resource.props.get("runtime")
    if runtime not in SUPPORTED_PYTHON_RUNTIMES:
        supported = ", ".join(sorted(SUPPORTED_PYTHON_RUNTIMES))
        return [f"runtime {runtime!r} is not a supported Python runtime ({supported})"]
    return []


def lambda_sizing(resource: Resource, _: Stack) -> list[str]:
    missing = [prop for prop in ("memorySize", "timeout") if not resource.props.get(prop)]
    return [f"Lambda {prop} is not set explicitly" for prop in missing]


def lambda_tracing(resource: Resource, _: Stack) -> list[str]:
    if resource.get("tracingConfig", "mode") != "Active":
        return ["X-Ray tracing is not active"]
    return []


def lambda_logs(resource: Resource, stack: Stack) -> list[str]:
    group_name = (
        resource.get("loggingConfig", "logGroup") or f"/aws/lambda/{resource.props.get('name')}"
    )
    groups = stack.referencing("aws:cloudwatch/logGroup:LogGroup", "name", group_name)
    if not groups:
        return [f"no log group {group_name} with retention and KMS is managed for this function"]
    group = groups[0]
    problems = []
    if not group.props.get("retentionInDays"):
        problems.append(f"log group {group_name} keeps logs forever (set retentionInDays)")
    if not group.props.get("kmsKeyId"):
        problems.append(f"log group {group_name} is not encrypted with the stack key")
    return problems


def lambda_async_failures(resource: Resource, stack: Stack) -> list[str]:
    """Functions invoked asynchronously (rule or schedule targets) need a failure destination."""
    arn, name = resource.props.get("arn"), resource.props.get("name")
    invoked_async = any(
        t.props.get("arn") == arn for t in stack.of_type("aws:cloudwatch/eventTarget:EventTarget")
    ) or any(
        s.get("target", "arn") == arn for s in stack.of_type("aws:scheduler/schedule:Schedule")
    )
    if not invoked_async:
        return []
    for config in stack.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        if config.props.get("functionName") in (name, arn) and config.get(
            "destinationConfig", "onFailure", "destination"
        ):
            return []
    return ["asynchronously invoked function has no on-failure destination"]


# ---- EventBridge and Scheduler -------------------------------------------------------------------


def events_target(resource: Resource, stack: Stack) -> list[str]:
    problems = []
    if not resource.props.get("retryPolicy"):
        problems.append("EventBridge target has no explicit retry policy")
    dlq_arn = resource.get("deadLetterConfig", "arn")
    if not dlq_arn:
        problems.append("EventBridge target has no dead-letter queue")
    else:
        queue = _queue_by_arn(stack, dlq_arn)
        if queue is not None and queue.props.get("fifoQueue"):
            problems.append("EventBridge dead-letter queues must be standard (not FIFO) queues")
    return problems


def scheduler_schedule(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if not resource.get("target", "retryPolicy"):
        problems.append("schedule target has no explicit retry policy")
    if not resource.get("target", "deadLetterConfig", "arn"):
        problems.append("schedule target has no dead-letter queue")
    if not resource.props.get("kmsKeyArn"):
        problems.append("schedule is not encrypted with the stack key")
    return problems


# ---- DynamoDB, KMS -----------------------------------------------------------------------------


def dynamodb_table(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if not resource.get("pointInTimeRecovery", "enabled"):
        problems.append("point-in-time recovery is off")
    if not resource.get("serverSideEncryption", "kmsKeyArn"):
        problems.append("table is not encrypted with a customer-managed KMS key")
    if not resource.props.get("deletionProtectionEnabled"):
        problems.append("deletion protection is off")
    return problems


def kms_rotation(resource: Resource, _: Stack) -> list[str]:
    if not resource.props.get("enableKeyRotation"):
        return ["KMS key rotation is off"]
    return []


# ---- S3 ----------------------------------------------------------------------------------------


def _bucket_refs(resource: Resource) -> set[str]:
    return {
        v for v in (resource.props.get("bucket"), resource.props.get("id")) if isinstance(v, str)
    }


def _for_bucket(stack: Stack, type_token: str, bucket: Resource) -> list[Resource]:
    refs = _bucket_refs(bucket)
    return [r for r in stack.of_type(type_token) if r.props.get("bucket") in refs]


def s3_bucket(resource: Resource, stack: Stack) -> list[str]:
    problems = []
    blocks = _for_bucket(stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", resource)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if not blocks or not all(blocks[0].props.get(flag) for flag in flags):
        problems.append("bucket lacks all four public-access blocks")
    versioning = _for_bucket(stack, "aws:s3/bucketVersioning:BucketVersioning", resource)
    if not versioning or versioning[0].get("versioningConfiguration", "status") != "Enabled":
        problems.append("bucket versioning is not enabled")
    encryption = _for_bucket(
        stack,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        resource,
    )
    rules = _as_list(encryption[0].props.get("rules")) if encryption else []
    if not any(
        (r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") == "aws:kms"
        for r in rules
    ):
        problems.append("bucket default encryption is not SSE-KMS")
    policies = _for_bucket(stack, "aws:s3/bucketPolicy:BucketPolicy", resource)
    tls_only = any(
        s.get("Effect") == "Deny"
        and (s.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for policy in policies
        for s in _statements(policy.props.get("policy"))
    )
    if not tls_only:
        problems.append("bucket policy does not deny requests without TLS")
    return problems


# ---- IAM ---------------------------------------------------------------------------------------


def _is_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def iam_no_wildcard_actions(resource: Resource, _: Stack) -> list[str]:
    problems = []
    for prop, statements in _policy_documents(resource):
        for statement in statements:
            if statement.get("Effect") != "Allow":
                continue
            wildcards = [
                a
                for a in _as_list(statement.get("Action"))
                if isinstance(a, str) and _is_wildcard(a)
            ]
            if wildcards:
                problems.append(f"{prop}: Allow with wildcard actions {wildcards}")
    return problems


def iam_star_resource(resource: Resource, _: Stack) -> list[str]:
    if resource.type in SELF_REFERENTIAL_POLICIES:
        return []
    problems = []
    for prop, statements in _policy_documents(resource):
        for statement in statements:
            if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource")):
                continue
            if "Principal" in statement and prop == "assumeRolePolicy":
                continue
            broad = sorted(set(_as_list(statement.get("Action"))) - STAR_ONLY_ACTIONS)
            if broad:
                problems.append(
                    f'{prop}: Resource "*" for {broad}, which support resource-level permissions'
                )
    return problems


def iam_managed_policies(resource: Resource, _: Stack) -> list[str]:
    arns = _as_list(resource.props.get("policyArn")) + _as_list(
        resource.props.get("managedPolicyArns")
    )
    broad = [
        a
        for a in arns
        if isinstance(a, str)
        and ":iam::aws:policy/" in a
        and any(b in a for b in BROAD_MANAGED_POLICIES)
    ]
    return [f"AWS-managed broad policy attached: {arn}" for arn in broad]


def iam_trust_scoped(resource: Resource, _: Stack) -> list[str]:
    problems = []
    for statement in _statements(resource.props.get("assumeRolePolicy")):
        principal = statement.get("Principal") or {}
        if (
            statement.get("Effect") != "Allow"
            or not isinstance(principal, Mapping)
            or "Service" not in principal
        ):
            continue
        condition = statement.get("Condition") or {}
        keys = {
            key
            for operator in condition.values()
            if isinstance(operator, Mapping)
            for key in operator
        }
        if not keys & {"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"}:
            problems.append(
                f"trust of {principal['Service']} has no aws:SourceAccount/SourceArn condition"
            )
    return problems


# ---- alarms, SageMaker -------------------------------------------------------------------------


def alarm_actions(resource: Resource, _: Stack) -> list[str]:
    if not _as_list(resource.props.get("alarmActions")):
        return ["alarm notifies nobody (no alarmActions)"]
    return []


def _training_steps(definition: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except json.JSONDecodeError:
            return []
    steps = definition.get("Steps", []) if isinstance(definition, Mapping) else []
    return [s for s in steps if isinstance(s, Mapping) and s.get("Type") == "Training"]


def _pipeline_problems(resource: Resource) -> list[str]:
    problems = []
    for step in _training_steps(resource.props.get("pipelineDefinition")):
        arguments, name = step.get("Arguments", {}), step.get("Name")
        if arguments.get("EnableNetworkIsolation") is not True:
            problems.append(f"training step {name} is not network-isolated")
        if not (arguments.get("ResourceConfig") or {}).get("VolumeKmsKeyId"):
            problems.append(f"training step {name} does not encrypt its volumes with a KMS key")
        if not (arguments.get("OutputDataConfig") or {}).get("KmsKeyId"):
            problems.append(f"training step {name} does not encrypt its output with a KMS key")
    return problems


def _monitoring_job_problems(resource: Resource) -> list[str]:
    problems = []
    if resource.get("networkConfig", "enableNetworkIsolation") is not True:
        problems.append("monitoring job is not network-isolated")
    if not resource.get("jobResources", "clusterConfig", "volumeKmsKeyId"):
        problems.append("monitoring job volumes are not encrypted with a KMS key")
    if not resource.get("modelBiasJobOutputConfig", "kmsKeyId"):
        problems.append("monitoring job output is not encrypted with a KMS key")
    return problems


def sagemaker_isolation_encryption(resource: Resource, _: Stack) -> list[str]:
    if resource.type == "aws:sagemaker/pipeline:Pipeline":
        return _pipeline_problems(resource)
    if resource.type == "aws-native:sagemaker:ModelBiasJobDefinition":
        return _monitoring_job_problems(resource)
    if (
        resource.type == "aws:sagemaker/model:Model"
        and resource.props.get("enableNetworkIsolation") is not True
    ):
        return ["model container is not network-isolated"]
    encrypted_storage = resource.props.get("kmsKeyId") or resource.props.get("kmsKeyArn")
    if resource.type in ENCRYPTED_STORAGE_TYPES and not encrypted_storage:
        return ["storage is not encrypted with a KMS key"]
    return []


ENCRYPTED_STORAGE_TYPES = (
    "aws:sagemaker/notebookInstance:NotebookInstance",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
)


# ---- the rule set ------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        "sqs-kms",
        "checkov CKV_AWS_27",
        "SQS queues are encrypted with a KMS key",
        ("aws:sqs/queue:Queue",),
        sqs_kms,
    ),
    Rule(
        "sqs-dead-letters",
        "cdk-nag AwsSolutions-SQS3",
        "Every queue has a DLQ (maxReceiveCount >= 5) or is one",
        ("aws:sqs/queue:Queue",),
        sqs_dead_letters,
    ),
    Rule(
        "sqs-fifo-dlq",
        "AWS SQS developer guide (FIFO DLQs)",
        "A FIFO queue's DLQ is FIFO",
        ("aws:sqs/queue:Queue",),
        sqs_fifo_dlq,
    ),
    Rule(
        "sqs-visibility",
        "AWS Lambda developer guide (SQS event sources)",
        "Queue visibility >= 6 x consumer timeout",
        ("aws:lambda/eventSourceMapping:EventSourceMapping",),
        sqs_visibility,
    ),
    Rule(
        "sns-cmk",
        "checkov CKV_AWS_26",
        "SNS topics use a customer-managed KMS key",
        ("aws:sns/topic:Topic",),
        sns_cmk,
    ),
    Rule(
        "lambda-runtime",
        "cdk-nag AwsSolutions-L1",
        "Lambda runs a supported Python runtime",
        ("aws:lambda/function:Function",),
        lambda_runtime,
    ),
    Rule(
        "lambda-sizing",
        "AWS Well-Architected (explicit limits)",
        "Lambda memory and timeout are explicit",
        ("aws:lambda/function:Function",),
        lambda_sizing,
    ),
    Rule(
        "lambda-tracing",
        "checkov CKV_AWS_50",
        "Lambda X-Ray tracing is active",
        ("aws:lambda/function:Function",),
        lambda_tracing,
    ),
    Rule(
        "lambda-logs",
        "checkov CKV_AWS_338 / CKV_AWS_158",
        "Lambda logs to a managed log group with retention and KMS",
        ("aws:lambda/function:Function",),
        lambda_logs,
    ),
    Rule(
        "lambda-async-failures",
        "checkov CKV_AWS_116",
        "Asynchronously invoked Lambdas have a failure destination",
        ("aws:lambda/function:Function",),
        lambda_async_failures,
    ),
    Rule(
        "events-target",
        "AWS EventBridge user guide (retry policy, DLQ)",
        "EventBridge targets have a retry policy and a standard-queue DLQ",
        ("aws:cloudwatch/eventTarget:EventTarget",),
        events_target,
    ),
    Rule(
        "scheduler",
        "AWS EventBridge Scheduler user guide",
        "Schedules have a retry policy, a DLQ and the stack key",
        ("aws:scheduler/schedule:Schedule",),
        scheduler_schedule,
    ),
    Rule(
        "dynamodb",
        "checkov CKV_AWS_28 / CKV_AWS_119",
        "DynamoDB tables have PITR, a CMK and deletion protection",
        ("aws:dynamodb/table:Table",),
        dynamodb_table,
    ),
    Rule(
        "s3-bucket",
        "checkov CKV_AWS_53-56, CKV_AWS_21, CKV_AWS_145; cdk-nag AwsSolutions-S10",
        "Buckets block public access, are versioned, SSE-KMS and TLS-only",
        ("aws:s3/bucket:Bucket",),
        s3_bucket,
    ),
    Rule(
        "kms-rotation", "checkov CKV_AWS_7", "KMS keys rotate", ("aws:kms/key:Key",), kms_rotation
    ),
    Rule(
        "iam-wildcard-actions",
        "cdk-nag AwsSolutions-IAM5",
        "No Allow statement has a wildcard action",
        ("*",),
        iam_no_wildcard_actions,
    ),
    Rule(
        "iam-star-resource",
        "cdk-nag AwsSolutions-IAM5",
        'Resource "*" only for actions that allow nothing else',
        ("*",),
        iam_star_resource,
    ),
    Rule(
        "iam-managed-policies",
        "cdk-nag AwsSolutions-IAM4",
        "No AWS-managed admin or FullAccess policies",
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/role:Role"),
        iam_managed_policies,
    ),
    Rule(
        "iam-trust-scoped",
        "AWS IAM user guide (cross-service confused deputy prevention)",
        "Service trust policies are scoped to this account",
        ("aws:iam/role:Role",),
        iam_trust_scoped,
    ),
    Rule(
        "alarm-actions",
        "checkov CKV_AWS_319",
        "Every alarm has actions",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"),
        alarm_actions,
    ),
    Rule(
        "sagemaker",
        "checkov CKV_AWS_22 / CKV_AWS_370 / CKV_AWS_98",
        "SageMaker training, monitoring, models and notebooks are encrypted and network-isolated",
        (
            "aws:sagemaker/pipeline:Pipeline",
            "aws-native:sagemaker:ModelBiasJobDefinition",
            "aws:sagemaker/model:Model",
            "aws:sagemaker/notebookInstance:NotebookInstance",
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        ),
        sagemaker_isolation_encryption,
    ),
)


# ---- suppressions ------------------------------------------------------------------------------

SUPPRESSIONS_FILE = Path(__file__).with_name("suppressions.json")


@dataclass(frozen=True)
class Suppression:
    rule: str
    resource: str  # a logical-name glob
    reason: str


def load_suppressions(path: Path = SUPPRESSIONS_FILE) -> list[Suppression]:
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    suppressions = [Suppression(**entry) for entry in entries]
    for suppression in suppressions:
        if len(suppression.reason.strip()) < 20:
            raise ValueError(
                f"suppression of {suppression.rule} for {suppression.resource} needs a real reason"
            )
    return suppressions


def suppressed(
    rule: Rule, resource: Resource, suppressions: Iterable[Suppression]
) -> Suppression | None:
    return next(
        (
            s
            for s in suppressions
            if s.rule == rule.id and fnmatch.fnmatchcase(resource.name, s.resource)
        ),
        None,
    )


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    type: str
    message: str


def evaluate(
    stack: Stack, rules: Iterable[Rule] = RULES, suppressions: Iterable[Suppression] | None = None
) -> list[Violation]:
    """Every unsuppressed violation in the stack."""
    active = list(load_suppressions() if suppressions is None else suppressions)
    found = []
    for rule in rules:
        for resource in stack.resources:
            if not rule.applies_to(resource.type) or suppressed(rule, resource, active):
                continue
            found += [
                Violation(rule.id, resource.name, resource.type, m)
                for m in rule.check(resource, stack)
            ]
    return found
