"""start_retraining on moto: one execution per tick, no duplicates, no overlaps, new-data gating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from tests.catalog_file import use_catalog
from tests.event_sink import EventSink
from tests.handlers.slot_helpers import hold
from tests.sagemaker_sim import PipelineSim
from tests.slot_ledger import TABLE, held
from tests.sns_inbox import Inbox
from trainops_runtime import domain_events, retraining, settings, training_slots
from trainops_runtime.adapters import clients, event_bus, slots
from trainops_runtime.errors import RetryableError, StartFailed
from trainops_runtime.handlers import start_retraining
from trainops_runtime.training_cost import CostSpec, JobShape
from trainops_runtime.training_request import TrainingRequest

CATALOG = {
    "churn": {
        "pipelineName": "trainops-test-churn",
        "trainingData": "s3://training-data/churn/",
        "hyperparameters": [],
        "maxRuntimeMinutes": 60,
    },
    "fraud": {
        "pipelineName": "trainops-test-fraud",
        "trainingData": "s3://training-data/fraud/",
        "hyperparameters": [],
        "maxRuntimeMinutes": 60,
    },
}
TICK = {"model": "churn", "scheduledTime": "2026-11-22T06:00:00Z"}


def ledger_table() -> str | None:
    """The slot ledger the tick uses (None: the stack has no training queue)."""
    return settings.SLOTS_TABLE.read() or None


def only_when_new_data(monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    """The catalog the program ships when ``model`` retrains only on new data."""
    use_catalog(
        monkeypatch,
        {name: {**entry, "onlyWhenNewData": name == model} for name, entry in CATALOG.items()},
    )


def with_pipelines(pipelines: PipelineSim, monkeypatch: pytest.MonkeyPatch) -> PipelineSim:
    """The test stack's catalog and both models' pipelines."""
    use_catalog(monkeypatch, CATALOG)
    monkeypatch.setenv("TRAINOPS_STACK", "test")
    for entry in CATALOG.values():
        pipelines.create_pipeline(entry["pipelineName"])
    return pipelines


@pytest.fixture(params=["ledger", "listing"])
def sim(
    request: pytest.FixtureRequest,
    pipelines: PipelineSim,
    event_sink: EventSink,
    monkeypatch: pytest.MonkeyPatch,
) -> PipelineSim:
    """Every test runs twice: with the training queue's slot ledger (the tick claims the model's
    slot) and without a queue (the tick asks SageMaker whether the model runs)."""
    if request.param == "ledger":
        request.getfixturevalue("slot_ledger")
    else:
        monkeypatch.delenv(settings.SLOTS_TABLE.name, raising=False)
    return with_pipelines(pipelines, monkeypatch)


def test_a_tick_starts_exactly_one_execution(sim: PipelineSim, event_sink: EventSink) -> None:
    result = start_retraining.run(TICK)
    assert result["status"] == "started"
    (execution,) = sim.executions("trainops-test-churn")
    assert result["executionArn"] == execution.arn
    assert sim.parameters(execution.arn)["RequestId"] == "schedule:churn:2026-11-22T06:00:00Z"
    assert execution.pipeline_execution_display_name.startswith("sch-churn-a1-")
    assert sim.executions("trainops-test-fraud") == []
    assert event_sink.types() == ["TrainingRequested", "TrainingStarted"]


def test_the_same_tick_delivered_twice_starts_one(sim: PipelineSim, event_sink: EventSink) -> None:
    first = start_retraining.run(TICK)
    second = start_retraining.run(TICK)
    assert len(sim.executions("trainops-test-churn")) == 1
    assert second == {
        "status": "duplicate",
        "model": "churn",
        "executionArn": first["executionArn"],
    }
    assert "TrainingSkipped" not in event_sink.types()
    # the duplicate announces the start again with the same event ids (the store keeps one)
    started = [e["detail"] for e in event_sink.received if e["detail-type"] == "TrainingStarted"]
    assert len(started) == 2
    assert started[0]["eventId"] == started[1]["eventId"]
    # after the first execution finished, a late duplicate still maps onto the same execution
    sim.finish(first["executionArn"], "Succeeded")
    third = start_retraining.run(TICK)
    assert third["executionArn"] == first["executionArn"]
    assert len(sim.executions("trainops-test-churn")) == 1


def test_a_start_whose_announcement_failed_is_announced_by_the_retry(
    sim: PipelineSim, event_sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The execution started but TrainingStarted never reached the bus: Lambda's retry finds
    the execution running and publishes it, so the history is not left without the start."""
    real_publish = event_bus.publish

    def failing_for_started(bus: str | None, *events: domain_events.DomainEvent) -> int:
        if any(e.type == domain_events.TRAINING_STARTED for e in events):
            raise event_bus.PublishError("EventBridge rejected 1 event(s)")
        return real_publish(bus, *events)

    monkeypatch.setattr(event_bus, "publish", failing_for_started)
    with pytest.raises(event_bus.PublishError):
        start_retraining.run(TICK)
    assert event_sink.types() == ["TrainingRequested"]
    monkeypatch.setattr(event_bus, "publish", real_publish)
    retry = start_retraining.run(TICK)
    (execution,) = sim.executions("trainops-test-churn")
    assert retry == {"status": "duplicate", "model": "churn", "executionArn": execution.arn}
    assert event_sink.types() == ["TrainingRequested", "TrainingRequested", "TrainingStarted"]
    assert event_sink.received[-1]["detail"]["executionArn"] == execution.arn


