"""SpendBudgets under mocks: a monthly budget per budgeted model and for the stack, their tag
filters, limits and notifications (which topic each threshold reaches), the topic and key policy
grants that let AWS Budgets publish, the config rules, a stack of 300 budgeted models, and each
budget as a CreateBudget request checked against botocore's `budgets` service model."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.loaders import Loader
from botocore.model import ListShape, ServiceModel, Shape, StringShape, StructureShape
from botocore.validate import validate_parameters

from benchmarks import measure
from cli import offline, plan
from components import config
from components.budgets.component import (
    METRIC,
    budget_limit,
    model_budget_name,
    stack_budget_name,
)
from components.config import ConfigError
from components.platform.spend_config import MAX_BUDGET_NOTIFICATIONS
from tests.components import helpers

BUDGET = "aws:budgets/budget:Budget"
COMPONENT = "trainops:budgets:SpendBudgets"
KEY = "aws:kms/key:Key"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
ACCOUNT = offline.ACCOUNT_ID
BUDGETS_SOURCE = f"arn:aws:budgets::{ACCOUNT}:*"
# dev with budgets on: churn budgeted, a stack limit
DEV_BUDGETS = {
    "trainops:spendGuardrails.budgets": {"enabled": True, "stackMonthlyLimit": 500},
    "trainops:models.churn.monthlyBudget": 120.5,
}
MODELS_AT_SCALE = 300


def budgets_by_name(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    """The inputs of every budget, by its budget name."""
    return {b.inputs["name"]: b.inputs for b in recording.of_type(BUDGET)}


def topics(recording: offline.Recording) -> dict[str, str]:
    """Monitoring's topic ARNs: "warning" and "critical"."""
    return {
        t.name.removeprefix("monitoring-"): t.outputs["arn"]
        for t in recording.of_type("aws:sns/topic:Topic")
        if t.name.startswith("monitoring-")
    }


def routed(budget: dict[str, Any], recording: offline.Recording) -> list[tuple[str, float, str]]:
    """(notification type, threshold, topic) of each notification of ``budget``."""
    names = {arn: name for name, arn in topics(recording).items()}
    routes = []
    for notification in budget["notifications"]:
        assert notification["comparisonOperator"] == "GREATER_THAN"
        assert notification["thresholdType"] == "PERCENTAGE"
        (topic,) = notification["subscriberSnsTopicArns"]
        routes.append((notification["notificationType"], notification["threshold"], names[topic]))
    return routes


