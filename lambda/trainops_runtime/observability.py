"""Names shared by the metrics handlers emit and the alarms the components put on them.

Handlers emit CloudWatch metrics as EMF through Powertools; the Pulumi components import these
constants for their alarms and dashboard, so a renamed metric cannot silently orphan an alarm.
Powertools always adds a `service` dimension; trainops adds `Stack`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from trainops_runtime import settings

SERVICE = "trainops"
METRICS_NAMESPACE = "trainops"
STACK_DIMENSION = "Stack"


class Log(Protocol):
    """What the domain code logs through (Powertools' Logger in the functions, a list in tests)."""

    def info(self, msg: str, *, extra: Mapping[str, Any]) -> None: ...

    def warning(self, msg: str, *, extra: Mapping[str, Any]) -> None: ...


def metric_dimensions(stack: str) -> dict[str, str]:
    """The dimensions every trainops metric carries (what an alarm must match exactly)."""
    return {"service": SERVICE, STACK_DIMENSION: stack}


def tag_stack(metrics: Any) -> None:
    """Makes `Stack` a default dimension of ``metrics`` (kept across flushes, set once)."""
    stack = settings.STACK.read()
    if metrics.default_dimensions.get(STACK_DIMENSION) != stack:
        # Only ever differs in tests that run several stacks in one process.
        metrics.clear_default_dimensions()
        metrics.clear_metrics()
        metrics.set_default_dimensions(**{STACK_DIMENSION: stack})
