"""The operations dashboard: one CloudWatch dashboard for the whole training platform.

Every component describes what belongs on it (`DashboardSources`: queues, dead-letter queues,
functions, pipelines, alarms); `__main__.py` merges them and builds one `OperationsDashboard`
after all components exist. The body is produced by a pure function so its JSON is tested.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import naming
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
    pipelines: list[str] = field(default_factory=list)
    alarms: list[pulumi.Input[str]] = field(default_factory=list)
    stall_metrics_stack: str | None = None

    def merged(self, *others: DashboardSources) -> DashboardSources:
        result = DashboardSources(
            queues=list(self.queues),
            dead_letter_queues=list(self.dead_letter_queues),
            functions=list(self.functions),
            pipelines=list(self.pipelines),
            alarms=list(self.alarms),
            stall_metrics_stack=self.stall_metrics_stack,
        )
        for other in others:
            result.queues += other.queues
            result.dead_letter_queues += other.dead_letter_queues
            result.functions += other.functions
            result.pipelines += other.pipelines
            result.alarms += other.alarms
            result.stall_metrics_stack = result.stall_metrics_stack or other.stall_metrics_stack
        return result


def _metric_widget(
    title: str,
    region: str,
    metrics: list[list[Any]],
    *,
    stat: str = "Sum",
    y: int,
    x: int = 0,
    width: int = 12,
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": 300,
            "metrics": metrics,
        },
    }


def dashboard_body(resolved: Mapping[str, Any], region: str, stack: str) -> dict[str, Any]:
    """The dashboard JSON from resolved names (queues, dlqs, functions, pipelines, alarms)."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": (
                    f"# trainops `{stack}`\nTraining requests, executions, failures and alarms."
                )
            },
        }
    ]
    row = 2
    queues = sorted(resolved["queues"])
    if queues:
        widgets.append(
            _metric_widget(
                "Training queue depth",
                region,
                [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in queues],
                stat="Maximum",
                y=row,
            )
        )
        widgets.append(
            _metric_widget(
                "Age of oldest request (s)",
                region,
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q] for q in queues],
                stat="Maximum",
                y=row,
                x=12,
            )
        )
        row += 6
    dead_letters = sorted(resolved["dead_letter_queues"])
    if dead_letters:
        widgets.append(
            _metric_widget(
                "Dead-letter queue depths",
                region,
                [
                    ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
                    for q in dead_letters
                ],
                stat="Maximum",
                y=row,
                width=24,
            )
        )
        row += 6
    pipelines = sorted(resolved["pipelines"])
    if pipelines:
        widgets.append(
            _metric_widget(
                "Pipeline executions started / failed",
                region,
                [
                    [PIPELINE_NAMESPACE, metric, "PipelineName", p]
                    for p in pipelines
                    for metric in ("ExecutionStarted", "ExecutionFailed")
                ],
                y=row,
            )
        )
    if resolved.get("stall_metrics_stack"):
        dimensions = [
            part
            for key, value in observability.metric_dimensions(
                resolved["stall_metrics_stack"]
            ).items()
            for part in (key, value)
        ]
        widgets.append(
            _metric_widget(
                "Stalled and overrunning training",
                region,
                [
                    [STALL_METRICS_NAMESPACE, metric, *dimensions]
                    for metric in (
                        "StalledTrainingJobs",
                        "OverrunningTrainingJobs",
                        "OverrunningPipelineExecutions",
                        "RunningTrainingJobs",
                    )
                ],
                stat="Maximum",
                y=row,
                x=12,
            )
        )
    row += 6
    functions = sorted(resolved["functions"])
    if functions:
        widgets.append(
            _metric_widget(
                "Lambda errors",
                region,
                [["AWS/Lambda", "Errors", "FunctionName", f] for f in functions],
                y=row,
                width=24,
            )
        )
        row += 6
    alarm_arns = sorted(resolved["alarms"])
    for start in range(0, len(alarm_arns), MAX_ALARMS_PER_WIDGET):
        widgets.append(
            {
                "type": "alarm",
                "x": 0,
                "y": row,
                "width": 24,
                "height": 6,
                "properties": {
                    "title": "Alarm states",
                    "alarms": alarm_arns[start : start + MAX_ALARMS_PER_WIDGET],
                    "sortBy": "stateUpdatedTimestamp",
                    "states": ["ALARM", "INSUFFICIENT_DATA", "OK"],
                },
            }
        )
        row += 6
    return {"widgets": widgets}


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
            alarms=pulumi.Output.all(*sources.alarms),
        ).apply(
            lambda resolved: json.dumps(
                dashboard_body(
                    {
                        **resolved,
                        "pipelines": sources.pipelines,
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


def dashboard_alarm_arns(
    alarm_list: Sequence[aws.cloudwatch.MetricAlarm],
) -> list[pulumi.Output[str]]:
    return [alarm.arn for alarm in alarm_list]
