"""AWS service quotas every resource of the stack must fit, checked before AWS sees it.

Mocks and previews accept anything: a role whose inline policies exceed 10,240 characters, an
event pattern beyond 2,048, a name SageMaker truncates at 63 all pass offline and then stop
`pulumi up` half-way. This module measures each registered resource against AWS's published
quota for it (each `Quota` cites its page) and says, per problem, which resource, which quota,
the value, the limit and the fix.

One rule set, three places, same answers (properties as the engine sees them: camelCase keys,
policies and patterns as JSON text):

* the program registers `components/quota_guard.py`'s transform, so `pulumi preview` and
  `pulumi up` refuse a resource before it is created (values not known yet at preview are
  skipped, and checked by `pulumi up` before the resource is created);
* `trainops plan` and the tests run it over the offline recording (`cli/offline.py`), where
  every value is known;
* the policy pack runs it as the `aws-quotas` rule (`rules.py`).

Names are measured as AWS will see them: an explicit name, or Pulumi's auto-name
`<logical name>-<7 random characters>` when none is set.

This module needs only the standard library: the policy pack imports it in its own virtualenv.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Pulumi's default auto-name: the logical name, "-" and 7 random characters.
AUTONAME_SUFFIX = 8

IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
EVENTBRIDGE_QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
INPUT_TRANSFORMER = (
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html"
)
EVENTBRIDGE_TARGET = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html"
PUT_RULE = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html"
SCHEDULER_TARGET = "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Target.html"
CREATE_SCHEDULE = (
    "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html"
)
SQS_POLICY_QUOTAS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html"
SQS_CREATE_QUEUE = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
)
SNS_POLICY = (
    "https://docs.aws.amazon.com/sns/latest/dg/"
    "sns-access-policy-language-api-permissions-reference.html"
)
S3_POLICY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html"
KMS_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html"
SAGEMAKER_API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/"
CLOUDWATCH_ALARM = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"
)
METRIC_DATA_QUERY = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html"
)
LOG_GROUP = (
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
)
DASHBOARD_BODY = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
    "CloudWatch-Dashboard-Body-Structure.html"
)
CLOUDWATCH_LIMITS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html"
)
SSM_QUOTAS = "https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm"

SHORTER_NAME = "use a shorter stack, model or component name"
SCOPE_INSTEAD_OF_LISTING = (
    "scope statements by name prefix or tag instead of listing resources, or split the grant"
)


@dataclass(frozen=True)
class Quota:
    """One AWS limit: what it bounds, the limit, its unit, the usual fix and where AWS says so."""

    id: str
    what: str
    limit: int
    unit: str
    fix: str
    source: str

    @property
    def kind(self) -> str:
        """`name`, `count` (alarms, widgets, tasks, windows) or `document` (a size in
        characters or bytes: policies, patterns, environments, templates, queries)."""
        if self.id.endswith("-name"):
            return "name"
        if self.unit.startswith(("characters", "bytes")):
            return "document"
        return "count"


def _quotas(*quotas: Quota) -> dict[str, Quota]:
    return {quota.id: quota for quota in quotas}


QUOTAS: dict[str, Quota] = _quotas(
    # ---- IAM
    Quota(
        "iam-role-inline-policies",
        "all inline policies of one IAM role together",
        10_240,
        "characters (whitespace not counted)",
        SCOPE_INSTEAD_OF_LISTING + " (one role per model keeps per-model grants apart)",
        IAM_QUOTAS,
    ),
    Quota(
        "iam-managed-policy",
        "an IAM managed policy",
        6_144,
        "characters (whitespace not counted)",
        SCOPE_INSTEAD_OF_LISTING,
        IAM_QUOTAS,
    ),
    Quota(
        "iam-trust-policy",
        "an IAM role's trust policy",
        2_048,
        "characters (whitespace not counted)",
        "trust fewer principals, or raise the quota (up to 4,096) in Service Quotas",
        IAM_QUOTAS,
    ),
    Quota("iam-role-name", "an IAM role name", 64, "characters", SHORTER_NAME, IAM_QUOTAS),
    Quota(
        "iam-roles",
        "the IAM roles of an account",
        1_000,
        "roles",
        "raise the quota in Service Quotas (up to 5,000), or split the models over accounts",
        IAM_QUOTAS,
    ),
    # ---- Lambda
    Quota(
        "lambda-environment",
        "all environment variables of a Lambda function",
        4_096,
        "bytes",
        "move data out of the environment (a file in the code archive, a parameter, a table)",
        LAMBDA_QUOTAS,
    ),
    Quota(
        "lambda-function-name",
        "a Lambda function name",
        64,
        "characters",
        SHORTER_NAME,
        "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
    ),
    # ---- EventBridge and Scheduler
    Quota(
        "eventbridge-pattern",
        "an EventBridge event pattern",
        2_048,
        "characters",
        "match with `prefix` instead of listing values (the quota can be raised to 4,096)",
        EVENTBRIDGE_QUOTAS,
    ),
    Quota(
        "eventbridge-input-template",
        "an EventBridge input transformer template",
        8_192,
        "characters",
        "shorten the message template",
        INPUT_TRANSFORMER,
    ),
    Quota(
        "eventbridge-target-input",
        "an EventBridge target's constant input",
        8_192,
        "characters",
        "send less constant input; let the target look the rest up",
        EVENTBRIDGE_TARGET,
    ),
    Quota(
        "eventbridge-rule-name",
        "an EventBridge rule name",
        64,
        "characters",
        SHORTER_NAME,
        PUT_RULE,
    ),
    Quota(
        "scheduler-target-input",
        "an EventBridge Scheduler target's input",
        262_144,
        "bytes",
        "send less input; let the target look the rest up",
        SCHEDULER_TARGET,
    ),
    Quota(
        "scheduler-name",
        "an EventBridge Scheduler schedule or group name",
        64,
        "characters",
        SHORTER_NAME,
        CREATE_SCHEDULE,
    ),
    # ---- resource policies
    Quota(
        "sqs-queue-policy",
        "an SQS queue policy",
        8_192,
        "bytes",
        "allow fewer senders per queue",
        SQS_POLICY_QUOTAS,
    ),
    Quota(
        "sns-topic-policy",
        "an SNS topic policy",
        30_720,
        "bytes",
        "allow fewer publishers per topic",
        SNS_POLICY,
    ),
    Quota(
        "s3-bucket-policy",
        "an S3 bucket policy",
        20_480,
        "bytes",
        "grant through IAM policies instead of the bucket policy",
        S3_POLICY,
    ),
    Quota(
        "kms-key-policy",
        "a KMS key policy",
        32_768,
        "bytes",
        "delegate to IAM (the account root) instead of naming principals in the key policy",
        KMS_POLICY,
    ),
    # ---- names
    Quota("sqs-queue-name", "an SQS queue name", 80, "characters", SHORTER_NAME, SQS_CREATE_QUEUE),
    Quota(
        "sagemaker-name",
        "a SageMaker model, endpoint, endpoint config, package group or monitoring name",
        63,
        "characters",
        SHORTER_NAME,
        SAGEMAKER_API,
    ),
    Quota(
        "sagemaker-pipeline-name",
        "a SageMaker pipeline name",
        256,
        "characters",
        SHORTER_NAME,
        SAGEMAKER_API + "API_CreatePipeline.html",
    ),
    Quota(
        "cloudwatch-alarm-name",
        "a CloudWatch alarm name",
        255,
        "characters",
        SHORTER_NAME,
        CLOUDWATCH_ALARM,
    ),
    Quota(
        "log-group-name", "a CloudWatch Logs group name", 512, "characters", SHORTER_NAME, LOG_GROUP
    ),
    # ---- CloudWatch
    Quota(
        "composite-alarm-rule",
        "a composite alarm rule",
        10_240,
        "characters",
        "group the alarms into nested composite alarms",
        CLOUDWATCH_ALARM,
    ),
    Quota(
        "composite-alarm-members",
        "the alarms one composite alarm rule references",
        100,
        "alarms",
        "group the alarms into nested composite alarms",
        CLOUDWATCH_ALARM,
    ),
    Quota(
        "metrics-insights-query",
        "a Metrics Insights query (MetricDataQuery expression)",
        2_048,
        "characters",
        "shorten the query",
        METRIC_DATA_QUERY,
    ),
    Quota(
        "dashboard-widgets",
        "the widgets of one CloudWatch dashboard",
        500,
        "widgets",
        "show aggregates and searches instead of one widget per resource",
        DASHBOARD_BODY,
    ),
    Quota(
        "dashboard-widget-metrics",
        "the metrics of one dashboard graph",
        500,
        "metrics",
        "use a search expression or a Metrics Insights query instead of listing metrics",
        CLOUDWATCH_LIMITS,
    ),
    Quota(
        "dashboard-widget-alarms",
        "the alarms of one dashboard alarm-status widget",
        100,
        "alarms",
        "split the alarms over several widgets, or show fewer",
        DASHBOARD_BODY,
    ),
    # ---- Systems Manager
    Quota(
        "ssm-window-tasks",
        "the tasks of one maintenance window",
        20,
        "tasks",
        "spread the tasks over more windows",
        SSM_QUOTAS,
    ),
    Quota(
        "ssm-windows",
        "the maintenance windows of an account and region",
        50,
        "windows",
        "retrain fewer models in maintenance windows (maintenanceWindow.models), or raise the "
        "quota in Service Quotas",
        SSM_QUOTAS,
    ),
)

# Resource type -> (name property, quota).
NAMES: dict[str, tuple[str, str]] = {
    "aws:iam/role:Role": ("name", "iam-role-name"),
    "aws:lambda/function:Function": ("name", "lambda-function-name"),
    "aws:cloudwatch/eventRule:EventRule": ("name", "eventbridge-rule-name"),
    "aws:scheduler/schedule:Schedule": ("name", "scheduler-name"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": ("name", "scheduler-name"),
    "aws:sqs/queue:Queue": ("name", "sqs-queue-name"),
    "aws:sagemaker/model:Model": ("name", "sagemaker-name"),
    "aws:sagemaker/endpoint:Endpoint": ("name", "sagemaker-name"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("name", "sagemaker-name"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
        "modelPackageGroupName",
        "sagemaker-name",
    ),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName", "sagemaker-pipeline-name"),
    "aws-native:sagemaker:ModelBiasJobDefinition": ("jobDefinitionName", "sagemaker-name"),
    "aws-native:sagemaker:MonitoringSchedule": ("monitoringScheduleName", "sagemaker-name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", "cloudwatch-alarm-name"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("alarmName", "cloudwatch-alarm-name"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "log-group-name"),
}

# Resource type -> (JSON text property, quota, how it is measured).
DOCUMENTS: dict[str, tuple[str, str, str]] = {
    "aws:iam/role:Role": ("assumeRolePolicy", "iam-trust-policy", "iam"),
    "aws:iam/policy:Policy": ("policy", "iam-managed-policy", "iam"),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy", "sqs-queue-policy", "bytes"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "sns-topic-policy", "bytes"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "s3-bucket-policy", "bytes"),
    "aws:kms/key:Key": ("policy", "kms-key-policy", "bytes"),
    "aws:cloudwatch/eventRule:EventRule": ("eventPattern", "eventbridge-pattern", "characters"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": (
        "alarmRule",
        "composite-alarm-rule",
        "characters",
    ),
}
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SQS_QUEUE = "aws:sqs/queue:Queue"
WINDOW = "aws:ssm/maintenanceWindow:MaintenanceWindow"
WINDOW_TASK = "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"


@dataclass(frozen=True)
class Measurement:
    """One resource's value against one quota (``subject`` says what exactly was measured)."""

    resource: str
    type: str
    quota: Quota
    value: int
    subject: str = ""

    @property
    def exceeded(self) -> bool:
        return self.value > self.quota.limit

    @property
    def share(self) -> float:
        """The value as a fraction of the quota."""
        return self.value / self.quota.limit

    def problem(self) -> str:
        """The quota, the value, the limit and the fix (without the resource)."""
        quota = self.quota
        subject = f" ({self.subject})" if self.subject else ""
        return (
            f"{quota.what}{subject} is {self.value:,} {quota.unit}; AWS allows "
            f"{quota.limit:,}. Fix: {quota.fix}. [{quota.source}]"
        )

    def message(self) -> str:
        return f"{self.resource} ({self.type}): {self.problem()}"


