"""The pure fold: no mutation of its input, idempotent per version, order-independent catch-up."""

from __future__ import annotations

import copy
import itertools
import random

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


# ---- arrival order is not event order ---------------------------------------------------------
A, B = "arn:x/execution/a", "arn:x/execution/b"


def at(kind: str, second: int, **payload: object) -> dict:
    """An event that happened at ``second``; its version is set when it arrives."""
    return {
        "version": 0,
        "type": kind,
        "time": f"2026-11-22T08:00:{second:02d}Z",
        "model": "churn",
        "payload": payload,
    }


def status(execution: str, value: str, second: int) -> dict:
    return at(
        projection.PIPELINE_STATUS,
        second,
        currentPipelineExecutionStatus=value,
        pipelineExecutionArn=execution,
    )


# A request that fails retryably on A, is re-queued, and succeeds on B.
RETRIED = [
    at("TrainingRequested", 1, requestId="r", attempt=1, trigger="queue"),
    at("TrainingStarted", 2, executionArn=A, requestId="r", attempt=1),
    status(A, "Executing", 3),
    status(A, "Failed", 10),
    at("TrainingRequeued", 11, executionArn=A, requestId="r", attempt=1, reason="CapacityError"),
    at("TrainingRequested", 12, requestId="r", attempt=2, trigger="queue"),
    at("TrainingStarted", 13, executionArn=B, requestId="r", attempt=2),
    status(B, "Executing", 14),
    status(B, "Succeeded", 20),
    at("TrainingSucceeded", 21, executionArn=B, requestId="r", attempt=2),
]


def arrived(events: list[dict]) -> list[dict]:
    """``events`` stored in the order given: versions 1, 2, ... as the recorder assigns them."""
    return [{**event, "version": index} for index, event in enumerate(events, start=1)]


def comparable(state: dict) -> dict:
    """A model state without what legitimately depends on arrival order (the version)."""
    out = {k: v for k, v in state.items() if k not in {"lastVersion", "ordering"}}
    out["ended"] = sorted(state["ordering"]["ended"])
    return out


