"""Names shared by the metrics handlers emit and the alarms the components put on them.

Handlers emit CloudWatch metrics as EMF through Powertools; the Pulumi components import these
constants for their alarms and dashboard, so a renamed metric cannot silently orphan an alarm.
Powertools always adds a `service` dimension; trainops adds `Stack`.
"""

from __future__ import annotations

SERVICE = "trainops"
METRICS_NAMESPACE = "trainops"
STACK_DIMENSION = "Stack"


def metric_dimensions(stack: str) -> dict[str, str]:
    """The dimensions every trainops metric carries (what an alarm must match exactly)."""
    return {"service": SERVICE, STACK_DIMENSION: stack}
