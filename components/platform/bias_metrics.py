"""What SageMaker Clarify publishes for a model's bias monitoring, as every feature that alarms
on it names it: monitoring alarms people on these metrics, quality retraining retrains on them.

Clarify publishes `bias_metric_<metric>` under `aws/sagemaker/Endpoints/bias-metrics`, with the
endpoint, the monitoring schedule and the facet as dimensions, once per schedule run; a bias
alarm fires when the value leaves +/- its threshold (one alarm per bound).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.platform import alarms, naming
from components.platform.model_config import BiasAlarmConfig, ModelConfig

BIAS_NAMESPACE = "aws/sagemaker/Endpoints/bias-metrics"
# schedule -> (its cron expression, the period of the metrics it publishes)
SCHEDULES = {"hourly": ("cron(0 * ? * * *)", 3600), "daily": ("cron(0 0 ? * * *)", 86400)}


def endpoint_name_for(model_name: str, model: ModelConfig) -> str:
    """The endpoint serving ``model``: the one trainops deploys, or the existing one named."""
    endpoint = model.endpoint
    if endpoint is None:
        raise ValueError(f"{model_name} declares no endpoint")
    if endpoint.deploy:
        return naming.model_name(model_name, max_length=63)
    return str(endpoint.name)


def job_definition_name(model_name: str) -> str:
    """The model's bias job definition, and the monitoring schedule that runs it."""
    return naming.model_name(model_name, "bias", max_length=63)


@dataclass(frozen=True)
class BiasBound:
    """One side of one bias alarm: its name part, what it watches and when it fires."""

    suffix: str  # `<metric>-<facet>-<facet value>-<high|low>`, lowercase
    metric: alarms.Metric
    condition: alarms.Condition
    description: str


def bias_bounds(model_name: str, model: ModelConfig, alarm: BiasAlarmConfig) -> list[BiasBound]:
    """The two bounds of ``alarm`` (above +threshold, below -threshold) of ``model``."""
    bias = model.bias_monitoring
    if bias is None:
        raise ValueError(f"{model_name} has no bias monitoring")
    endpoint_name = endpoint_name_for(model_name, model)
    dimensions = {
        "Endpoint": endpoint_name,
        "MonitoringSchedule": job_definition_name(model_name),
        "BiasStage": alarm.stage,
        "Label": alarm.label,
        "LabelValue": alarm.label_value,
        "Facet": alarm.facet,
        "FacetValue": alarm.facet_value,
    }
    slug = f"{alarm.metric}-{alarm.facet}-{alarm.facet_value}".lower()
    _, period = SCHEDULES[bias.schedule]
    return [
        BiasBound(
            suffix=f"{slug}-{bound}",
            metric=alarms.Metric(
                BIAS_NAMESPACE, f"bias_metric_{alarm.metric}", dimensions, statistic
            ),
            condition=alarms.Condition(
                threshold=limit, comparison=comparison, period_seconds=period
            ),
            description=(
                f"{endpoint_name}: bias {alarm.metric} for {alarm.facet}={alarm.facet_value} "
                f"beyond +/-{alarm.threshold}"
            ),
        )
        for bound, statistic, comparison, limit in (
            ("high", "Maximum", "GreaterThanThreshold", alarm.threshold),
            ("low", "Minimum", "LessThanThreshold", -alarm.threshold),
        )
    ]
