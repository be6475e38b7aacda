"""End-to-end under disorder: events out of order and twice, a replay racing the projector,
and poison bodies in the queue (#17). The handlers are the real ones, wired as in platform.py."""

from __future__ import annotations

import json
import random
from typing import Any

import boto3
import pytest

from tests.e2e.platform import EVENTS, READ_MODEL, Platform
from tests.event_store_helpers import create_tables
from tests.replay_race import writing_while_reading
from tests.sagemaker_sim import PipelineSim
from trainops_runtime.adapters import event_store, read_model
from trainops_runtime.adapters.request_queue import REJECT_REASON_ATTRIBUTE

PIPELINE = "SageMaker Model Building Pipeline Execution Status Change"
ALGORITHM = "AlgorithmError: ValueError: could not convert string to float"
CAPACITY = "ClientError: CapacityError: Unable to provision requested ML compute capacity."
NOTHING_FAILED = {"batchItemFailures": []}
NOTHING_TO_DELIVER = {"batchItemFailures": [], "invoked": False}


@pytest.fixture
def noisy(pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch) -> Platform:
    """Every delivery happens twice: producer retries, EventBridge's at-least-once delivery."""
    return Platform(pipelines, monkeypatch, duplicates=True)


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A read model without what legitimately follows arrival order: the fold's bookkeeping
    and the order of a run's timeline (kept in store order)."""
    out = {k: v for k, v in state.items() if k != "ordering"}
    if "timeline" in out:
        out["timeline"] = sorted(
            (step["type"], step.get("status", ""), step.get("reason", ""))
            for step in out["timeline"]
        )
    return out


def test_a_run_that_failed_fast_stays_failed_when_its_start_arrives_late(noisy: Platform) -> None:
    """The worker started the run, but its TrainingStarted (re-published after a crash) and
    SageMaker's Executing (a recorder retry) reach the store only after the run failed."""
    noisy.submit("churn", "req-fast")
    assert noisy.poll() == NOTHING_FAILED
    (execution,) = noisy.executions("churn")
    noisy.finish(execution, "Failed", step_failure=ALGORITHM, record_earlier_first=False)
    noisy.status_change(execution, "Executing")
    noisy.pump()
    assert [(kind, status) for kind, _, status in noisy.history("model#churn")] == [
        (PIPELINE, "Failed"),
        (PIPELINE, "Executing"),
        ("TrainingRequested", 1),
        ("TrainingStarted", 1),
        ("TrainingFailed", 1),
    ]
    state = noisy.state("model#churn")
    assert state["runningExecution"] is None
    assert state["lastFailure"]["executionArn"] == execution.arn
    assert state["lastFailure"]["final"] is True
    assert state["counts"] == {"requested": 1, "started": 1, "failed": 1, "gaveUp": 1}
    run = noisy.state(f"run#{execution.arn.rsplit('/', 1)[-1]}")
    assert run["status"] == "Failed"
    assert len(noisy.alerts()) == 1  # the Failed status came twice; the team is paged once


def run_a_retried_request(platform: Platform) -> tuple[Any, Any]:
    platform.submit("churn", "req-flaky")
    platform.poll()
    (first,) = platform.executions("churn")
    platform.finish(first, "Failed", step_failure=CAPACITY)
    platform.pump()
    platform.poll()
    _, second = platform.executions("churn")
    platform.status_change(second, "Executing")
    platform.finish(second, "Succeeded")
    platform.pump()
    return first, second


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_archive_replayed_in_any_order_rebuilds_the_same_read_model(
    noisy: Platform, seed: int
) -> None:
    """The recovery docs/operations.md describes: the tables are lost and the bus archive is replayed into fresh
    ones. EventBridge keeps no order and the archive holds every duplicate delivery."""
    first, second = run_a_retried_request(noisy)
    streams = ["model#churn", f"run#{first.arn.rsplit('/', 1)[-1]}"]
    streams.append(f"run#{second.arn.rsplit('/', 1)[-1]}")
    before = {stream: comparable(noisy.state(stream)) for stream in streams}
    assert before["model#churn"]["runningExecution"] is None
    assert before["model#churn"]["lastSuccess"]["executionArn"] == second.arn

    dynamodb = boto3.client("dynamodb")
    for table in (EVENTS, READ_MODEL):
        dynamodb.delete_table(TableName=table)
    create_tables()
    archive = list(noisy.archive)
    random.Random(seed).shuffle(archive)  # noqa: S311 - a reproducible order, not a secret
    for event in archive:
        noisy.record(event)
    noisy.project()
    after = {stream: comparable(noisy.state(stream)) for stream in streams}
    assert after == before