class QuotaError(ValueError):
    """Resources AWS would refuse; ``problems`` holds one measurement per exceeded quota."""

    def __init__(self, problems: Sequence[Measurement]) -> None:
        self.problems = list(problems)
        super().__init__(
            "AWS would refuse these resources (service quotas):\n  "
            + "\n  ".join(problem.message() for problem in self.problems)
        )


# ---- measuring ---------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _plain(value: Any) -> Any:
    """Engine proxies and other mappings/sequences as plain dicts and lists (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(v) for v in value]
    return value


def iam_size(text: str) -> int:
    """IAM's measure: characters, not counting whitespace."""
    return len(re.sub(r"\s", "", text))


def byte_size(text: str) -> int:
    return len(text.encode("utf-8"))


def _size(text: str, how: str) -> int:
    if how == "iam":
        return iam_size(text)
    if how == "bytes":
        return byte_size(text)
    return len(text)


def aws_name(resource_type: str, logical_name: str, props: Mapping[str, Any]) -> str | None:
    """The name AWS will see: the explicit one, or Pulumi's auto-name (None when unknown)."""
    key, _ = NAMES[resource_type]
    explicit = props.get(key)
    if explicit is not None:
        return _text(explicit)
    name = logical_name + "-" + "x" * (AUTONAME_SUFFIX - 1)
    if resource_type == SQS_QUEUE and props.get("fifoQueue") is True:
        name += ".fifo"  # pulumi-aws adds the suffix FIFO queues must have
    return name


