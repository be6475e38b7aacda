"""trainops guardrails as plain functions: one rule set for the policy pack and for the tests.

Each rule is `check(resource, stack) -> [violation, ...]`: the resource under review (its Pulumi
type token, logical name and properties, camelCase as the engine sees them) and the whole stack
(for rules that need another resource, e.g. a bucket's encryption configuration).
`policy/pack.py` turns every rule into a CrossGuard policy for `pulumi preview --policy-pack
policy`; `tests/test_policy.py` runs the same rules over the mock resource graph of both stacks,
directly and through pulumi-policy's own analyzer, and shows each check failing on a deliberately
bad resource.

Property values may be plain dicts and lists (the tests) or the policy engine's read-only
`Mapping` / `Sequence` proxies, which raise on reading a value that is unknown during preview.
Rules therefore test for `Mapping` and non-string `Sequence`, never for `dict` / `list`, and look
other resources up through `Stack.find`, which tells "no such resource" from "not known yet".

This module only needs the standard library: the pack runs it in its own virtualenv.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # in the project: the module the program, the CLI and the tests use
    from policy import quotas
except ImportError:  # in the policy pack's own virtualenv, with this folder on sys.path
    import quotas  # type: ignore[no-redef]

SUPPORTED_PYTHON_RUNTIMES = frozenset({"python3.12", "python3.13", "python3.14"})
# Actions AWS authorizes only on Resource "*" (no resource type in the Service Authorization
# Reference; tests/test_policy.py checks each against parliament's copy of it).
STAR_ONLY_ACTIONS = frozenset(
    {
        "cloudwatch:PutMetricData",
        "dynamodb:ListStreams",
        "ecr:GetAuthorizationToken",
        "logs:DescribeLogGroups",
        "ssm:CancelCommand",
        "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
        "ssm:DescribeMaintenanceWindowExecutionTasks",
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

Q = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
ENDPOINT_CONFIGURATION = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


# ---- reading properties --------------------------------------------------------------------------


def _is_sequence(value: Any) -> bool:
    """A list-like value: a list, a tuple or the engine's list proxy (never a string)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _as_list(value: Any) -> list[Any]:
    """A property that may hold one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if _is_sequence(value) else [value]


def _dig(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None as soon as a level is missing or not a mapping."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _json(value: Any) -> Any:
    """A JSON-encoded property decoded (None if it is not valid JSON); other values as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _customer_managed_key(key: Any) -> bool:
    """A KMS key reference that is not an AWS-managed key (``alias/aws/<service>``)."""
    return isinstance(key, str) and bool(key) and not re.search(r"(^|:)alias/aws/", key)


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]

    def get(self, *path: str) -> Any:
        return _dig(self.props, *path)


