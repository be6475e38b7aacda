"""The operations dashboard: one CloudWatch dashboard for the whole training platform.

Every component describes what belongs on it (`DashboardSources`: queues, dead-letter queues,
functions, alarms, the stack's pipeline name prefix); `__main__.py` merges them and builds one
`OperationsDashboard` after all components exist. The body is produced by a pure function so
its JSON is tested.

Nothing on it is listed per model, so its size does not depend on the number of models
(CloudWatch allows 500 metrics per graph and 100 alarms per alarm widget): executions show
through search expressions on the stack's pipeline name prefix, summed and per pipeline.
Per-model alarms (endpoints, bias) live in the alarm console.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import naming
from trainops_runtime import observability

STALL_METRICS_NAMESPACE = observability.METRICS_NAMESPACE
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
MAX_ALARMS_PER_WIDGET = 100


@dataclass
class DashboardSources:
    """What one component contributes to the dashboard (names may be Outputs)."""

    queues: list[pulumi.Input[str]] = field(default_factory=list)
    dead_letter_queues: list[pulumi.Input[str]] = field(default_factory=list)
    functions: list[pulumi.Input[str]] = field(default_factory=list)
    # The first-tier alarms (their escalation twins would only repeat them).
    alarms: list[aws.cloudwatch.MetricAlarm] = field(default_factory=list)
    stall_metrics_stack: str | None = None
    # `trainops-<stack>--`: what every pipeline name of the stack starts with.
    pipeline_name_prefix: str | None = None

    def merged(self, *others: DashboardSources) -> DashboardSources:
        result = DashboardSources(
            queues=list(self.queues),
            dead_letter_queues=list(self.dead_letter_queues),
            functions=list(self.functions),
            alarms=list(self.alarms),
            stall_metrics_stack=self.stall_metrics_stack,
            pipeline_name_prefix=self.pipeline_name_prefix,
        )
        for other in others:
            result.queues += other.queues
            result.dead_letter_queues += other.dead_letter_queues
            result.functions += other.functions
            result.alarms += other.alarms
            result.stall_metrics_stack = result.stall_metrics_stack or other.stall_metrics_stack
            result.pipeline_name_prefix = result.pipeline_name_prefix or other.pipeline_name_prefix
        return result


class _Grid:
    """Places widgets top to bottom in rows 24 units wide, so no widget states coordinates: a
    row holds half-width widgets side by side, or one full-width widget."""

    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = []
        self.y = 0

    def row(self, *cells: dict[str, Any], full: bool = False, height: int = 6) -> None:
        """One row of ``cells`` (each a widget's type and properties)."""
        width = 24 if full else 12
        for index, cell in enumerate(cells):
            self.widgets.append(
                {**cell, "x": index * width, "y": self.y, "width": width, "height": height}
            )
        self.y += height


def _metrics(
    title: str, region: str, metrics: list[list[Any]], stat: str = "Sum"
) -> dict[str, Any]:
    """A time-series graph of ``metrics`` (CloudWatch's metric array form), 5-minute points."""
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": 300,
            "metrics": metrics,
        },
    }


def _per_name(namespace: str, metric: str, dimension: str, names: list[str]) -> list[list[Any]]:
    """``metric`` once per resource of ``names`` (one line each on the graph)."""
    return [[namespace, metric, dimension, name] for name in names]


def pipeline_search(prefix: str, metric: str) -> str:
    """A search for ``metric`` of every pipeline whose name starts with ``prefix``.

    Search terms match whole tokens (a name splits at `-`), so `trainops-dev` finds
    `trainops-dev--churn` but not `trainops-development--x`; a stack whose name extends this
    one's with a hyphen (`dev-2`) would show too. Display only: alarms never use it.
    """
    term = prefix.rstrip("-")
    return (
        f'SEARCH(\'{{{PIPELINE_NAMESPACE},PipelineName}} MetricName="{metric}" '
        f"PipelineName={term}', 'Sum', 300)"
    )


