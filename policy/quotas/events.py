"""EventBridge quotas: event patterns, target inputs and templates, rule names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Quota, Service, Sizes, measure_text, name_quota

EVENTBRIDGE_QUOTAS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
INPUT_TRANSFORMER = (
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html"
)
EVENTBRIDGE_TARGET = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html"
PUT_RULE = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"

PATTERN = Quota(
    "eventbridge-pattern",
    "an EventBridge event pattern",
    2_048,
    "characters",
    "match with `prefix` instead of listing values (the quota can be raised to 4,096)",
    EVENTBRIDGE_QUOTAS,
)
INPUT_TEMPLATE = Quota(
    "eventbridge-input-template",
    "an EventBridge input transformer template",
    8_192,
    "characters",
    "shorten the message template",
    INPUT_TRANSFORMER,
)
TARGET_INPUT = Quota(
    "eventbridge-target-input",
    "an EventBridge target's constant input",
    8_192,
    "characters",
    "send less constant input; let the target look the rest up",
    EVENTBRIDGE_TARGET,
)


def _event_target(props: Mapping[str, Any]) -> Sizes:
    template = measure_text(
        props, INPUT_TEMPLATE.id, ("inputTransformer", "inputTemplate"), "inputTemplate"
    )
    return template + measure_text(props, TARGET_INPUT.id, ("input",), "input")


RULE_NAME = name_quota("eventbridge-rule-name", "an EventBridge rule name", 64, PUT_RULE)

SERVICE = Service(
    quotas=(PATTERN, INPUT_TEMPLATE, TARGET_INPUT, RULE_NAME),
    names={EVENT_RULE: ("name", RULE_NAME.id)},
    documents={EVENT_RULE: ("eventPattern", PATTERN.id, "characters")},
    measures={EVENT_TARGET: _event_target},
)
