"""`trainops:spendGuardrails`: what one run may cost, which instance types a stack may use, and
monthly AWS Budgets per model and for the stack.

The caps are the platform's, not one feature's: the queue worker, the schedule tick and
`trainops submit` all refuse a run whose projected maximum exceeds its model's cap
(`trainops_runtime.training_cost`), and config validation refuses a model whose configured run
can never fit (`components/config/spend_rules.py`).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from components.platform.config_types import ConfigModel, feature_switch, nested

# `ml.<family>.<size>`, each part a name or `*`: `ml.m5.*`, `ml.g5.xlarge`, `ml.*.large`.
INSTANCE_PATTERN = re.compile(r"^ml\.(\*|[a-z0-9]+(-[a-z0-9]+)?)\.(\*|[a-z0-9]+)$")
# AWS Budgets allows five notifications per budget.
MAX_BUDGET_NOTIFICATIONS = 5


def _instance_pattern(value: str) -> str:
    if not INSTANCE_PATTERN.match(value):
        raise ValueError(
            "not an instance type pattern: write ml.<family>.<size>, either part may be * "
            "(e.g. ml.m5.*, ml.g5.xlarge)"
        )
    return value


InstancePattern = Annotated[str, AfterValidator(_instance_pattern)]
# US dollars, with cents; a run or a month of one model beyond a million is a typo.
Dollars = Annotated[float, Field(gt=0, le=1_000_000)]
ThresholdPercent = Annotated[int, Field(ge=1, le=1000)]


def allows(patterns: list[str], instance_type: str) -> bool:
    """Whether ``instance_type`` matches one of ``patterns`` (none: every type is allowed); the
    policy pack's `instance-types` rule matches the same way."""
    return not patterns or any(fnmatch.fnmatchcase(instance_type, p) for p in patterns)


class BudgetsConfig(ConfigModel):
    """Monthly AWS Budgets on cost: one per model with `models.<name>.monthlyBudget` (filtered on
    its `trainops:model` tag) and one for the stack (its `trainops:stack` tag), notifying
    monitoring's alert topics. Cost-allocation tags must be activated in the Billing console
    first (docs/operations.md, Spend guardrails)."""

    enabled: bool = feature_switch("budgets")
    stack_monthly_limit: Dollars | None = Field(
        default=None, description="Monthly cost budget of the whole stack, in USD (unset: none)."
    )
    actual_thresholds: list[ThresholdPercent] = Field(
        default_factory=lambda: [80, 100],
        max_length=MAX_BUDGET_NOTIFICATIONS,
        description="Percentages of a budget whose actual cost notifies (100 and above: the "
        "critical topic; below: the warning topic).",
    )
    forecast_thresholds: list[ThresholdPercent] = Field(
        default_factory=lambda: [100],
        max_length=MAX_BUDGET_NOTIFICATIONS,
        description="Percentages of a budget whose forecast cost notifies the warning topic.",
    )

    @model_validator(mode="after")
    def _at_most_five_notifications(self) -> BudgetsConfig:
        count = len(set(self.actual_thresholds)) + len(set(self.forecast_thresholds))
        if count > MAX_BUDGET_NOTIFICATIONS:
            raise ValueError(
                f"actualThresholds and forecastThresholds: {count} notifications, AWS Budgets "
                f"allows {MAX_BUDGET_NOTIFICATIONS} per budget; drop some thresholds"
            )
        return self


class SpendGuardrailsConfig(ConfigModel):
    """Spend guardrails: a cap on what one run may cost, the instance types the stack may use,
    and monthly budgets."""

    max_cost_per_run: Dollars | None = Field(
        default=None,
        description="Default cap, in USD, on one run's projected maximum cost (instances x count "
        "x maxRuntime plus volumes, and the evaluation job) for models without their own "
        "maxCostPerRun (unset: no cap).",
    )
    allowed_instance_types: list[InstancePattern] = Field(
        default_factory=list,
        max_length=100,
        description="Instance types the stack may use (training, evaluation, endpoints, bias "
        "monitoring, the notebook), as patterns such as ml.m5.* or ml.g5.xlarge (empty: any).",
    )
    budgets: BudgetsConfig = nested(BudgetsConfig)