def test_a_tick_while_an_execution_runs_starts_none_and_records_why(
    sim: PipelineSim, event_sink: EventSink
) -> None:
    earlier = start_retraining.run({**TICK, "scheduledTime": "2026-11-21T06:00:00Z"})
    event_sink.drain()
    result = start_retraining.run(TICK)
    assert result["status"] == "skipped"
    assert len(sim.executions("trainops-test-churn")) == 1
    (skipped,) = event_sink.drain()
    assert skipped["detail-type"] == "TrainingSkipped"
    assert skipped["detail"]["requestId"] == "schedule:churn:2026-11-22T06:00:00Z"
    assert skipped["detail"]["reason"] == (
        "churn is still training for request schedule:churn:2026-11-21T06:00:00Z (schedule)"
        if ledger_table()
        else f"execution {earlier['executionArn']} is still Executing"
    )


def put_object(key: str) -> None:
    boto3.client("s3").put_object(Bucket="training-data", Key=key, Body=b"rows")


def trained_once_on_gated_data(sim: PipelineSim, monkeypatch: pytest.MonkeyPatch) -> str:
    """churn gated on new data, with one successful training after its data was uploaded;
    the ARN of that training's execution."""
    only_when_new_data(monkeypatch, "churn")
    boto3.client("s3").create_bucket(Bucket="training-data")
    put_object("churn/part-0001.csv")
    previous = start_retraining.run({**TICK, "scheduledTime": "2026-11-15T06:00:00Z"})
    end(sim, previous["executionArn"], "schedule:churn:2026-11-15T06:00:00Z")
    return str(previous["executionArn"])


def move_start(sim: PipelineSim, execution_arn: str, hours_from_now: int) -> None:
    """Dates the execution's start, as SageMaker reports it, relative to now (the upload)."""
    sim.execution(execution_arn).start_time = datetime.now(UTC) + timedelta(hours=hours_from_now)


@pytest.fixture
def fresh_data(sim: PipelineSim, monkeypatch: pytest.MonkeyPatch) -> str:
    return trained_once_on_gated_data(sim, monkeypatch)


def end(sim: PipelineSim, execution_arn: str, request_id: str) -> None:
    """SageMaker ends the execution; with a ledger, training_outcome frees its slot."""
    sim.finish(execution_arn, "Succeeded")
    table = ledger_table()
    if table is not None:
        assert slots.release(table, "churn", held_token(request_id))


