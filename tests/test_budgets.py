"""Performance budgets, asserted on counts and ratios (`make bench` prints the full table)."""

from __future__ import annotations

import pytest

from benchmarks import measure

PIPELINES = 2  # the e2e platform's models


@pytest.fixture(scope="module")
def calls() -> dict:
    return measure.calls_per_unit_of_work()


def test_program_grows_linearly_with_models() -> None:
    """Per model (shaped like prod's churn: registered, gated, budgeted): execution role and its
    policy, pipeline, model package group, schedule, monthly budget, and (up to 20 models, the
    maintenance window's task limit) a maintenance task; the gate and the quality signals add
    none."""
    one, ten, fifty = (measure.evaluate("prod", n)["resources"] for n in (1, 10, 50))
    assert (ten - one) / 9 == 7
    assert (fifty - ten) / 40 == 6 + 10 / 40  # tasks 11-20, then the 20 tasks are shared


def test_worker_makes_one_start_per_request_and_one_capacity_query_per_batch(calls: dict) -> None:
    single, batch = calls["worker batch of 1 request"], calls["worker batch of 5 requests"]
    assert single["StartPipelineExecution"] == 1
    # one capacity query per batch, whatever its size: one consistent read of the slot ledger,
    # and no SageMaker listing at all
    assert single["GetItem"] == batch["GetItem"] == 1
    assert single["ListPipelineExecutions"] == batch["ListPipelineExecutions"] == 0
    # churn, fraud, churn, fraud, churn: one start per model (a model trains one request at
    # a time), the three that wait are deferred in one call
    assert batch["StartPipelineExecution"] == 2
    assert batch["ChangeMessageVisibilityBatch"] == 1
    # each start is made safe by exactly one conditional claim of its model's slot
    assert single["UpdateItem"] == single["StartPipelineExecution"]
    assert batch["UpdateItem"] == batch["StartPipelineExecution"]


def test_a_tick_makes_one_start(calls: dict) -> None:
    tick = calls["scheduled tick"]
    assert tick["StartPipelineExecution"] == 1
    assert tick["UpdateItem"] == 1  # its claim of the model's slot
    assert tick["ListPipelineExecutions"] == 0  # the ledger, not SageMaker, says what runs


def test_a_recorded_event_is_one_write(calls: dict) -> None:
    assert calls["recorded event"]["TransactWriteItems"] == 1
    assert (
        calls["duplicate event"]["TransactWriteItems"] == 1
    )  # refused by the marker, not rewritten


def test_a_projected_stream_is_one_read_and_at_most_one_write(calls: dict) -> None:
    projected = calls["projected event (one stream)"]
    assert projected["PutItem"] <= 1
    assert projected["GetItem"] == 1


def test_code_archive_is_small() -> None:
    assert measure.archive_bytes() < 200 * 1024


@pytest.mark.timing
def test_handler_imports_stay_close_to_boto3_and_powertools() -> None:
    ratios = measure.import_ratios(runs=5)
    ratios.pop("_baseline_seconds")
    slow = {name: round(ratio, 2) for name, ratio in ratios.items() if ratio > 1.5}
    assert slow == {}


@pytest.mark.timing
def test_replay_fold_is_fast() -> None:
    assert measure.fold_events_per_second(40_000) >= 50_000


def test_dev_idles_for_at_most_five_dollars_a_month() -> None:
    assert measure.idle_costs()["dev"] <= 5.0