def key_statements(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    return helpers.statements_by_sid(json.loads(recording.one(KEY).inputs["policy"]))


# ---- the budgets ---------------------------------------------------------------------------


def test_prod_budgets_each_budgeted_model_and_the_stack(prod: offline.Recording) -> None:
    budgets = budgets_by_name(prod)
    assert set(budgets) == {"trainops-prod--churn", "trainops-prod--fraud", "trainops-prod"}
    for inputs in budgets.values():
        assert inputs["budgetType"] == "COST"
        assert inputs["timeUnit"] == "MONTHLY"
        assert inputs["limitUnit"] == "USD"
        assert inputs["metrics"] == METRIC == "UnblendedCost"
        assert "costFilters" not in inputs  # OR-ed values: see the filter test
        assert "costTypes" not in inputs  # FilterExpression takes Metrics instead
    assert {name: b["limitAmount"] for name, b in budgets.items()} == {
        "trainops-prod--churn": "300",
        "trainops-prod--fraud": "1500",
        "trainops-prod": "3000",
    }
    # forecast is a model without monthlyBudget: no budget of its own
    assert not any("forecast" in name for name in budgets)
    assert budgets["trainops-prod--churn"]["tags"] == {"trainops:model": "churn"}


def test_a_model_budget_counts_its_model_in_this_stack_only(prod: offline.Recording) -> None:
    """Model AND stack: another stack training a `churn` in the same account is not counted."""
    budgets = budgets_by_name(prod)
    assert budgets["trainops-prod--churn"]["filterExpression"] == {
        "ands": [
            {"tags": {"key": "trainops:model", "values": ["churn"]}},
            {"tags": {"key": "trainops:stack", "values": ["prod"]}},
        ]
    }
    assert budgets["trainops-prod"]["filterExpression"] == {
        "tags": {"key": "trainops:stack", "values": ["prod"]}
    }


def test_actual_cost_from_100_percent_is_critical_the_rest_warns(prod: offline.Recording) -> None:
    """Defaults: actual 80% warns, actual 100% is critical, a 100% forecast warns."""
    for budget in budgets_by_name(prod).values():
        assert routed(budget, prod) == [
            ("ACTUAL", 80.0, "warning"),
            ("ACTUAL", 100.0, "critical"),
            ("FORECASTED", 100.0, "warning"),
        ]


def test_configured_thresholds_become_notifications(run_stack: helpers.RunStack) -> None:
    recording = run_stack(
        "dev",
        {
            **DEV_BUDGETS,
            "trainops:spendGuardrails.budgets.actualThresholds": [120, 50, 99, 50],
            "trainops:spendGuardrails.budgets.forecastThresholds": [150, 100],
        },
    )
    budget = budgets_by_name(recording)["trainops-dev--churn"]
    assert routed(budget, recording) == [
        ("ACTUAL", 50.0, "warning"),
        ("ACTUAL", 99.0, "warning"),
        ("ACTUAL", 120.0, "critical"),
        ("FORECASTED", 100.0, "warning"),
        ("FORECASTED", 150.0, "warning"),
    ]
    assert budget["limitAmount"] == "120.5"


def test_the_budgets_belong_to_one_top_level_component(prod: offline.Recording) -> None:
    component = prod.one(COMPONENT, "budgets")
    assert component.parent_urn.endswith("::pulumi:pulumi:Stack::trainops-prod")  # top level
    budgets = prod.of_type(BUDGET)
    assert sorted(b.name for b in budgets) == ["budgets-churn", "budgets-fraud", "budgets-stack"]
    assert all(b.parent_urn == component.urn for b in budgets)
    assert {r.urn for r in prod.children_of(component)} == {b.urn for b in budgets}
    assert plan.feature_counts(prod)["spendGuardrails"] == 3


def test_the_stack_budget_needs_a_limit(run_stack: helpers.RunStack) -> None:
    recording = run_stack(
        "dev",
        {
            "trainops:spendGuardrails.budgets": {"enabled": True},
            "trainops:models.churn.monthlyBudget": 100,
        },
    )
    assert set(budgets_by_name(recording)) == {"trainops-dev--churn"}


def test_without_budgets_nothing_is_created_or_granted(
    dev: offline.Recording, run_stack: helpers.RunStack
) -> None:
    off = run_stack(
        "prod",
        {
            "trainops:spendGuardrails.budgets.enabled": False,
            "trainops:models.churn.monthlyBudget": None,
            "trainops:models.fraud.monthlyBudget": None,
        },
    )
    for recording in (dev, off):
        assert recording.of_type(BUDGET) == []
        assert recording.of_type(COMPONENT) == []
        assert "BudgetsPublishToEncryptedTopics" not in key_statements(recording)


def test_budgets_on_with_nothing_to_budget_warns_and_creates_nothing(
    run_stack: helpers.RunStack, caplog: pytest.LogCaptureFixture
) -> None:
    recording = run_stack("dev", {"trainops:spendGuardrails.budgets": {"enabled": True}})
    assert recording.of_type(BUDGET) == []
    assert recording.one(COMPONENT, "budgets")
    assert "spendGuardrails.budgets is on, but no model has monthlyBudget" in caplog.text


def test_budget_names_and_limits_follow_the_stack_and_the_model() -> None:
    assert model_budget_name("churn", stack="Team Prod") == "trainops-team-prod--churn"
    assert stack_budget_name(stack="prod") == "trainops-prod"
    with pytest.raises(ValueError, match="the limit here is 100"):
        model_budget_name("m" * 32, stack="s" * 60)
    assert [budget_limit(v) for v in (300.0, 1500.5, 0.01, 1_000_000, 12.345)] == [
        "300",
        "1500.5",
        "0.01",
        "1000000",
        "12.35",  # to the cent: Budgets' Spend amount carries no sub-cent precision we need
    ]


# ---- Budgets may publish to the encrypted topics ---------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_topics_admit_only_this_accounts_budgets(run_stack: helpers.RunStack, stack: str) -> None:
    recording = run_stack(stack)
    policies = recording.of_type(TOPIC_POLICY)
    assert policies
    for policy in policies:
        statement = helpers.statements_by_sid(json.loads(policy.inputs["policy"]))[
            "BudgetsOfThisAccount"
        ]
        assert statement == {
            "Sid": "BudgetsOfThisAccount",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Resource": [policy.inputs["arn"]],
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": BUDGETS_SOURCE},
            },
        }


def test_the_key_lets_budgets_encrypt_only_with_budgets_on(
    prod: offline.Recording, dev: offline.Recording
) -> None:
    statement = key_statements(prod)["BudgetsPublishToEncryptedTopics"]
    assert statement == {
        "Sid": "BudgetsPublishToEncryptedTopics",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Principal": {"Service": "budgets.amazonaws.com"},
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": BUDGETS_SOURCE},
        },
    }
    # everything else of the key policy is what a stack without budgets has
    others = {sid: s for sid, s in key_statements(prod).items() if sid != statement["Sid"]}
    assert others == key_statements(dev)


