"""EventBridge quotas: event patterns, target inputs and templates, rule names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import SHORTER_NAME, Quota, Service, Sizes, as_text, nested

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
    sizes: Sizes = []
    template = as_text(nested(props, "inputTransformer", "inputTemplate"))
    if template is not None:
        sizes.append((INPUT_TEMPLATE.id, len(template), "inputTemplate"))
    constant = as_text(props.get("input"))
    if constant is not None:
        sizes.append((TARGET_INPUT.id, len(constant), "input"))
    return sizes


RULE_NAME = Quota(
    "eventbridge-rule-name",
    "an EventBridge rule name",
    64,
    "characters",
    SHORTER_NAME,
    PUT_RULE,
)

SERVICE = Service(
    quotas=(PATTERN, INPUT_TEMPLATE, TARGET_INPUT, RULE_NAME),
    names={EVENT_RULE: ("name", RULE_NAME.id)},
    documents={EVENT_RULE: ("eventPattern", PATTERN.id, "characters")},
    measures={EVENT_TARGET: _event_target},
)