def test_only_when_new_data_skips_without_new_data(
    sim: PipelineSim, fresh_data: str, event_sink: EventSink
) -> None:
    move_start(sim, fresh_data, hours_from_now=1)  # after the upload
    event_sink.drain()
    result = start_retraining.run(TICK)
    assert result["status"] == "skipped"
    assert (
        "no data under s3://training-data/churn/ changed since the last success" in result["reason"]
    )
    assert len(sim.executions("trainops-test-churn")) == 1
    assert [e["detail-type"] for e in event_sink.drain()] == ["TrainingSkipped"]


def test_only_when_new_data_starts_with_new_data(sim: PipelineSim, fresh_data: str) -> None:
    move_start(sim, fresh_data, hours_from_now=-1)  # before the upload
    put_object("churn/part-0002.csv")
    assert start_retraining.run(TICK)["status"] == "started"
    assert len(sim.executions("trainops-test-churn")) == 2


def test_a_model_that_never_succeeded_trains(
    sim: PipelineSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_when_new_data(monkeypatch, "churn")
    assert start_retraining.run(TICK)["status"] == "started"


def test_start_is_notified(sim: PipelineSim, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox("retraining")
    monkeypatch.setenv(settings.NOTIFY_TOPIC_ARN.name, inbox.topic_arn)
    start_retraining.run(TICK)
    (body,) = inbox.messages()
    assert body["Subject"] == "trainops: scheduled retraining of churn started"
    assert "Execution: arn:aws:sagemaker:" in body["Message"]


def test_a_malformed_tick_raises(sim: PipelineSim) -> None:
    with pytest.raises(retraining.InvalidTick, match="unexpected schedule payload"):
        start_retraining.run({"model": "churn"})
    assert sim.executions("trainops-test-churn") == []


def expect_overlap_listing(stubber: Stubber) -> None:
    """Without a ledger the tick first lists the model's executions; with one it lists none."""
    if ledger_table() is None:
        stubber.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": []})


def tick_failing_to_start(
    code: str, raised: type[Exception] | tuple[type[Exception], ...], *, resumes: bool = False
) -> None:
    """A tick whose StartPipelineExecution SageMaker refuses with ``code``; it raises ``raised``.
    ``resumes``: a redelivery holding its slot, which first looks for its execution (here: not
    listed)."""
    with Stubber(clients.client("sagemaker")) as stubber:
        expect_overlap_listing(stubber)
        if resumes:
            stubber.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": []})
        stubber.add_client_error(
            "start_pipeline_execution", service_error_code=code, http_status_code=400
        )
        with pytest.raises(raised, match=code):
            start_retraining.run(TICK)


def test_throttling_raises_for_lambda_to_retry(sim: PipelineSim, event_sink: EventSink) -> None:
    tick_failing_to_start("ThrottlingException", RetryableError)
    assert event_sink.types() == ["TrainingRequested"]


def test_a_permanent_error_is_recorded_then_raised(sim: PipelineSim, event_sink: EventSink) -> None:
    tick_failing_to_start("ValidationException", StartFailed)
    types = event_sink.types()
    assert types == ["TrainingRequested", "TrainingFailed"]
    assert event_sink.received[-1]["detail"]["reason"] == "could not start: ValidationException"


# ---- with the training queue's slot ledger ------------------------------------------------------


@pytest.fixture
def ledger_sim(
    pipelines: PipelineSim, event_sink: EventSink, slot_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> PipelineSim:
    return with_pipelines(pipelines, monkeypatch)


def test_a_tick_holds_the_model_slot_until_the_run_ends(ledger_sim: PipelineSim) -> None:
    start_retraining.run(TICK)
    assert held() == {"churn": "schedule:churn:2026-11-22T06:00:00Z"}
    assert slots.read(TABLE).slots["churn"].trigger == "schedule"


def test_a_tick_skips_while_a_queued_request_trains_its_model(
    ledger_sim: PipelineSim, event_sink: EventSink
) -> None:
    queued = TrainingRequest(model="churn", request_id="req-queued", requested_by="tests")
    hold(queued, training_slots.utc_now())
    result = start_retraining.run(TICK)
    assert result["status"] == "skipped"
    assert result["reason"] == "churn is still training for request req-queued (queue)"
    assert ledger_sim.executions("trainops-test-churn") == []
    assert event_sink.types() == ["TrainingSkipped"]
    assert held() == {"churn": "req-queued"}


@pytest.mark.parametrize("code", ["ThrottlingException", "ValidationException"])
def test_a_start_that_failed_frees_the_tick_slot(ledger_sim: PipelineSim, code: str) -> None:
    tick_failing_to_start(code, (RetryableError, StartFailed))
    assert held() == {}
    assert slots.read(TABLE).version == 1  # it was claimed, then freed


def test_a_tick_without_new_data_takes_no_slot(
    ledger_sim: PipelineSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = trained_once_on_gated_data(ledger_sim, monkeypatch)
    move_start(ledger_sim, previous, hours_from_now=1)  # after the upload: no new data
    assert start_retraining.run(TICK)["status"] == "skipped"
    assert held() == {}


def held_token(request_id: str) -> str:
    return TrainingRequest(
        model="churn", request_id=request_id, requested_by="x"
    ).idempotency_token()


def test_a_duplicate_tick_whose_start_fails_keeps_the_slot(ledger_sim: PipelineSim) -> None:
    first = start_retraining.run(TICK)
    assert first["status"] == "started"
    tick_failing_to_start("ThrottlingException", RetryableError, resumes=True)
    assert held() == {"churn": "schedule:churn:2026-11-22T06:00:00Z"}


def test_a_duplicate_tick_finds_its_execution_and_starts_nothing(
    ledger_sim: PipelineSim,
) -> None:
    first = start_retraining.run(TICK)
    again = start_retraining.run(TICK)
    assert again["status"] == "duplicate"
    assert again["executionArn"] == first["executionArn"]
    assert len(ledger_sim.executions("trainops-test-churn")) == 1


def test_a_tick_over_its_cost_cap_is_refused_recorded_and_alerted(
    sim: PipelineSim, event_sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """churn's configured run (1 x ml.m5.xlarge for an hour, $0.24) against a $0.10 cap: the
    tick starts nothing, claims no slot, records why and alerts the warning topic."""
    cost = CostSpec(
        region="us-east-1",
        cap=0.10,
        training=JobShape("ml.m5.xlarge", instance_count=1, max_runtime_minutes=60, volume_gb=30),
    )
    use_catalog(monkeypatch, {**CATALOG, "churn": {**CATALOG["churn"], "cost": cost.to_dict()}})
    warning = Inbox("warning")
    monkeypatch.setenv(settings.WARNING_TOPIC_ARN.name, warning.topic_arn)
    result = start_retraining.run(TICK)
    assert result["status"] == "refused"
    assert sim.executions("trainops-test-churn") == []
    if ledger_table():
        assert held(ledger_table()) == {}
    assert event_sink.types() == ["TrainingRejected"]
    (rejected,) = event_sink.received
    assert rejected["detail"]["data"] == {"projectedCost": 0.24, "costCap": 0.1}
    assert "exceeds the cap of $0.10 per run" in rejected["detail"]["reason"]
    (alert,) = warning.messages()
    assert alert["Subject"] == "trainops: a run of churn was refused ($0.24 over the $0.10 cap)"
    assert "1 x ml.m5.xlarge ($0.230/h) x 1 h with 30 GB each" in alert["Message"]
    # fraud has no cap and trains as before
    assert start_retraining.run({**TICK, "model": "fraud"})["status"] == "started"