# ---- config rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"trainops:models.churn.monthlyBudget": 100},
            "trainops:models.churn.monthlyBudget: needs spendGuardrails.budgets.enabled: true "
            "(the feature that creates the budgets); turn spendGuardrails.budgets on, or remove "
            "monthlyBudget",
        ),
        (
            {
                "trainops:models.churn.monthlyBudget": 100,
                "trainops:models.fraud.monthlyBudget": 200,
            },
            "trainops:models.<name>.monthlyBudget of churn, fraud: needs "
            "spendGuardrails.budgets.enabled: true (the feature that creates the budgets); turn "
            "spendGuardrails.budgets on, or remove monthlyBudget",
        ),
        (
            {**helpers.WITHOUT_MONITORING, "trainops:spendGuardrails.budgets.enabled": True},
            "trainops:spendGuardrails.budgets: needs monitoring.enabled: true (budgets notify the "
            "warning and critical topics); enable monitoring, or turn spendGuardrails.budgets off",
        ),
    ],
    ids=["one-model", "two-models", "no-monitoring"],
)
def test_budgets_need_their_switch_and_the_alert_topics(
    parse_with: helpers.ParseWith, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_with("dev", overrides)
    assert raised.value.problems == [message]


def test_prod_budgets_are_valid_config() -> None:
    settings = config.parse(offline.stack_config("prod"))
    budgets = settings.spend_guardrails.budgets
    assert budgets.enabled
    assert budgets.stack_monthly_limit == 3000
    assert {m: c.monthly_budget for m, c in settings.models.items()} == {
        "churn": 300,
        "fraud": 1500,
        "forecast": None,
    }


# ---- at scale ---------------------------------------------------------------------------------


def budgeted_models(count: int) -> dict[str, Any]:
    """``count`` prod-shaped models (32-character names), each with its own monthlyBudget."""
    return {
        name: {**model, "monthlyBudget": 100 + index}
        for index, (name, model) in enumerate(measure.generated_models(count).items())
    }


@pytest.fixture(scope="module")
def at_scale() -> dict[int, offline.Recording]:
    return {
        count: offline.run_program("prod", {"trainops:models": budgeted_models(count)})
        for count in (1, MODELS_AT_SCALE)
    }


def test_each_of_300_models_has_one_budget(at_scale: dict[int, offline.Recording]) -> None:
    recording = at_scale[MODELS_AT_SCALE]
    budgets = budgets_by_name(recording)
    models = budgeted_models(MODELS_AT_SCALE)
    assert len(budgets) == MODELS_AT_SCALE + 1  # and the stack's
    for index, model in enumerate(models):
        budget = budgets[f"trainops-prod--{model}"]
        assert budget["limitAmount"] == str(100 + index)
        assert budget["filterExpression"]["ands"][0]["tags"]["values"] == [model]
        assert len(budget["name"]) <= 100


def test_what_budgets_share_does_not_grow_with_the_models(
    at_scale: dict[int, offline.Recording],
) -> None:
    """The key policy and the topic policies are the same documents for 1 and 300 budgeted
    models; every shared document (policy, pattern, environment, ...) stays within 5% of its
    size at one model."""
    one, many = at_scale[1], at_scale[MODELS_AT_SCALE]
    assert one.one(KEY).inputs["policy"] == many.one(KEY).inputs["policy"]
    assert {p.name: p.inputs["policy"] for p in one.of_type(TOPIC_POLICY)} == {
        p.name: p.inputs["policy"] for p in many.of_type(TOPIC_POLICY)
    }
    small, large = measure.shared_documents(one), measure.shared_documents(many)
    compared = [k for k, m in large.items() if m.quota.kind == "document" and k in small]
    assert len(compared) > 20  # the comparison looked at the stack's shared documents
    grown = [
        f"{key}: {small[key].value} -> {m.value}"
        for key, m in large.items()
        if m.quota.kind == "document" and key in small and m.value > small[key].value * 1.05
    ]
    assert grown == []


# ---- the request AWS receives, against botocore's service model -------------------------------

BUDGETS_MODEL = ServiceModel(Loader().load_service_model("budgets", "service-2"), "budgets")
CREATE_BUDGET = BUDGETS_MODEL.operation_model("CreateBudget").input_shape
EXPRESSION_KEYS = {"ands": "And", "ors": "Or", "tags": "Tags", "dimensions": "Dimensions"}


def expression(value: dict[str, Any]) -> dict[str, Any]:
    """A recorded `filterExpression` as Budgets' `Expression`."""
    converted: dict[str, Any] = {}
    for key, item in value.items():
        api = EXPRESSION_KEYS[key]
        if isinstance(item, list):
            converted[api] = [expression(operand) for operand in item]
        else:
            converted[api] = {
                {"key": "Key", "values": "Values", "matchOptions": "MatchOptions"}[k]: v
                for k, v in item.items()
            }
    return converted


def create_budget_request(inputs: dict[str, Any]) -> dict[str, Any]:
    """What the provider sends as CreateBudget for a budget's recorded inputs."""
    return {
        "AccountId": ACCOUNT,
        "Budget": {
            "BudgetName": inputs["name"],
            "BudgetLimit": {"Amount": inputs["limitAmount"], "Unit": inputs["limitUnit"]},
            "TimeUnit": inputs["timeUnit"],
            "BudgetType": inputs["budgetType"],
            "FilterExpression": expression(inputs["filterExpression"]),
            "Metrics": [inputs["metrics"]],
        },
        "NotificationsWithSubscribers": [
            {
                "Notification": {
                    "NotificationType": n["notificationType"],
                    "ComparisonOperator": n["comparisonOperator"],
                    "Threshold": n["threshold"],
                    "ThresholdType": n["thresholdType"],
                },
                "Subscribers": [
                    {"SubscriptionType": "SNS", "Address": arn}
                    for arn in n["subscriberSnsTopicArns"]
                ],
            }
            for n in inputs["notifications"]
        ],
        "ResourceTags": [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()],
    }


def _pattern(text: str) -> re.Pattern[str]:
    """A botocore pattern as Python reads it (a `(?i)` inside the pattern applies to all of it:
    a stricter check, never a looser one)."""
    try:
        return re.compile(text)
    except re.error:
        return re.compile(text.replace("(?i)", ""), re.IGNORECASE)


def shape_problems(value: Any, shape: Shape, path: str = "") -> list[str]:
    """What botocore's request validation leaves out: enums, maximum lengths and sizes,
    patterns, numeric ranges, members the shape does not have."""
    if isinstance(shape, StructureShape):
        return [
            problem
            for name, item in value.items()
            for problem in (
                shape_problems(item, shape.members[name], f"{path}.{name}")
                if name in shape.members
                else [f"{path}.{name}: not a member of {shape.name}"]
            )
        ]
    if isinstance(shape, ListShape):
        return _size_problems(len(value), shape, path, "items") + [
            problem
            for index, item in enumerate(value)
            for problem in shape_problems(item, shape.member, f"{path}[{index}]")
        ]
    if isinstance(shape, StringShape):
        return _string_problems(value, shape, path)
    if shape.type_name in ("double", "integer", "long"):
        meta: dict[str, Any] = dict(shape.metadata)
        low, high = meta.get("min", value), meta.get("max", value)
        return [] if low <= value <= high else [f"{path}: {value} is outside {low}-{high}"]
    return []


def _size_problems(size: int, shape: Shape, path: str, unit: str) -> list[str]:
    limit = dict(shape.metadata).get("max")
    return [f"{path}: {size} {unit}, at most {limit}"] if limit is not None and size > limit else []


def _string_problems(value: str, shape: StringShape, path: str) -> list[str]:
    problems = _size_problems(len(value), shape, path, "characters")
    if shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} is not one of {shape.enum}")
    pattern = dict(shape.metadata).get("pattern")
    if pattern is not None and not _pattern(pattern).fullmatch(value):
        problems.append(f"{path}: {value!r} does not match {pattern}")
    return problems


