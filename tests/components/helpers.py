"""What the component tests read from a recorded stack, named once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cli import offline

# The fixtures of tests/conftest.py, typed.
RunStack = Callable[..., offline.Recording]
ParseWith = Callable[..., Any]

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# Monitoring switched off, with the scheduled-retraining notifications that need its topic.
WITHOUT_MONITORING = {
    "trainops:monitoring.enabled": False,
    "trainops:scheduledRetraining.notifications": "none",
}


def configured_models(stack: str) -> dict[str, Any]:
    """The models of ``stack`` as its Pulumi.<stack>.yaml configures them."""
    return json.loads(offline.stack_config(stack)["trainops:models"])


def stack_key_arn(recording: offline.Recording) -> str:
    """The ARN of the stack's KMS key."""
    return recording.one("aws:kms/key:Key").outputs["arn"]


def role_policy(recording: offline.Recording, name: str) -> dict[str, Any]:
    """The document of the role policy called ``name``."""
    return json.loads(recording.one(ROLE_POLICY, name).inputs["policy"])


def statements_by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A policy document's statements by their Sid (each must have one)."""
    return {s["Sid"]: s for s in document["Statement"]}


def put_events_on(bus_arn: str) -> dict[str, Any]:
    """The statement of a role whose only grant is forwarding events to the bus ``bus_arn``."""
    return {
        "Sid": "ToTrainingBus",
        "Effect": "Allow",
        "Action": ["events:PutEvents"],
        "Resource": [bus_arn],
    }


def alarms_by_name(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    """The inputs of every metric alarm, by logical name."""
    return {alarm.name: alarm.inputs for alarm in recording.of_type(ALARM)}
