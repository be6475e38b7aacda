"""Typed outcomes read, log and store as the plain values callers and stored results know."""

from __future__ import annotations

import json

import pytest

from trainops_runtime.outcomes import RequestOutcome, RunOutcome, StartOutcome


@pytest.mark.parametrize("outcome", [*RequestOutcome, *StartOutcome, *RunOutcome])
def test_an_outcome_serialises_and_compares_as_its_value(outcome) -> None:
    assert json.loads(json.dumps({"outcome": outcome})) == {"outcome": outcome.value}
    # an idempotency record stored before (a plain string) still equals the typed outcome
    assert json.loads(json.dumps(outcome.value)) == outcome
    assert f"{outcome}" == outcome.value


def test_the_values_are_the_ones_the_handlers_have_always_returned() -> None:
    assert {o.value for o in RunOutcome} == {"succeeded", "stopped", "requeued", "failed"}
    assert {o.value for o in StartOutcome} == {"started", "duplicate", "skipped", "refused"}
    assert {o.value for o in RequestOutcome} == {
        "started",
        "duplicate",
        "rejected",
        "deferred",
        "retry",
    }