@dataclass
class Stack:
    """Every resource of a stack, with the look-ups rules need.

    ``unknown_errors`` are what reading a value raises when the engine cannot know it yet
    (pulumi-policy's ``UnknownValueError`` in the pack; nothing offline).
    """

    resources: list[Resource]
    unknown_errors: tuple[type[Exception], ...] = ()
    _by_type: dict[str, list[Resource]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    def of_type(self, type_token: str) -> list[Resource]:
        return self._by_type.get(type_token, [])

    def find(
        self, type_tokens: str | Iterable[str], matches: Callable[[Resource], bool]
    ) -> list[Resource]:
        """Resources of the given types that ``matches`` accepts.

        A candidate whose relevant value is unknown is passed over when a known match exists
        (the references rules follow, names and ARNs, are unique). With no known match the
        unknown is raised again: the answer depends on a value preview cannot know.
        """
        tokens = [type_tokens] if isinstance(type_tokens, str) else list(type_tokens)
        found: list[Resource] = []
        unknown: Exception | None = None
        for token in tokens:
            for candidate in self.of_type(token):
                try:
                    if matches(candidate):
                        found.append(candidate)
                except self.unknown_errors as error:
                    unknown = unknown or error
        if not found and unknown is not None:
            raise unknown
        return found

    def known(self, read: Callable[[], Any]) -> Any:
        """``read()``, or None when it reads a value that is not known yet."""
        try:
            return read()
        except self.unknown_errors:
            return None

    def referencing(self, type_token: str, prop: str, value: Any) -> list[Resource]:
        """Resources of ``type_token`` whose ``prop`` equals ``value``."""
        if not isinstance(value, str) or not value:
            return []
        return self.find(type_token, lambda r: r.props.get(prop) == value)


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
    document = _json(document)
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement")
    return [s for s in _as_list(statements) if isinstance(s, Mapping)]


def _policy_documents(resource: Resource) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    """Every IAM-style document of the resource: policy, trust policy, a role's inline policies."""
    for prop in POLICY_PROPERTIES:
        value = resource.props.get(prop)
        if isinstance(value, Mapping) or (isinstance(value, str) and value.strip().startswith("{")):
            yield prop, _statements(value)
    for index, inline in enumerate(_as_list(resource.props.get("inlinePolicies"))):
        document = _dig(inline, "policy")
        if document:
            yield f"inlinePolicies[{index}]", _statements(document)


def _queue_by_arn(stack: Stack, arn: Any) -> Resource | None:
    if not isinstance(arn, str) or not arn:
        return None
    return next(iter(stack.referencing(Q, "arn", arn)), None)


# ---- SQS ---------------------------------------------------------------------------------------


def sqs_kms(resource: Resource, _: Stack) -> list[str]:
    key = resource.props.get("kmsMasterKeyId")
    if not key:
        return ["SQS queue is not encrypted with a KMS key (set kmsMasterKeyId to the stack key)"]
    if not _customer_managed_key(key):
        return [f"SQS queue uses the AWS-managed key {key}, not the stack's customer-managed key"]
    return []


DEAD_LETTER_SOURCES = (Q, EVENT_TARGET, SCHEDULE, INVOKE_CONFIG, EVENT_SOURCE_MAPPING)


def _dead_letter_target(source: Resource) -> Any:
    """The ARN ``source`` sends its failures to (None if it sends them nowhere)."""
    if source.type == Q:
        return _dig(_json(source.props.get("redrivePolicy")), "deadLetterTargetArn")
    if source.type == EVENT_TARGET:
        return source.get("deadLetterConfig", "arn")
    if source.type == SCHEDULE:
        return source.get("target", "deadLetterConfig", "arn")
    if source.type == INVOKE_CONFIG:
        return source.get("destinationConfig", "onFailure", "destination")
    if source.type == EVENT_SOURCE_MAPPING:
        return source.get("destinationConfig", "onFailure", "destinationArn")
    return None


def sqs_dead_letters(resource: Resource, stack: Stack) -> list[str]:
    redrive = resource.props.get("redrivePolicy")
    if isinstance(redrive, str) and redrive:
        parsed = _json(redrive)
        try:
            count = int(parsed.get("maxReceiveCount", 0)) if isinstance(parsed, Mapping) else -1
        except (TypeError, ValueError):
            count = -1
        if count < 0 or not _dig(parsed, "deadLetterTargetArn"):
            return ["SQS redrive policy is not valid JSON with a deadLetterTargetArn and a count"]
        if count < 5:
            return [
                f"maxReceiveCount {count} sends messages to the DLQ on transient errors; use >= 5"
            ]
        return []
    arn = resource.props.get("arn")
    if (
        isinstance(arn, str)
        and arn
        and stack.find(DEAD_LETTER_SOURCES, lambda source: _dead_letter_target(source) == arn)
    ):
        return []
    return ["SQS queue has no dead-letter queue and is not one"]


def sqs_fifo_dlq(resource: Resource, stack: Stack) -> list[str]:
    redrive = resource.props.get("redrivePolicy")
    if not resource.props.get("fifoQueue") or not isinstance(redrive, str):
        return []
    target = _queue_by_arn(stack, _dig(_json(redrive), "deadLetterTargetArn"))
    if target is not None and not target.props.get("fifoQueue"):
        return ["a FIFO queue's dead-letter queue must be FIFO too"]
    return []


def sqs_visibility(resource: Resource, stack: Stack) -> list[str]:
    """For an SQS event source mapping: queue visibility >= 6 x the consumer's timeout."""
    queue = _queue_by_arn(stack, resource.props.get("eventSourceArn"))
    function_ref = resource.props.get("functionName")
    if queue is None or not isinstance(function_ref, str) or not function_ref:
        return []
    problems = []
    for function in stack.find(
        FUNCTION,
        lambda f: f.props.get("name") == function_ref or f.props.get("arn") == function_ref,
    ):
        timeout = int(function.props.get("timeout") or 3)
        visibility = int(queue.props.get("visibilityTimeoutSeconds") or 30)
        if visibility < 6 * timeout:
            problems.append(
                f"queue visibility {visibility}s is below 6 x the consumer timeout ({timeout}s)"
            )
    return problems


# ---- SNS ---------------------------------------------------------------------------------------


def sns_cmk(resource: Resource, _: Stack) -> list[str]:
    if not _customer_managed_key(resource.props.get("kmsMasterKeyId")):
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


def lambda_concurrency(resource: Resource, _: Stack) -> list[str]:
    """A function without reserved concurrency may take the account's whole shared pool when
    events flood in (and run up cost); 0 would throttle every invocation. The provider
    reports -1 when none is reserved."""
    reserved = resource.props.get("reservedConcurrentExecutions")
    if isinstance(reserved, bool) or not isinstance(reserved, int | float) or reserved < 1:
        return [
            f"reserved concurrency is {reserved!r}: reserve at least 1 so that a flood of "
            "events cannot take the account's shared concurrency"
        ]
    return []


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
    if not _customer_managed_key(group.props.get("kmsKeyId")):
        problems.append(f"log group {group_name} is not encrypted with the stack key")
    return problems


def _invoked_arn(invoker: Resource) -> Any:
    if invoker.type == SCHEDULE:
        return invoker.get("target", "arn")
    return invoker.props.get("arn")


def lambda_async_failures(resource: Resource, stack: Stack) -> list[str]:
    """Functions invoked asynchronously (rule or schedule targets) need a failure destination."""
    arn = resource.props.get("arn")
    if not isinstance(arn, str) or not arn:
        return []
    if not stack.find((EVENT_TARGET, SCHEDULE), lambda invoker: _invoked_arn(invoker) == arn):
        return []
    refs = {ref for ref in (arn, resource.props.get("name")) if isinstance(ref, str) and ref}
    if stack.find(
        INVOKE_CONFIG,
        lambda config: (
            config.props.get("functionName") in refs
            and bool(config.get("destinationConfig", "onFailure", "destination"))
        ),
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
    if not _customer_managed_key(resource.props.get("kmsKeyArn")):
        problems.append("schedule is not encrypted with the stack key")
    return problems


# ---- DynamoDB, KMS -----------------------------------------------------------------------------


def dynamodb_table(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if resource.get("pointInTimeRecovery", "enabled") is not True:
        problems.append("point-in-time recovery is off")
    if resource.get("serverSideEncryption", "enabled") is not True or not _customer_managed_key(
        resource.get("serverSideEncryption", "kmsKeyArn")
    ):
        problems.append("table is not encrypted with a customer-managed KMS key")
    if resource.props.get("deletionProtectionEnabled") is not True:
        problems.append("deletion protection is off")
    return problems


def kms_rotation(resource: Resource, _: Stack) -> list[str]:
    if resource.props.get("enableKeyRotation") is not True:
        return ["KMS key rotation is off"]
    return []


# ---- S3 ----------------------------------------------------------------------------------------

PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
# S3 server access log delivery writes only into SSE-S3 buckets (AWS S3 user guide).
ACCESS_LOG_TARGET_ALGORITHMS = ("AES256",)
CLOUDTRAIL_TAG = ("trainops:access-logs", "cloudtrail-data-events")


def _bucket_refs(resource: Resource, stack: Stack) -> set[str]:
    """How companion resources name a bucket: its name (= its id; the id may be unknown)."""
    return {
        ref
        for ref in (resource.props.get("bucket"), stack.known(lambda: resource.props.get("id")))
        if isinstance(ref, str) and ref
    }


def _log_target(refs: set[str], stack: Stack) -> bool:
    """Whether the bucket receives other buckets' server access logs."""
    return bool(refs) and bool(
        stack.find(BUCKET_LOGGING, lambda r: r.props.get("targetBucket") in refs)
    )


def s3_bucket(resource: Resource, stack: Stack) -> list[str]:
    refs = _bucket_refs(resource, stack)

    def companions(type_token: str) -> list[Resource]:
        return stack.find(type_token, lambda r: r.props.get("bucket") in refs) if refs else []

    problems = []
    if not any(
        all(block.props.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS)
        for block in companions(PUBLIC_ACCESS_BLOCK)
    ):
        problems.append("bucket lacks all four public-access blocks")
    if not any(
        v.get("versioningConfiguration", "status") == "Enabled"
        for v in companions(BUCKET_VERSIONING)
    ):
        problems.append("bucket versioning is not enabled")
    allowed = KMS_ALGORITHMS
    if _log_target(refs, stack):
        allowed = KMS_ALGORITHMS + ACCESS_LOG_TARGET_ALGORITHMS
    if not any(
        _dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") in allowed
        for encryption in companions(BUCKET_ENCRYPTION)
        for rule in _as_list(encryption.props.get("rules"))
    ):
        problems.append(
            "bucket default encryption is not SSE-KMS"
            + (" or SSE-S3 (an access-log target)" if allowed != KMS_ALGORITHMS else "")
        )
    if not any(
        s.get("Effect") == "Deny"
        and _dig(s, "Condition", "Bool", "aws:SecureTransport") in ("false", False)
        for policy in companions(BUCKET_POLICY)
        for s in _statements(policy.props.get("policy"))
    ):
        problems.append("bucket policy does not deny requests without TLS")
    return problems


def s3_access_logs(resource: Resource, stack: Stack) -> list[str]:
    """Every request to a bucket leaves a trail: server access logs to a log bucket, or the
    documented CloudTrail data-events alternative (tagged). A log bucket does not log itself."""
    refs = _bucket_refs(resource, stack)
    if refs and stack.find(BUCKET_LOGGING, lambda r: r.props.get("bucket") in refs):
        return []
    if _log_target(refs, stack):
        return []
    if resource.get("tags", CLOUDTRAIL_TAG[0]) == CLOUDTRAIL_TAG[1]:
        return []
    return [
        "bucket has no server access logging (aws.s3.BucketLogging) and is not marked as "
        f"recorded by CloudTrail data events (tag {CLOUDTRAIL_TAG[0]}={CLOUDTRAIL_TAG[1]})"
    ]


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
            broad = sorted(
                {a for a in _as_list(statement.get("Action")) if isinstance(a, str)}
                - STAR_ONLY_ACTIONS
            )
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


SCOPING_CONDITION_KEYS = frozenset({"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"})


def iam_trust_scoped(resource: Resource, _: Stack) -> list[str]:
    problems = []
    for statement in _statements(resource.props.get("assumeRolePolicy")):
        principal = statement.get("Principal")
        if (
            statement.get("Effect") != "Allow"
            or not isinstance(principal, Mapping)
            or "Service" not in principal
        ):
            continue
        condition = statement.get("Condition")
        keys = {
            key
            for operator in (condition.values() if isinstance(condition, Mapping) else ())
            if isinstance(operator, Mapping)
            for key in operator
        }
        if not keys & SCOPING_CONDITION_KEYS:
            problems.append(
                f"trust of {principal['Service']} has no aws:SourceAccount/SourceArn condition"
            )
    return problems


# ---- alarms, SageMaker -------------------------------------------------------------------------


def alarm_actions(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if resource.props.get("actionsEnabled") is False:
        problems.append("alarm actions are disabled (actionsEnabled is false)")
    if not _as_list(resource.props.get("alarmActions")):
        problems.append("alarm notifies nobody (no alarmActions)")
    return problems


# SageMaker encrypts local NVMe instance storage with a hardware module and rejects a volume KMS
# key for such instances (SageMaker API reference, ResourceConfig.VolumeKmsKeyId), so "encrypted
# volumes" means a KMS key or a local-storage instance type. Mirrors components/instance_types.py
# (tests/test_policy.py keeps the two in step): the pack cannot import the project.
LOCAL_STORAGE_FAMILIES = frozenset(
    {"dl1", "g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "p6-b200", "trn1", "trn1n", "trn2"}
)
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_local_storage(instance_type: Any) -> bool:
    """Whether an ``ml.<family>.<size>`` instance has (hardware-encrypted) local NVMe storage."""
    parts = instance_type.split(".") if isinstance(instance_type, str) else []
    family = parts[1] if len(parts) == 3 else ""
    return family in LOCAL_STORAGE_FAMILIES or bool(_D_FAMILY.match(family))


def _pipeline_value(definition: Any, value: Any) -> Any:
    """A literal pipeline value, or the default of the parameter ``{"Get": "Parameters.X"}``."""
    reference = _dig(value, "Get")
    if not isinstance(reference, str) or not reference.startswith("Parameters."):
        return None if isinstance(value, Mapping) else value
    name = reference.removeprefix("Parameters.")
    for parameter in _as_list(_dig(definition, "Parameters")):
        if _dig(parameter, "Name") == name:
            return _dig(parameter, "DefaultValue")
    return None


def _training_steps(definition: Any) -> list[Mapping[str, Any]]:
    steps = _as_list(_dig(definition, "Steps"))
    return [s for s in steps if isinstance(s, Mapping) and s.get("Type") == "Training"]


def _pipeline_problems(resource: Resource) -> list[str]:
    problems = []
    definition = _json(resource.props.get("pipelineDefinition"))
    for step in _training_steps(definition):
        arguments, name = step.get("Arguments"), step.get("Name")
        if _dig(arguments, "EnableNetworkIsolation") is not True:
            problems.append(f"training step {name} is not network-isolated")
        instance_type = _pipeline_value(
            definition, _dig(arguments, "ResourceConfig", "InstanceType")
        )
        if not _dig(arguments, "ResourceConfig", "VolumeKmsKeyId") and not has_local_storage(
            instance_type
        ):
            problems.append(f"training step {name} does not encrypt its volumes with a KMS key")
        if not _dig(arguments, "OutputDataConfig", "KmsKeyId"):
            problems.append(f"training step {name} does not encrypt its output with a KMS key")
    return problems


def _monitoring_job_problems(resource: Resource) -> list[str]:
    problems = []
    if resource.get("networkConfig", "enableNetworkIsolation") is not True:
        problems.append("monitoring job is not network-isolated")
    cluster = resource.get("jobResources", "clusterConfig")
    if not _dig(cluster, "volumeKmsKeyId") and not has_local_storage(_dig(cluster, "instanceType")):
        problems.append("monitoring job volumes are not encrypted with a KMS key")
    if not resource.get("modelBiasJobOutputConfig", "kmsKeyId"):
        problems.append("monitoring job output is not encrypted with a KMS key")
    return problems


def _endpoint_configuration_problems(resource: Resource) -> list[str]:
    if resource.props.get("kmsKeyArn"):
        return []
    variants = _as_list(resource.props.get("productionVariants"))
    if variants and all(has_local_storage(_dig(v, "instanceType")) for v in variants):
        return []
    return ["endpoint storage is not encrypted with a KMS key"]


def sagemaker_isolation_encryption(resource: Resource, _: Stack) -> list[str]:
    if resource.type == "aws:sagemaker/pipeline:Pipeline":
        return _pipeline_problems(resource)
    if resource.type == "aws-native:sagemaker:ModelBiasJobDefinition":
        return _monitoring_job_problems(resource)
    if resource.type == ENDPOINT_CONFIGURATION:
        return _endpoint_configuration_problems(resource)
    if (
        resource.type == "aws:sagemaker/model:Model"
        and resource.props.get("enableNetworkIsolation") is not True
    ):
        return ["model container is not network-isolated"]
    if resource.type == NOTEBOOK and not resource.props.get("kmsKeyId"):
        return ["notebook storage is not encrypted with a KMS key"]
    return []


# ---- AWS quotas (policy/quotas.py) -------------------------------------------------------------


def _same(key: str, value: Any) -> Callable[[Resource], bool]:
    return lambda other: other.props.get(key) == value


def _sharing(resource: Resource, stack: Stack) -> list[Resource]:
    """The resources whose quota adds up with this one's: the inline policies of its role, the
    tasks of its window, the stack's windows and roles (empty when it shares none)."""
    shared_by = {quotas.ROLE_POLICY: "role", quotas.WINDOW_TASK: "windowId"}
    if resource.type in (quotas.WINDOW, quotas.ROLE):
        return stack.of_type(resource.type)
    key = shared_by.get(resource.type)
    if key is None:
        return []
    value = resource.props.get(key)
    if not isinstance(value, str):
        return []
    return stack.find(resource.type, _same(key, value))


def aws_quotas(resource: Resource, stack: Stack) -> list[str]:
    """Each quota the resource exceeds on its own, and the quotas that add up across resources
    (a role's inline policies, a window's tasks, the stack's windows and roles), reported once:
    on the last resource that contributes."""
    found = quotas.measure(resource.type, resource.name, resource.props)
    sharing = _sharing(resource, stack)
    if sharing and sharing[-1].name == resource.name:
        found += quotas.check_all((r.type, r.name, r.props) for r in sharing).aggregates()
    return [measurement.problem() for measurement in found if measurement.exceeded]


# ---- the rule set ------------------------------------------------------------------------------
# Sources name the check the rule implements; "related:" marks a check that guards a neighbouring
# property (the closest published check), not this exact one.

RULES: tuple[Rule, ...] = (
    Rule(
        "sqs-kms",
        "checkov CKV_AWS_27 (stricter: the key must be customer-managed)",
        "SQS queues are encrypted with a customer-managed KMS key",
        (Q,),
        sqs_kms,
    ),
    Rule(
        "sqs-dead-letters",
        "cdk-nag AwsSolutions-SQS3",
        "Every queue has a DLQ (maxReceiveCount >= 5) or is one",
        (Q,),
        sqs_dead_letters,
    ),
    Rule(
        "sqs-fifo-dlq",
        "AWS SQS developer guide (FIFO DLQs)",
        "A FIFO queue's DLQ is FIFO",
        (Q,),
        sqs_fifo_dlq,
    ),
    Rule(
        "sqs-visibility",
        "AWS Lambda developer guide (SQS event sources)",
        "Queue visibility >= 6 x consumer timeout",
        (EVENT_SOURCE_MAPPING,),
        sqs_visibility,
    ),
    Rule(
        "sns-cmk",
        "checkov CKV_AWS_26 (stricter: the key must be customer-managed)",
        "SNS topics use a customer-managed KMS key",
        ("aws:sns/topic:Topic",),
        sns_cmk,
    ),
    Rule(
        "lambda-runtime",
        "cdk-nag AwsSolutions-L1; checkov CKV_AWS_363",
        "Lambda runs a supported Python runtime",
        (FUNCTION,),
        lambda_runtime,
    ),
    Rule(
        "lambda-sizing",
        "AWS Well-Architected (explicit limits)",
        "Lambda memory and timeout are explicit",
        (FUNCTION,),
        lambda_sizing,
    ),
    Rule(
        "lambda-concurrency",
        "checkov CKV_AWS_115",
        "Lambda functions reserve (and so cap) their concurrency",
        (FUNCTION,),
        lambda_concurrency,
    ),
    Rule(
        "lambda-tracing",
        "checkov CKV_AWS_50",
        "Lambda X-Ray tracing is active",
        (FUNCTION,),
        lambda_tracing,
    ),
    Rule(
        "lambda-logs",
        "checkov CKV_AWS_66 / CKV_AWS_158",
        "Lambda logs to a managed log group with retention and KMS",
        (FUNCTION,),
        lambda_logs,
    ),
    Rule(
        "lambda-async-failures",
        "AWS Lambda developer guide (asynchronous invocation destinations); "
        "related: checkov CKV_AWS_116 (Lambda DLQ)",
        "Asynchronously invoked Lambdas have a failure destination",
        (FUNCTION,),
        lambda_async_failures,
    ),
    Rule(
        "events-target",
        "AWS EventBridge user guide (retry policy, DLQ)",
        "EventBridge targets have a retry policy and a standard-queue DLQ",
        (EVENT_TARGET,),
        events_target,
    ),
    Rule(
        "scheduler",
        "AWS EventBridge Scheduler user guide",
        "Schedules have a retry policy, a DLQ and the stack key",
        (SCHEDULE,),
        scheduler_schedule,
    ),
    Rule(
        "dynamodb",
        "checkov CKV_AWS_28 / CKV_AWS_119; AWS Security Hub DynamoDB.6",
        "DynamoDB tables have PITR, a CMK and deletion protection",
        ("aws:dynamodb/table:Table",),
        dynamodb_table,
    ),
    Rule(
        "s3-bucket",
        "checkov CKV_AWS_53 / CKV_AWS_54 / CKV_AWS_55 / CKV_AWS_56, CKV_AWS_21, CKV_AWS_145; "
        "cdk-nag AwsSolutions-S10",
        "Buckets block public access, are versioned, SSE-KMS (SSE-S3 for an access-log "
        "target) and TLS-only",
        ("aws:s3/bucket:Bucket",),
        s3_bucket,
    ),
    Rule(
        "s3-access-logs",
        "checkov CKV_AWS_18",
        "Buckets log every request (server access logs, or CloudTrail data events)",
        ("aws:s3/bucket:Bucket",),
        s3_access_logs,
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
        "checkov CKV_AWS_319 (actions enabled); AWS Config cloudwatch-alarm-action-check",
        "Every alarm has actions, and they are enabled",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"),
        alarm_actions,
    ),
    Rule(
        "sagemaker",
        "checkov CKV_AWS_22 / CKV_AWS_98 / CKV_AWS_370; "
        "related: checkov CKV_AWS_367 / CKV_AWS_368 (data-quality monitoring jobs)",
        "SageMaker training, monitoring, models and notebooks are encrypted and network-isolated",
        (
            "aws:sagemaker/pipeline:Pipeline",
            "aws-native:sagemaker:ModelBiasJobDefinition",
            "aws:sagemaker/model:Model",
            NOTEBOOK,
            ENDPOINT_CONFIGURATION,
        ),
        sagemaker_isolation_encryption,
    ),
    Rule(
        "aws-quotas",
        "AWS service quotas and API limits (each cited in policy/quotas.py)",
        "Every resource fits AWS's quotas: policy sizes, environments, patterns, names",
        ("*",),
        aws_quotas,
    ),
)


# ---- suppressions ------------------------------------------------------------------------------

SUPPRESSIONS_FILE = Path(__file__).with_name("suppressions.json")
GLOB_CHARACTERS = frozenset("*?[]!")


@dataclass(frozen=True)
class Suppression:
    rule: str
    resource: str  # one logical name, or "<prefix>-*" for the resources of one component
    reason: str


def _pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` does not name one resource (or one component's resources), if it doesn't."""
    literal, star, rest = pattern.partition("*")
    if not literal or not literal[0].isalnum():
        return "must start with a resource's logical name"
    if rest or any(c in GLOB_CHARACTERS for c in literal):
        return "may only end in a single '*', after a literal name prefix"
    if star and (len(literal) < 3 or literal[-1] not in "-_./:"):
        return "may only put '*' after a whole name segment of 3+ characters, e.g. 'legacy-*'"
    return None


def validate_suppression(suppression: Suppression) -> None:
    """Suppressions are explicit (a known rule), per resource (no catch-all) and give a reason."""
    where = f"suppression of {suppression.rule} for {suppression.resource!r}"
    if suppression.rule not in {rule.id for rule in RULES}:
        raise ValueError(f"{where} names no rule of the pack")
    problem = _pattern_problem(suppression.resource)
    if problem:
        raise ValueError(f"{where} is not per resource: the pattern {problem}")
    if len(suppression.reason.strip()) < 20:
        raise ValueError(f"{where} needs a real reason")


def load_suppressions(path: Path = SUPPRESSIONS_FILE) -> list[Suppression]:
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    suppressions = [Suppression(**entry) for entry in entries]
    for suppression in suppressions:
        validate_suppression(suppression)
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


def in_scope(rule: Rule, resource: Resource, suppressions: Iterable[Suppression]) -> bool:
    """Whether ``rule`` examines ``resource``: its type, and not suppressed for it."""
    return rule.applies_to(resource.type) and suppressed(rule, resource, suppressions) is None


def check(rule: Rule, resource: Resource, stack: Stack) -> list[Violation]:
    """One rule on one resource (raises what reading an unknown value raises)."""
    return [
        Violation(rule.id, resource.name, resource.type, message)
        for message in rule.check(resource, stack)
    ]


def evaluate(
    stack: Stack, rules: Iterable[Rule] = RULES, suppressions: Iterable[Suppression] | None = None
) -> list[Violation]:
    """Every unsuppressed violation in the stack."""
    active = list(load_suppressions() if suppressions is None else suppressions)
    return [
        violation
        for rule in rules
        for resource in stack.resources
        if in_scope(rule, resource, active)
        for violation in check(rule, resource, stack)
    ]
