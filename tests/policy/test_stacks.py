"""Both stacks, and their optional features, pass every rule: offline and through the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import rules

from cli import offline
from tests.policy.support import analyze_stack, stack_of

OPTIONAL_FEATURES = {
    "trainops:models.churn.endpoint": {
        "deploy": True,
        "modelDataUrl": "s3://example-ml-data/churn/model.tar.gz",
        "deployOnApproval": True,
        "initialInstanceCount": 2,
        "blueGreen": {"trafficRouting": "CANARY", "canarySizePercent": 50},
    },
    "trainops:models.churn.registerModel": {"enabled": True},
    "trainops:models.churn.spot": {"enabled": True},
    "trainops:monitoring.slack": {"workspaceId": "T0123456789", "channelId": "C0123456789"},
    "trainops:eventSourcing.notebook": {"enabled": True},
    "trainops:eventSourcing.immutable": True,
    "trainops:maintenanceWindow.guardWithCriticalAlarm": True,
}
STACKS: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "prod-optional-features": ("prod", OPTIONAL_FEATURES),
    # without monitoring the queue schedules its own slot keeper
    "dev-without-monitoring": (
        "dev",
        {
            "trainops:monitoring.enabled": False,
            "trainops:scheduledRetraining.notifications": "none",
        },
    ),
    # CloudTrail data events instead of the access-log bucket
    "dev-cloudtrail-access-logs": ("dev", {"trainops:accessLogs.destination": "cloudtrail"}),
}


@pytest.mark.parametrize("variant", STACKS)
def test_both_stacks_pass_every_rule(
    run_stack: Callable[..., offline.Recording], variant: str
) -> None:
    stack, overrides = STACKS[variant]
    violations = rules.evaluate(stack_of(run_stack(stack, overrides)))
    assert violations == [], "\n".join(f"{v.rule} {v.resource}: {v.message}" for v in violations)


@pytest.mark.parametrize("variant", STACKS)
def test_both_stacks_pass_through_the_policy_engine(
    run_stack: Callable[..., offline.Recording], variant: str
) -> None:
    """The whole pack on the engine's proxies: no violation, no crash, nothing left unchecked."""
    stack, overrides = STACKS[variant]
    assert analyze_stack(stack_of(run_stack(stack, overrides)).resources) == []


def test_every_rule_examines_resources_of_the_stacks(
    run_stack: Callable[..., offline.Recording],
) -> None:
    """A rule whose type tokens match nothing would pass vacuously."""
    resources = [r for stack in ("dev", "prod") for r in stack_of(run_stack(stack)).resources]
    for rule in rules.RULES:
        examined = [r for r in resources if rule.applies_to(r.type)]
        assert examined, f"{rule.id} examines no resource of either stack"
