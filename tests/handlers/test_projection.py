"""The pure fold: no mutation of its input, idempotent per version, order-independent catch-up."""

from __future__ import annotations

import copy

from trainops_runtime import projection


def event(version: int, kind: str, **payload: object) -> dict:
    return {
        "version": version,
        "type": kind,
        "time": f"2026-11-22T00:00:{version:02d}Z",
        "model": "churn",
        "payload": payload,
    }


HISTORY = [
    event(1, "TrainingRequested", requestId="r", attempt=1, trigger="queue"),
    event(2, "TrainingStarted", executionArn="arn:x/execution/a"),
    event(
        3,
        projection.PIPELINE_STATUS,
        currentPipelineExecutionStatus="Succeeded",
        pipelineExecutionArn="arn:x/execution/a",
    ),
]


def test_fold_does_not_change_its_input() -> None:
    state = projection.fold("model#churn", HISTORY[:2])
    before = copy.deepcopy(state)
    after = projection.fold("model#churn", HISTORY[2:], state)
    assert state == before
    assert after["counts"] == {"requested": 1, "started": 1, "succeeded": 1}
    assert projection.fold_model(state, HISTORY[2]) == after
    assert state == before


def test_an_event_already_applied_changes_nothing() -> None:
    state = projection.fold("model#churn", HISTORY)
    assert projection.fold("model#churn", HISTORY, state) == state


def test_folding_in_parts_equals_folding_at_once() -> None:
    whole = projection.fold("run#a", HISTORY)
    parts = projection.fold("run#a", HISTORY[1:], projection.fold("run#a", HISTORY[:1]))
    assert parts == whole
