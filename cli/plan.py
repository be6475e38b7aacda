"""What `trainops plan` shows about a recorded (offline) run: groups, key settings, counts,
the idle monthly cost of what has a fixed price, the architecture as Mermaid, and the
difference between two stacks.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from cli import offline

# Top-level component type -> the stack-config feature that toggles it.
FEATURES = {
    "trainops:foundation:Foundation": "foundation",
    "trainops:monitoring:TrainingMonitor": "monitoring",
    "trainops:monitoring:OperationsDashboard": "monitoring",
    "trainops:monitoring:PlatformCriticalAlarm": "monitoring",
    "trainops:pipelines:TrainingPipeline": "models",
    "trainops:retraining:ScheduledRetraining": "scheduledRetraining",
    "trainops:queue:TrainingQueue": "trainingQueue",
    "trainops:ssm:MaintenanceWindowRetraining": "maintenanceWindow",
    "trainops:events:TrainingEventStore": "eventSourcing",
    "trainops:quality:QualityRetraining": "qualityRetraining",
    "trainops:deployment:ApprovalDeployment": "approvalDeployment",
    "trainops:budgets:SpendBudgets": "spendGuardrails",
}

# The settings worth seeing per resource type (property paths into the inputs).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:sqs/queue:Queue": (
        "fifoQueue",
        "visibilityTimeoutSeconds",
        "messageRetentionSeconds",
        "redrivePolicy",
    ),
    "aws:lambda/function:Function": (
        "runtime",
        "memorySize",
        "timeout",
        "reservedConcurrentExecutions",
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        "batchSize",
        "scalingConfig.maximumConcurrency",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "metricName",
        "threshold",
        "period",
        "evaluationPeriods",
    ),
    "aws:cloudwatch/eventRule:EventRule": ("scheduleExpression",),
    "aws:cloudwatch/eventArchive:EventArchive": ("retentionDays",),
    "aws:scheduler/schedule:Schedule": ("scheduleExpression", "scheduleExpressionTimezone"),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName",),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("productionVariants",),
    "aws:sagemaker/notebookInstance:NotebookInstance": ("instanceType", "volumeSize"),
    "aws:ssm/maintenanceWindow:MaintenanceWindow": ("schedule", "duration", "cutoff"),
    "aws:dynamodb/table:Table": ("name", "billingMode"),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("rules",),
}

# ---- prices ------------------------------------------------------------------------------------
PRICE_TABLE = {
    "as_of": "2025-06",
    "region": "us-east-1",
    "source": "AWS list prices (KMS, CloudWatch, SageMaker pricing pages); free tiers ignored",
}
KMS_KEY_MONTHLY = 1.00
METRIC_ALARM_MONTHLY = 0.10  # standard resolution; a Metrics Insights alarm is priced as one
COMPOSITE_ALARM_MONTHLY = 0.50
DASHBOARD_MONTHLY = 3.00
HOURS_PER_MONTH = 730
EBS_GB_MONTHLY = 0.14  # SageMaker ML storage, per GB-month
INSTANCE_HOURLY = {  # SageMaker real-time inference / notebook instances
    "ml.t3.medium": 0.05,
    "ml.t3.large": 0.10,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
    "ml.g5.xlarge": 1.41,
}


def whole(value: Any) -> Any:
    """Config numbers arrive as floats through the engine: show 256, not 256.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole(item) for item in value]
    return value


def _setting(inputs: Mapping[str, Any], path: str) -> Any:
    return whole(_raw_setting(inputs, path))


