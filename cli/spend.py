"""What a stack's runs may cost and what its budgets allow, for `trainops plan` (text and
JSON) and the pull-request comment: each model's projected maximum per run against its cap, and
the AWS Budgets the program creates."""

from __future__ import annotations

from typing import Any

from cli import offline, plan
from components.config import StackConfig
from components.platform import spend
from trainops_runtime import training_prices
from trainops_runtime.training_cost import UnknownPrice, usd

BUDGET = "aws:budgets/budget:Budget"


def run_costs(settings: StackConfig) -> dict[str, dict[str, Any]]:
    """Model -> its configured run's projected maximum (None when unpriced), cap and breakdown."""
    costs: dict[str, dict[str, Any]] = {}
    for name, model in sorted(settings.models.items()):
        entry: dict[str, Any] = {
            "instanceType": model.instance_type,
            "instanceCount": model.instance_count,
            "maxRuntimeMinutes": model.max_runtime_minutes,
            "cap": spend.cap_of(model, settings.spend_guardrails),
        }
        try:
            run = spend.projection(model, settings.region)
        except UnknownPrice as unknown:
            entry.update(maxCost=None, breakdown=str(unknown))
        else:
            entry.update(maxCost=run.total, breakdown=run.explain())
        costs[name] = entry
    return costs


def budgets(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    """Budget name -> its monthly limit, what it filters on and its notifications."""
    found = {}
    for budget in recording.of_type(BUDGET):
        inputs = budget.inputs
        found[str(inputs.get("name"))] = {
            "limit": float(inputs.get("limitAmount", 0)),
            "filters": _tag_filters(inputs.get("filterExpression") or {}),
            "notifications": [
                f"{n.get('notificationType')} {plan.whole(n.get('threshold'))}%"
                for n in inputs.get("notifications", [])
            ],
        }
    return dict(sorted(found.items()))


def _tag_filters(expression: Any) -> list[str]:
    """`key=value` for every tag a budget's FilterExpression requires (its `ands` or itself)."""
    if not isinstance(expression, dict):
        return []
    parts = expression.get("ands") or [expression]
    return [
        f"{tags.get('key')}={value}"
        for part in parts
        if isinstance(part, dict) and isinstance(tags := part.get("tags"), dict)
        for value in tags.get("values", [])
    ]


def text(costs: dict[str, dict[str, Any]], budget_lines: dict[str, dict[str, Any]]) -> list[str]:
    """The plan's cost sections, as lines."""
    lines = [
        f"\nMaximum cost per run (list prices, {training_prices.AS_OF}; {training_prices.SOURCE}):"
    ]
    for model, cost in costs.items():
        projected = usd(cost["maxCost"]) if cost["maxCost"] is not None else "not priced"
        cap = usd(cost["cap"]) if cost["cap"] is not None else "no cap"
        lines.append(f"    {model:<32} {projected:>12}   cap {cap:<12} {cost['breakdown']}")
    if budget_lines:
        lines.append("\nMonthly budgets (AWS Budgets, cost):")
        for name, budget in budget_lines.items():
            lines.append(
                f"    {name:<44} {usd(budget['limit']):>12}   "
                f"{' and '.join(budget['filters'])}; notifies at "
                f"{', '.join(budget['notifications'])}"
            )
    return lines