def orders(events: list[dict], count: int, seed: int) -> list[list[dict]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible orders, not a secret
    out = [list(events), list(reversed(events))]
    while len(out) < count:
        shuffled = list(events)
        rng.shuffle(shuffled)
        out.append(shuffled)
    return out


def test_the_model_state_is_the_same_in_any_arrival_order() -> None:
    expected = projection.fold("model#churn", arrived(RETRIED))
    assert expected["runningExecution"] is None
    assert expected["lastSuccess"] == {
        "at": "2026-11-22T08:00:20Z",
        "executionArn": B,
        "requestId": "r",
    }
    assert expected["lastRequest"]["attempt"] == 2
    assert expected["lastFailure"]["executionArn"] == A
    for order in orders(RETRIED, 400, seed=17):
        state = projection.fold("model#churn", arrived(order))
        assert comparable(state) == comparable(expected), [e["time"] for e in order]


def test_a_late_start_does_not_revive_an_execution_that_failed_fast() -> None:
    """The worker crashed after starting A and re-published TrainingStarted after A failed."""
    order = [RETRIED[0], status(A, "Failed", 4), RETRIED[1], status(A, "Executing", 3)]
    state = projection.fold("model#churn", arrived(order))
    assert state["runningExecution"] is None
    run = projection.fold("run#a", arrived(order))
    assert run["status"] == "Failed"


def test_the_running_execution_is_the_latest_started_that_has_not_ended() -> None:
    """B runs; A's start and end arrive late and in any order: B stays the running one."""
    events = [RETRIED[1], status(A, "Failed", 10), RETRIED[6], status(B, "Executing", 14)]
    for order in itertools.permutations(events):
        state = projection.fold("model#churn", arrived(list(order)))
        assert state["runningExecution"] == B, [e["time"] for e in order]


def test_a_run_status_only_moves_forward() -> None:
    events = [status(A, "Executing", 3), status(A, "Stopping", 5), status(A, "Stopped", 6)]
    for order in itertools.permutations(events):
        assert projection.fold("run#a", arrived(list(order)))["status"] == "Stopped"


def test_the_last_success_is_chosen_by_event_time_across_time_formats() -> None:
    """SageMaker writes `...Z` to the second, trainops an ISO offset with microseconds: as text
    `08:00:20.5+00:00` < `08:00:20Z`, as time it is later."""
    sagemaker_a = status(A, "Succeeded", 20)
    trainops_b = {
        **at("TrainingSucceeded", 0, executionArn=B, requestId="r2", attempt=1),
        "time": "2026-11-22T08:00:20.500000+00:00",
    }
    for order in ([sagemaker_a, trainops_b], [trainops_b, sagemaker_a]):
        state = projection.fold("model#churn", arrived(order))
        assert state["lastSuccess"]["executionArn"] == B
        assert state["lastEventAt"] == trainops_b["time"]


def test_trainops_fills_in_the_request_of_a_success_sagemaker_told_first() -> None:
    order = [status(B, "Succeeded", 20), RETRIED[-1]]
    for events in (order, list(reversed(order))):
        state = projection.fold("model#churn", arrived(events))
        assert state["lastSuccess"]["executionArn"] == B
        assert state["lastSuccess"]["requestId"] == "r"
        assert state["counts"] == {"succeeded": 1}


def test_a_model_remembers_a_bounded_number_of_ended_executions() -> None:
    events = [status(f"arn:x/execution/{n}", "Failed", n % 60) for n in range(50)]
    state = projection.fold("model#churn", arrived(events))
    assert len(state["ordering"]["ended"]) == projection.RECENT_ENDS
    assert state["ordering"]["ended"][-1] == "arn:x/execution/49"


def test_a_read_model_written_before_the_ordering_bookkeeping_still_folds() -> None:
    old = projection.fold("model#churn", arrived(RETRIED[:2]))
    del old["ordering"]
    state = projection.fold("model#churn", [{**status(A, "Failed", 4), "version": 3}], old)
    assert state["runningExecution"] is None
    assert state["ordering"]["ended"] == [A]


def test_overlapping_executions_leave_the_latest_started_running_in_any_order() -> None:
    """A runs (started in the console and adopted), B starts later and ends: A still runs."""
    events = [
        at("TrainingStarted", 1, executionArn=A),
        at("TrainingStarted", 5, executionArn=B),
        status(B, "Executing", 6),
        status(B, "Succeeded", 9),
    ]
    for order in itertools.permutations(events):
        state = projection.fold("model#churn", arrived(list(order)))
        assert state["runningExecution"] == A, [e["time"] for e in order]
    for order in itertools.permutations([*events, status(A, "Failed", 12)]):
        assert projection.fold("model#churn", arrived(list(order)))["runningExecution"] is None


def test_a_delayed_outcome_does_not_make_an_older_success_the_last() -> None:
    """trainops' TrainingSucceeded for A arrives after B succeeded; it carries SageMaker's
    time of A's end (training_outcome dates it so), so B stays the last success."""
    events = [
        status(A, "Succeeded", 10),
        status(B, "Succeeded", 20),
        at("TrainingSucceeded", 10, executionArn=A, requestId="r", attempt=1),
    ]
    for order in itertools.permutations(events):
        state = projection.fold("model#churn", arrived(list(order)))
        assert state["lastSuccess"]["executionArn"] == B, [e["type"] for e in order]


def test_records_of_the_same_second_are_chosen_the_same_way_in_any_order() -> None:
    first = at(projection.RUN_COMMAND_STATUS, 10, status="Success", **{"command-id": "c1"})
    second = at(projection.RUN_COMMAND_STATUS, 10, status="Failed", **{"command-id": "c2"})
    chosen = {
        projection.fold("model#churn", arrived(order))["lastMaintenanceRun"]["commandId"]
        for order in ([first, second], [second, first])
    }
    assert len(chosen) == 1
    stopped, failed = status(A, "Stopped", 7), status(A, "Failed", 7)
    statuses = {
        projection.fold("run#a", arrived(order))["status"]
        for order in ([stopped, failed], [failed, stopped])
    }
    assert statuses == {"Failed"}