def test_every_budget_is_a_valid_create_budget_request(
    prod: offline.Recording, at_scale: dict[int, offline.Recording]
) -> None:
    budgets = [*prod.of_type(BUDGET), *at_scale[MODELS_AT_SCALE].of_type(BUDGET)]
    for budget in budgets:
        request = create_budget_request(budget.inputs)
        validate_parameters(request, CREATE_BUDGET)  # required members, types, minimums
        assert shape_problems(request, CREATE_BUDGET) == [], budget.name
        # AWS Budgets allows five notifications per budget (CreateBudget's documentation)
        assert len(request["NotificationsWithSubscribers"]) <= MAX_BUDGET_NOTIFICATIONS


def test_the_request_check_catches_what_aws_would_refuse(prod: offline.Recording) -> None:
    """The check is live: a name with ':' or beyond 100 characters, an unknown notification
    type and an unknown metric are each reported."""
    inputs = budgets_by_name(prod)["trainops-prod--churn"]
    bad = create_budget_request(inputs)
    bad["Budget"]["BudgetName"] = "trainops:prod" + "x" * 100
    bad["Budget"]["Metrics"] = ["ListPrice"]
    bad["NotificationsWithSubscribers"][0]["Notification"]["NotificationType"] = "ESTIMATED"
    problems = "\n".join(shape_problems(bad, CREATE_BUDGET))
    assert ".Budget.BudgetName: 113 characters, at most 100" in problems
    assert "does not match" in problems
    assert "'ListPrice' is not one of" in problems
    assert "'ESTIMATED' is not one of" in problems