def _raw_setting(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if path == "redrivePolicy" and isinstance(value, str):
        return f"maxReceiveCount={json.loads(value).get('maxReceiveCount')}"
    if path == "rules" and isinstance(value, list):
        return [
            r.get("noncurrentVersionExpiration", {}).get("noncurrentDays")
            for r in value
            if isinstance(r, Mapping)
        ]
    if path == "productionVariants" and isinstance(value, list):
        return [
            f"{v.get('instanceType')}x{v.get('initialInstanceCount')}"
            for v in value
            if isinstance(v, Mapping)
        ]
    return value


def key_settings(resource: offline.RecordedResource) -> dict[str, Any]:
    return {
        path: value
        for path in KEY_SETTINGS.get(resource.type, ())
        if (value := _setting(resource.inputs, path)) is not None
    }


def groups(recording: offline.Recording) -> dict[str, list[offline.RecordedResource]]:
    """Custom resources grouped by their outermost component ("<type> <name>")."""
    grouped: dict[str, list[offline.RecordedResource]] = defaultdict(list)
    for resource in recording.resources:
        if resource.custom:
            top = recording.top_component(resource)
            grouped[f"{top.type} {top.name}" if top else "(stack)"].append(resource)
    return dict(grouped)


def feature_counts(recording: offline.Recording) -> Counter[str]:
    counts: Counter[str] = Counter()
    for resource in recording.resources:
        if resource.custom:
            top = recording.top_component(resource)
            counts[FEATURES.get(top.type, top.type) if top else "(stack)"] += 1
    return counts


def idle_cost(recording: offline.Recording) -> dict[str, Any]:
    """The monthly cost of what is billed whether or not anything trains."""
    lines: list[dict[str, Any]] = []

    def add(item: str, count: int, unit: float, note: str = "") -> None:
        if count:
            lines.append(
                {
                    "item": item,
                    "count": count,
                    "unit": unit,
                    "monthly": round(count * unit, 2),
                    "note": note,
                }
            )

    custom = [r for r in recording.resources if r.custom]
    types = Counter(r.type for r in custom)
    add("KMS customer-managed keys", types["aws:kms/key:Key"], KMS_KEY_MONTHLY)
    add("CloudWatch alarms", types["aws:cloudwatch/metricAlarm:MetricAlarm"], METRIC_ALARM_MONTHLY)
    add(
        "CloudWatch composite alarms",
        types["aws:cloudwatch/compositeAlarm:CompositeAlarm"],
        COMPOSITE_ALARM_MONTHLY,
    )
    add("CloudWatch dashboards", types["aws:cloudwatch/dashboard:Dashboard"], DASHBOARD_MONTHLY)
    unpriced: list[str] = []
    for config in recording.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        for variant in config.inputs.get("productionVariants", []):
            instance, count = (
                variant.get("instanceType"),
                int(variant.get("initialInstanceCount", 1)),
            )
            if instance in INSTANCE_HOURLY:
                add(
                    f"endpoint instances {instance}",
                    count,
                    round(INSTANCE_HOURLY[instance] * HOURS_PER_MONTH, 2),
                    "always on",
                )
            else:
                unpriced.append(f"endpoint instance {instance}")
    for notebook in recording.of_type("aws:sagemaker/notebookInstance:NotebookInstance"):
        volume = int(notebook.inputs.get("volumeSize", 5))
        add(
            "notebook storage (GB, stopped when idle)",
            volume,
            EBS_GB_MONTHLY,
            "compute only while in use",
        )
    return {
        "prices": PRICE_TABLE,
        "lines": lines,
        "total": round(sum(line["monthly"] for line in lines), 2),
        "unpriced": unpriced,
    }


# ---- the architecture diagram ----------------------------------------------------------------

NODES = {
    "trainops:foundation:Foundation": (
        "foundation",
        "Foundation<br/>KMS key · artifacts bucket",
    ),
    "trainops:pipelines:TrainingPipeline": (
        "pipelines",
        "TrainingPipeline x {count}<br/>SageMaker pipelines · execution roles",
    ),
    "trainops:monitoring:TrainingMonitor": (
        "monitor",
        "TrainingMonitor<br/>alert topics · failure rules · stall detector",
    ),
    "trainops:retraining:ScheduledRetraining": (
        "schedule",
        "ScheduledRetraining<br/>Scheduler → start_retraining λ",
    ),
    "trainops:queue:TrainingQueue": (
        "queue",
        "TrainingQueue<br/>SQS FIFO + DLQ → worker λ · outcome λ · slot ledger",
    ),
    "trainops:ssm:MaintenanceWindowRetraining": (
        "window",
        "MaintenanceWindowRetraining<br/>Run Command on tagged hosts",
    ),
    "trainops:events:TrainingEventStore": (
        "events",
        "TrainingEventStore<br/>bus + archive → recorder λ → store → projector λ",
    ),
    "trainops:quality:QualityRetraining": (
        "quality",
        "QualityRetraining<br/>quality alarms · events → quality_trigger λ · cooldown ledger",
    ),
    "trainops:deployment:ApprovalDeployment": (
        "deployment",
        "ApprovalDeployment<br/>approvals · endpoint states → deploy_approved λ · rollback alarms",
    ),
    "trainops:monitoring:OperationsDashboard": ("dashboard", "OperationsDashboard"),
}
EDGES = [
    ("producers", "queue", "training requests"),
    ("schedule", "pipelines", "start"),
    ("queue", "pipelines", "start"),
    ("schedule", "queue", "claims the model's slot"),
    ("monitor", "queue", "frees lost slots"),
    ("foundation", "pipelines", "key · bucket"),
    ("pipelines", "queue", "status changes: done · re-queue"),
    ("pipelines", "monitor", "failures"),
    ("pipelines", "events", "state changes"),
    ("schedule", "events", "domain events"),
    ("queue", "events", "domain events"),
    ("window", "hosts", "retrain"),
    ("window", "events", "run results"),
    ("monitor", "dashboard", "alarms"),
    ("signals", "quality", "quality alarms · events"),
    ("quality", "queue", "quality retraining requests"),
    ("quality", "events", "domain events"),
    ("approvers", "deployment", "approve a registered version"),
    ("deployment", "monitor", "blue/green updates of its endpoints"),
    ("deployment", "events", "domain events"),
]
EXTERNAL = {
    "producers": "producers / trainops submit",
    "hosts": "tagged training hosts",
    "signals": "model quality: Model Monitor · Clarify · team alarms",
    "approvers": "people approving model versions",
}


def mermaid(recording: offline.Recording) -> str:
    """A flowchart of the components present in this stack and how data flows between them."""
    present: Counter[str] = Counter(
        r.type
        for r in recording.resources
        if r.component and recording.by_urn(r.parent_urn) is None
    )
    lines = ["flowchart LR"]
    ids = set()
    for type_token, (node, label) in NODES.items():
        if present.get(type_token):
            lines.append(f'    {node}["{label.format(count=present[type_token])}"]')
            ids.add(node)
    alerting = [
        n
        for t, (n, _) in NODES.items()
        if present.get(t) and n not in ("monitor", "dashboard", "foundation", "pipelines")
    ]
    for source, target, label in EDGES:
        for node in (source, target):
            if node in EXTERNAL and node not in ids and (source in ids or target in ids):
                lines.append(f'    {node}(["{EXTERNAL[node]}"])')
                ids.add(node)
        if source in ids and target in ids:
            lines.append(f"    {source} -->|{label}| {target}")
    if "monitor" in ids:
        for node in alerting:
            lines.append(f"    {node} -.->|alarms| monitor")
    return "\n".join(lines)


# ---- two stacks --------------------------------------------------------------------------------


def diff(left: offline.Recording, right: offline.Recording) -> dict[str, Any]:
    """Resources only in one stack, and key settings that differ for the ones in both."""
    left_resources = {(r.type, r.name): r for r in left.resources if r.custom}
    right_resources = {(r.type, r.name): r for r in right.resources if r.custom}
    changed = []
    for key in sorted(left_resources.keys() & right_resources.keys()):
        before, after = key_settings(left_resources[key]), key_settings(right_resources[key])
        if before != after:
            changed.append({"type": key[0], "name": key[1], left.stack: before, right.stack: after})
    return {
        f"only_in_{left.stack}": [
            f"{t} {n}" for t, n in sorted(left_resources.keys() - right_resources.keys())
        ],
        f"only_in_{right.stack}": [
            f"{t} {n}" for t, n in sorted(right_resources.keys() - left_resources.keys())
        ],
        "changed": changed,
    }


def diff_table(difference: dict[str, Any], left: str, right: str) -> str:
    """`diff` as text for a reviewer: what only one stack has, then what is set differently."""
    lines: list[str] = []
    for stack in (left, right):
        only = difference[f"only_in_{stack}"]
        lines.append(f"Only in {stack} ({len(only)}):")
        lines += [f"    {item}" for item in only] or ["    (nothing)"]
    lines.append(f"Settings that differ ({len(difference['changed'])}):")
    for change in difference["changed"]:
        before, after = change[left], change[right]
        keys = sorted(before.keys() | after.keys())
        settings = ", ".join(
            f"{key}: {before.get(key)} -> {after.get(key)}"
            for key in keys
            if before.get(key) != after.get(key)
        )
        lines.append(f"    {change['type']} {change['name']}  {settings}")
    return "\n".join(lines)