def _nested(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _list(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


# What a resource of one type measures beyond its name and JSON document: (quota, value,
# subject) for each value that is known.
Sizes = list[tuple[str, int, str]]


def _lambda_environment(props: Mapping[str, Any]) -> Sizes:
    variables = _nested(props, "environment", "variables")
    if not isinstance(variables, Mapping):
        return []
    plain = _plain(variables)
    if not all(isinstance(v, str) for v in plain.values()):
        return []
    return [("lambda-environment", byte_size(json.dumps(plain, separators=(",", ":"))), "")]


def _event_target(props: Mapping[str, Any]) -> Sizes:
    sizes: Sizes = []
    template = _text(_nested(props, "inputTransformer", "inputTemplate"))
    if template is not None:
        sizes.append(("eventbridge-input-template", len(template), "inputTemplate"))
    constant = _text(props.get("input"))
    if constant is not None:
        sizes.append(("eventbridge-target-input", len(constant), "input"))
    return sizes


def _schedule(props: Mapping[str, Any]) -> Sizes:
    sizes: Sizes = []
    text = _text(_nested(props, "target", "input"))
    if text is not None:
        sizes.append(("scheduler-target-input", byte_size(text), "target.input"))
    group = _text(props.get("groupName"))
    if group is not None:
        sizes.append(("scheduler-name", len(group), f"group name {group!r}"))
    return sizes


def _metric_alarm(props: Mapping[str, Any]) -> Sizes:
    return [
        ("metrics-insights-query", len(expression), f"query {_nested(query, 'id')}")
        for query in _list(props.get("metricQueries"))
        if (expression := _text(_nested(query, "expression"))) is not None
    ]


def _composite_alarm(props: Mapping[str, Any]) -> Sizes:
    rule = _text(props.get("alarmRule"))
    if rule is None:
        return []
    return [("composite-alarm-members", len(re.findall(r"\bALARM\(", rule)), "alarmRule")]


def _dashboard(props: Mapping[str, Any]) -> Sizes:
    body = _text(props.get("dashboardBody"))
    if body is None:
        return []
    try:
        widgets = _list(json.loads(body).get("widgets"))
    except (json.JSONDecodeError, AttributeError):
        return []
    sizes: Sizes = [("dashboard-widgets", len(widgets), "")]
    for index, widget in enumerate(widgets):
        properties = _nested(widget, "properties") or {}
        title = f"widget {index} {properties.get('title', '')!r}"
        if widget.get("type") == "metric":
            sizes.append(("dashboard-widget-metrics", len(_list(properties.get("metrics"))), title))
        elif widget.get("type") == "alarm":
            sizes.append(("dashboard-widget-alarms", len(_list(properties.get("alarms"))), title))
    return sizes


MEASURES: dict[str, Callable[[Mapping[str, Any]], Sizes]] = {
    "aws:lambda/function:Function": _lambda_environment,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:scheduler/schedule:Schedule": _schedule,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
}


def measure(resource_type: str, name: str, props: Mapping[str, Any]) -> list[Measurement]:
    """What one resource, on its own, measures against each quota that applies to it."""
    sizes: Sizes = []
    if resource_type in NAMES:
        physical = aws_name(resource_type, name, props)
        if physical is not None:
            sizes.append((NAMES[resource_type][1], len(physical), f"name {physical!r}"))
    if resource_type in DOCUMENTS:
        key, quota, how = DOCUMENTS[resource_type]
        text = _text(props.get(key))
        if text is not None:
            sizes.append((quota, _size(text, how), key))
    if resource_type in MEASURES:
        sizes += MEASURES[resource_type](props)
    return [
        Measurement(name, resource_type, QUOTAS[quota], value, subject)
        for quota, value, subject in sizes
    ]


# Quotas that add up across resources: resource type -> (quota, the property that groups them,
# or None for the stack's whole count).
SHARED: dict[str, tuple[str, str | None]] = {
    ROLE_POLICY: ("iam-role-inline-policies", "role"),
    WINDOW_TASK: ("ssm-window-tasks", "windowId"),
    ROLE: ("iam-roles", None),
    WINDOW: ("ssm-windows", None),
}
STACK = "this stack's"


def _share(resource_type: str, props: Mapping[str, Any]) -> tuple[str, int] | None:
    """The group a resource's share counts towards, and its share (None when not known)."""
    _, key = SHARED[resource_type]
    group = STACK if key is None else _text(props.get(key))
    if group is None:
        return None
    if resource_type != ROLE_POLICY:
        return group, 1
    text = _text(props.get("policy"))
    return None if text is None else (group, iam_size(text))


def _subject(resource_type: str, group: str, members: Mapping[str, int]) -> str:
    if resource_type == ROLE_POLICY:
        return f"role {group}: {', '.join(sorted(members))}"
    if resource_type == WINDOW_TASK:
        return f"window {group}"
    return f"{group} {'roles' if resource_type == ROLE else 'windows'}"


@dataclass
class QuotaCheck:
    """Measures resources in the order they are registered, including the quotas that add up
    across resources: the inline policies of one role, the tasks of one maintenance window,
    the stack's roles and windows. `add` returns the problems this resource causes."""

    measurements: list[Measurement] = field(default_factory=list)
    # (resource type, group) -> member -> its share, in registration order
    _groups: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, resource_type: str, name: str, props: Mapping[str, Any]) -> list[Measurement]:
        own = measure(resource_type, name, props)
        self.measurements += own
        problems = [m for m in own if m.exceeded]
        share = _share(resource_type, props) if resource_type in SHARED else None
        if share is not None:
            group, size = share
            members = self._groups.setdefault((resource_type, group), {})
            members[name] = size
            total = self._total(resource_type, group, members)
            if total.exceeded:
                problems.append(total)
        return problems

    @staticmethod
    def _total(resource_type: str, group: str, members: Mapping[str, int]) -> Measurement:
        """A group's total, on its last registered member (the one that took it over)."""
        return Measurement(
            list(members)[-1],
            resource_type,
            QUOTAS[SHARED[resource_type][0]],
            sum(members.values()),
            _subject(resource_type, group, members),
        )

    def aggregates(self) -> list[Measurement]:
        """The quotas that add up across resources, each at its current total."""
        return [
            self._total(resource_type, group, members)
            for (resource_type, group), members in self._groups.items()
        ]

    def all_measurements(self) -> list[Measurement]:
        return [*self.measurements, *self.aggregates()]

    def problems(self) -> list[Measurement]:
        return [m for m in self.all_measurements() if m.exceeded]


def check_all(resources: Iterable[tuple[str, str, Mapping[str, Any]]]) -> QuotaCheck:
    """Every (type, logical name, properties), in registration order."""
    check = QuotaCheck()
    for resource_type, name, props in resources:
        check.add(resource_type, name, props)
    return check
