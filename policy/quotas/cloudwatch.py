"""CloudWatch quotas: alarm names, composite alarm rules, Metrics Insights queries, dashboards."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .base import Quota, Service, Sizes, as_text, items, measure_text, name_quota, nested

CLOUDWATCH_ALARM = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html"
)
METRIC_DATA_QUERY = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html"
)
DASHBOARD_BODY = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
    "CloudWatch-Dashboard-Body-Structure.html"
)
CLOUDWATCH_LIMITS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html"
)
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"

# ---- alarms

ALARM_NAME = name_quota("cloudwatch-alarm-name", "a CloudWatch alarm name", 255, CLOUDWATCH_ALARM)


def _composite_rule(quota_id: str, what: str, limit: int, unit: str) -> Quota:
    """A quota on one composite alarm rule: met by nesting composite alarms, each with a share
    of the alarms."""
    fix = "group the alarms into nested composite alarms"
    return Quota(quota_id, what, limit, unit, fix, CLOUDWATCH_ALARM)


COMPOSITE_ALARM_RULE = _composite_rule(
    "composite-alarm-rule", "a composite alarm rule", 10_240, "characters"
)
COMPOSITE_ALARM_MEMBERS = _composite_rule(
    "composite-alarm-members", "the alarms one composite alarm rule references", 100, "alarms"
)


def _alarms_referenced(alarm_rule: str) -> int:
    return len(re.findall(r"\bALARM\(", alarm_rule))


def _composite_alarm(props: Mapping[str, Any]) -> Sizes:
    return measure_text(
        props, COMPOSITE_ALARM_MEMBERS.id, ("alarmRule",), "alarmRule", _alarms_referenced
    )


METRICS_INSIGHTS_QUERY = Quota(
    "metrics-insights-query",
    "a Metrics Insights query (MetricDataQuery expression)",
    2_048,
    "characters",
    "shorten the query",
    METRIC_DATA_QUERY,
)


def _metric_alarm(props: Mapping[str, Any]) -> Sizes:
    return [
        (METRICS_INSIGHTS_QUERY.id, len(expression), f"query {nested(query, 'id')}")
        for query in items(props.get("metricQueries"))
        if (expression := as_text(nested(query, "expression"))) is not None
    ]


# ---- dashboards

DASHBOARD_WIDGETS = Quota(
    "dashboard-widgets",
    "the widgets of one CloudWatch dashboard",
    500,
    "widgets",
    "show aggregates and searches instead of one widget per resource",
    DASHBOARD_BODY,
)
DASHBOARD_WIDGET_METRICS = Quota(
    "dashboard-widget-metrics",
    "the metrics of one dashboard graph",
    500,
    "metrics",
    "use a search expression or a Metrics Insights query instead of listing metrics",
    CLOUDWATCH_LIMITS,
)
DASHBOARD_WIDGET_ALARMS = Quota(
    "dashboard-widget-alarms",
    "the alarms of one dashboard alarm-status widget",
    100,
    "alarms",
    "split the alarms over several widgets, or show fewer",
    DASHBOARD_BODY,
)


def _dashboard(props: Mapping[str, Any]) -> Sizes:
    body = as_text(props.get("dashboardBody"))
    if body is None:
        return []
    try:
        widgets = items(json.loads(body).get("widgets"))
    except (json.JSONDecodeError, AttributeError):
        return []
    sizes: Sizes = [(DASHBOARD_WIDGETS.id, len(widgets), "")]
    for index, widget in enumerate(widgets):
        properties = nested(widget, "properties") or {}
        title = f"widget {index} {properties.get('title', '')!r}"
        if widget.get("type") == "metric":
            metrics = len(items(properties.get("metrics")))
            sizes.append((DASHBOARD_WIDGET_METRICS.id, metrics, title))
        elif widget.get("type") == "alarm":
            alarms = len(items(properties.get("alarms")))
            sizes.append((DASHBOARD_WIDGET_ALARMS.id, alarms, title))
    return sizes


SERVICE = Service(
    quotas=(
        ALARM_NAME,
        COMPOSITE_ALARM_RULE,
        COMPOSITE_ALARM_MEMBERS,
        METRICS_INSIGHTS_QUERY,
        DASHBOARD_WIDGETS,
        DASHBOARD_WIDGET_METRICS,
        DASHBOARD_WIDGET_ALARMS,
    ),
    names={METRIC_ALARM: ("name", ALARM_NAME.id), COMPOSITE_ALARM: ("alarmName", ALARM_NAME.id)},
    documents={COMPOSITE_ALARM: ("alarmRule", COMPOSITE_ALARM_RULE.id, "characters")},
    measures={
        METRIC_ALARM: _metric_alarm,
        COMPOSITE_ALARM: _composite_alarm,
        DASHBOARD: _dashboard,
    },
)
