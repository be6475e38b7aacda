"""SpendBudgets: monthly AWS Budgets on what each model, and the whole stack, cost.

The per-run caps (`maxCostPerRun`) refuse one expensive run before it starts; they cannot see a
model that retrains too often, an endpoint left running, or a month that adds up. AWS Budgets
can: it sums the cost Cost Explorer attributes to a tag and notifies when the month's actual cost
crosses a threshold, or when its forecast will. With `spendGuardrails.budgets.enabled`:

* one **COST budget per model with `monthlyBudget`**, named `trainops-<stack>--<model>` (a
  budget belongs to its model, like its pipeline), on the cost tagged `trainops:model=<model>`
  **and** `trainops:stack=<stack>`: two stacks that train a model of the same name in one
  account do not share its budget;
* one **COST budget for the stack** with `stackMonthlyLimit`, named `trainops-<stack>`, on the
  cost tagged `trainops:stack=<stack>`;
* on each, one notification per threshold, percentages of the limit: actual cost above an
  `actualThresholds` value notifies the **critical** topic from 100% up (the money is spent) and
  the **warning** topic below; a forecast above a `forecastThresholds` value notifies the
  **warning** topic (there is still time to act).

The filter is a `FilterExpression` (`And` of two `Tags` expressions), not the older
`CostFilters`. A user-defined tag is `TagKeyValue` `user:<key>$<value>` there (the AWS CLI's
`create-budget` example `"TagKeyValue": ["user:Key$value1", "user:Key$value2"]`), and the values
of one filter key are OR-ed, as Cost Explorer combines a list of values (its `Expression`
documentation): `user:trainops:model$churn` with `user:trainops:stack$prod` would count churn's
cost in *every* stack plus everything of prod. `CostFilters` is also deprecated since
2025-04-18 in favour of `FilterExpression` with `Metrics` (botocore's `budgets` service model,
`Budget` shape). A `Tags` expression names the tag key as tagged, without `user:`: Cost
Explorer's `Expression` documentation writes "TAG.Type == Type1" as
`{"Tags": {"Key": "TagName", "Values": ["Value1"]}}`, and pulumi-aws's Budget example filters
`{"tags": {"key": "Environment", ...}}`.

Both tags must be activated as cost-allocation tags in the payer account (Billing console, Cost
allocation tags) before Budgets sees any cost under them: until then the budgets read zero.

The budgets publish to monitoring's topics as the service principal `budgets.amazonaws.com`: the
topic policy admits this account's budgets (`components/platform/topics.py`), and the stack
key's policy lets them encrypt with it while budgets are enabled (`Foundation.key_policy`). No
shared document names a model, so 300 budgeted models change no policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.platform import alarms, naming
from components.platform.context import PlatformContext
from components.platform.model_config import ModelConfig
from components.platform.sagemaker import MODEL_TAG, STACK_TAG
from components.platform.spend_config import BudgetsConfig

# botocore's budgets model: BudgetName is 1-100 characters without ':' or '\' (model names and
# stack slugs are lowercase letters, digits and hyphens, so only the length needs a check).
MAX_BUDGET_NAME = 100
# What the budgets add up: the cost as billed to the usage (what a COST budget's CostTypes
# default to, UseBlended and UseAmortized off; and what `maxCostPerRun` projects: list prices).
METRIC = "UnblendedCost"
# Actual cost at or above this share of the limit is money already spent: the critical topic.
CRITICAL_FROM_PERCENT = 100


def budget_limit(amount: float) -> str:
    """USD as Budgets' `Spend.Amount` takes it (`([0-9]*\\.)?[0-9]+`): cents at most, no
    exponent, no trailing zeros (300.0 -> "300", 1500.5 -> "1500.5")."""
    return f"{amount:.2f}".rstrip("0").rstrip(".")


# A `Tags` expression without MatchOptions matches the value exactly (Cost Explorer's default:
# EQUALS, CASE_SENSITIVE), as the tags are written.


def model_filter(model: str, stack: str) -> aws.budgets.BudgetFilterExpressionArgsDict:
    """The cost of ``model`` in ``stack``: both tags, AND-ed."""
    return {
        "ands": [
            {"tags": {"key": MODEL_TAG, "values": [model]}},
            {"tags": {"key": STACK_TAG, "values": [stack]}},
        ]
    }


def stack_filter(stack: str) -> aws.budgets.BudgetFilterExpressionArgsDict:
    """The cost of everything ``stack`` tagged."""
    return {"tags": {"key": STACK_TAG, "values": [stack]}}


def notifications(
    config: BudgetsConfig, alerts: alarms.AlertLadder
) -> list[aws.budgets.BudgetNotificationArgsDict]:
    """One notification per distinct threshold, each to one topic (Budgets allows one SNS
    subscriber per notification): actual cost from 100% up to critical, below it and every
    forecast to warning."""
    specs = [
        (
            "ACTUAL",
            percent,
            alerts.critical_topic_arn
            if percent >= CRITICAL_FROM_PERCENT
            else alerts.warning_topic_arn,
        )
        for percent in sorted(set(config.actual_thresholds))
    ] + [
        ("FORECASTED", percent, alerts.warning_topic_arn)
        for percent in sorted(set(config.forecast_thresholds))
    ]
    return [
        {
            "notification_type": kind,
            "threshold_type": "PERCENTAGE",
            "comparison_operator": "GREATER_THAN",
            "threshold": float(percent),
            "subscriber_sns_topic_arns": [topic],
        }
        for kind, percent, topic in specs
    ]


def budgeted_models(models: Mapping[str, ModelConfig]) -> dict[str, float]:
    """Each model with a `monthlyBudget`, and that budget in USD."""
    return {
        name: model.monthly_budget
        for name, model in sorted(models.items())
        if model.monthly_budget is not None
    }


def model_budget_name(model: str, stack: str | None = None) -> str:
    """`trainops-<stack>--<model>`: the budget of ``model`` (fails at preview beyond 100)."""
    return naming.model_name(model, max_length=MAX_BUDGET_NAME, stack=stack)


def stack_budget_name(stack: str | None = None) -> str:
    """`trainops-<stack>`: the budget of the whole stack."""
    return naming.physical_name(max_length=MAX_BUDGET_NAME, stack=stack)


@dataclass
class SpendBudgetsArgs:
    """The platform: its models (`monthlyBudget`), `spend.budgets` and the alert topics."""

    platform: PlatformContext


class SpendBudgets(pulumi.ComponentResource):
    """A monthly cost budget per budgeted model and for the stack (see the module docstring)."""

    # model -> budget name; the stack's budget under `stack_budget_name`
    model_budget_names: dict[str, str]
    stack_budget_name: str | None

    def __init__(
        self, name: str, args: SpendBudgetsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:budgets:SpendBudgets", name, None, opts)
        platform = args.platform
        config = platform.spend.budgets
        alerts = platform.required_alerts("spendGuardrails.budgets")
        stack = pulumi.get_stack()
        models = budgeted_models(platform.models)
        if not models and config.stack_monthly_limit is None:
            pulumi.log.warn(
                "spendGuardrails.budgets is on, but no model has monthlyBudget and "
                "stackMonthlyLimit is unset: no budget is created",
                resource=self,
            )
        notify = notifications(config, alerts)

        self.model_budget_names = {}
        for model, limit in models.items():
            budget = self._budget(
                f"{name}-{model}",
                budget_name=model_budget_name(model),
                limit=limit,
                filter_expression=model_filter(model, stack),
                notify=notify,
                tags={MODEL_TAG: model},
            )
            self.model_budget_names[model] = budget
        self.stack_budget_name = None
        if config.stack_monthly_limit is not None:
            self.stack_budget_name = self._budget(
                f"{name}-stack",
                budget_name=stack_budget_name(),
                limit=config.stack_monthly_limit,
                filter_expression=stack_filter(stack),
                notify=notify,
            )

        self.register_outputs(
            {
                "model_budget_names": self.model_budget_names,
                "stack_budget_name": self.stack_budget_name,
            }
        )

    def _budget(
        self,
        resource_name: str,
        *,
        budget_name: str,
        limit: float,
        filter_expression: aws.budgets.BudgetFilterExpressionArgsDict,
        notify: list[aws.budgets.BudgetNotificationArgsDict],
        tags: dict[str, str] | None = None,
    ) -> str:
        """One monthly COST budget in USD; returns its name (fixed, so operators and the docs
        can name it)."""
        aws.budgets.Budget(
            resource_name,
            name=budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=budget_limit(limit),
            limit_unit="USD",
            # FilterExpression needs Metrics (and excludes the deprecated CostTypes).
            metrics=METRIC,
            filter_expression=filter_expression,
            notifications=notify,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return budget_name