def dashboard_body(resolved: Mapping[str, Any], region: str, stack: str) -> dict[str, Any]:
    """The dashboard JSON from resolved names (queues, dlqs, functions, alarms)."""
    grid = _Grid()
    heading = f"# trainops `{stack}`\nTraining requests, executions, failures and alarms."
    grid.row({"type": "text", "properties": {"markdown": heading}}, full=True, height=2)

    def queue_graph(title: str, metric: str, names: list[str]) -> dict[str, Any]:
        # the highest point of each five minutes: a backlog shows even if drained between samples
        return _metrics(title, region, _per_name("AWS/SQS", metric, "QueueName", names), "Maximum")

    depth, age = "ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"
    if queues := sorted(resolved["queues"]):
        grid.row(
            queue_graph("Training queue depth", depth, queues),
            queue_graph("Age of oldest request (s)", age, queues),
        )
    if dead_letters := sorted(resolved["dead_letter_queues"]):
        grid.row(queue_graph("Dead-letter queue depths", depth, dead_letters), full=True)
    executions_row: list[dict[str, Any]] = []
    if prefix := resolved.get("pipeline_name_prefix"):
        # Every execution of the stack's pipelines, however it was started (schedule, queue,
        # console): SageMaker's own counts, summed over the stack's pipelines.
        totals = [
            [
                {
                    "expression": f"SUM({pipeline_search(prefix, metric)})",
                    "id": metric.lower(),
                    "label": label,
                }
            ]
            for metric, label in (
                ("ExecutionStarted", "started"),
                ("ExecutionSucceeded", "succeeded"),
                ("ExecutionFailed", "failed"),
            )
        ]
        grid.row(_metrics("Pipeline executions started / succeeded / failed", region, totals))
        failed = [{"expression": pipeline_search(prefix, "ExecutionFailed"), "id": "failed"}]
        executions_row.append(_metrics("Failed executions per pipeline", region, [failed]))
    if stall_stack := resolved.get("stall_metrics_stack"):
        dimensions = [
            part
            for key, value in observability.metric_dimensions(stall_stack).items()
            for part in (key, value)
        ]
        stalls = [
            [STALL_METRICS_NAMESPACE, metric, *dimensions]
            for metric in (
                "StalledTrainingJobs",
                "OverrunningTrainingJobs",
                "OverrunningPipelineExecutions",
                "RunningTrainingJobs",
            )
        ]
        executions_row.append(
            _metrics("Stalled and overrunning training", region, stalls, stat="Maximum")
        )
    if executions_row:
        grid.row(*executions_row)
    if functions := sorted(resolved["functions"]):
        errors = _per_name("AWS/Lambda", "Errors", "FunctionName", functions)
        grid.row(_metrics("Lambda errors", region, errors), full=True)
    alarm_arns = sorted(resolved["alarms"])
    for start in range(0, len(alarm_arns), MAX_ALARMS_PER_WIDGET):
        states = {
            "title": "Alarm states",
            "alarms": alarm_arns[start : start + MAX_ALARMS_PER_WIDGET],
            "sortBy": "stateUpdatedTimestamp",
            "states": ["ALARM", "INSUFFICIENT_DATA", "OK"],
        }
        grid.row({"type": "alarm", "properties": states}, full=True)
    return {"widgets": grid.widgets}


@dataclass
class OperationsDashboardArgs:
    sources: DashboardSources
    region: str


class OperationsDashboard(pulumi.ComponentResource):
    """The stack's single CloudWatch dashboard."""

    dashboard_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: OperationsDashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:monitoring:OperationsDashboard", name, None, opts)
        stack = pulumi.get_stack()
        sources = args.sources
        body = pulumi.Output.all(
            queues=pulumi.Output.all(*sources.queues),
            dead_letter_queues=pulumi.Output.all(*sources.dead_letter_queues),
            functions=pulumi.Output.all(*sources.functions),
            alarms=pulumi.Output.all(*(alarm.arn for alarm in sources.alarms)),
        ).apply(
            lambda resolved: json.dumps(
                dashboard_body(
                    {
                        **resolved,
                        "pipeline_name_prefix": sources.pipeline_name_prefix,
                        "stall_metrics_stack": sources.stall_metrics_stack,
                    },
                    args.region,
                    stack,
                ),
                sort_keys=True,
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=naming.physical_name(max_length=255),
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})