def test_a_replay_racing_the_projector_never_rolls_the_read_model_back(noisy: Platform) -> None:
    """`trainops replay` reads the model's stream while the run is executing; before it writes,
    the run succeeds and the projector records it. The replay keeps the newer state."""
    noisy.submit("churn", "req-race")
    noisy.poll()
    (execution,) = noisy.executions("churn")
    noisy.pump()

    def the_run_ends() -> None:
        noisy.finish(execution, "Succeeded")
        noisy.pump()

    with writing_while_reading("model#churn", the_run_ends) as raced:
        rebuilt = read_model.rebuild(EVENTS, READ_MODEL, list(event_store.streams(EVENTS)))
    assert raced == ["model#churn"]
    assert "model#churn" in rebuilt.newer_kept
    state = noisy.state("model#churn")
    assert state["runningExecution"] is None
    assert state["lastSuccess"] == {"executionArn": execution.arn, "requestId": "req-race"}
    assert read_model.rebuild(EVENTS, READ_MODEL, ["model#churn"]).newer_kept == []
    assert noisy.state("model#churn") == state


POISON = {
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "an integer beyond Python's digit limit": '{"model": "churn", "requestId": "p-int", '
    '"attempt": ' + "9" * 5_000 + "}",
    "at SQS's size limit": "x" * 262_144,
    "an invalid request": json.dumps({"model": "churn", "requestId": "p-bad", "attempt": 99}),
    "not JSON": "{model: churn",
}


def test_poison_bodies_are_dead_lettered_once_and_do_not_hold_up_the_model(
    noisy: Platform,
) -> None:
    """Each is rejected once, with a reason; the valid request behind them in the model's FIFO
    group trains in the same drain instead of waiting days for maxReceiveCount."""
    for body in POISON.values():
        noisy.send_raw(body, "churn")
    noisy.submit("churn", "req-behind")
    noisy.drain_queue()
    (execution,) = noisy.executions("churn")
    assert noisy.sim.parameters(execution.arn)["RequestId"] == "req-behind"
    dead = noisy.dead_letters()
    assert len(dead) == len(POISON)
    reasons = [d["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"] for d in dead]
    assert all(reasons), reasons
    noisy.pump()
    rejected = [e for e in noisy.stored("model#churn") if e["type"] == "TrainingRejected"]
    assert len(rejected) == len(POISON)
    # the invalid request under its own id; bodies that cannot be read under their message id
    request_ids = sorted(e["payload"]["requestId"] for e in rejected)
    assert "p-bad" in request_ids
    assert len(set(request_ids)) == len(POISON)
    assert noisy.poll() == NOTHING_TO_DELIVER


def test_a_poison_body_in_a_group_that_is_no_model_name_is_still_recorded(noisy: Platform) -> None:
    """The rejection cannot be filed under the group `Churn_Model` (the recorder refuses what
    is not a model name, and the rejection would be lost): it goes to `model#unknown`."""
    noisy.send_raw("{not json", "Churn_Model")
    noisy.drain_queue()
    (dead,) = noisy.dead_letters()
    assert dead["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"].startswith(
        "body is not JSON"
    )
    noisy.pump()
    (rejected,) = noisy.stored("model#unknown")
    assert rejected["type"] == "TrainingRejected"
