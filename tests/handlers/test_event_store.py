"""Recorder, event store and projector on moto: once, in order, identical to a replay."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.catalog_file import use_catalog
from tests.event_store_helpers import EVENTS, READ_MODEL, create_tables, stream_records
from tests.handlers.recorder_inputs import EXECUTION, domain, envelope, maintenance_run, sagemaker
from tests.lambda_context import LambdaContext
from tests.replay_race import writing_while_reading
from trainops_runtime import catalog as catalog_module
from trainops_runtime import projection
from trainops_runtime.adapters import clients, event_store, read_model
from trainops_runtime.handlers import projector, recorder

CATALOG = {
    "churn": {
        "pipelineName": "trainops-dev--churn",
        "trainingData": "s3://data-bucket/churn/",
        "maxRuntimeMinutes": 60,
    }
}


@pytest.fixture
def store(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    create_tables()
    monkeypatch.setenv("TRAINOPS_EVENT_TABLE", EVENTS)
    monkeypatch.setenv("TRAINOPS_READ_MODEL_TABLE", READ_MODEL)
    use_catalog(monkeypatch, CATALOG)
    catalog_module.load.cache_clear()


def stream(name: str) -> list[dict[str, Any]]:
    return list(event_store.read_stream(EVENTS, name))


def test_an_event_is_stored_in_its_streams_in_order(store: None) -> None:
    recorder.run(envelope(domain("TrainingRequested", execution=None), "eb-1"))
    recorder.run(envelope(domain("TrainingStarted"), "eb-2"))
    recorder.run(sagemaker("sagemaker_pipeline_execution_succeeded", "eb-3"))
    model = stream("model#churn")
    assert [(e["version"], e["type"]) for e in model] == [
        (1, "TrainingRequested"),
        (2, "TrainingStarted"),
        (3, "SageMaker Model Building Pipeline Execution Status Change"),
    ]
    run = stream("run#p4jn9xou8a8s")
    assert [(e["version"], e["type"]) for e in run] == [
        (1, "TrainingStarted"),
        (2, "SageMaker Model Building Pipeline Execution Status Change"),
    ]


def test_the_same_event_delivered_twice_is_stored_once(store: None) -> None:
    event = envelope(domain("TrainingStarted"), "eb-1")
    assert recorder.run(event)["recorded"] is True
    assert recorder.run(copy.deepcopy(event))["recorded"] is False
    # the same fact published again by a retried handler: another EventBridge id, same eventId
    assert recorder.run(envelope(domain("TrainingStarted"), "eb-2"))["recorded"] is False
    replayed = sagemaker("sagemaker_pipeline_execution_failed", "eb-9")
    recorder.run(replayed)
    assert recorder.run({**replayed, "replay-name": "recovery-2026-11-22"})["recorded"] is False
    assert len(stream("model#churn")) == 2


def test_two_writers_racing_on_one_stream_get_versions_n_and_n_plus_1(
    store: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder.run(envelope(domain("TrainingRequested", execution=None), "eb-1"))
    original = event_store.head_version
    raced = {"done": False}

    def head_version_with_a_rival(table: str, name: str) -> int:
        stale = original(table, name)
        if not raced["done"] and name == "model#churn":
            raced["done"] = True  # another recorder appends between our read and our write
            event_store.append(
                table,
                recorder.to_stored(
                    envelope(
                        domain("TrainingDeferred", execution=None, discriminator="x"), "eb-rival"
                    ),
                    catalog_module.load(),
                ),
            )
        return stale

    monkeypatch.setattr(event_store, "head_version", head_version_with_a_rival)
    recorder.run(envelope(domain("TrainingStarted"), "eb-2"))
    assert [(e["version"], e["type"]) for e in stream("model#churn")] == [
        (1, "TrainingRequested"),
        (2, "TrainingDeferred"),
        (3, "TrainingStarted"),
    ]


def cancel_transaction(stubber: Stubber, code: str) -> None:
    """The next TransactWriteItems is cancelled with ``code`` on its second item (the model
    stream's; the run stream's and the event's own items are fine)."""
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        response_meta={},
        modeled_fields={
            "CancellationReasons": [{"Code": "None"}, {"Code": code}, {"Code": "None"}]
        },
    )


@pytest.mark.parametrize(
    "rival",
    [
        "ConditionalCheckFailed",  # the rival's item is already there
        "TransactionConflict",  # the rival's transaction is writing it right now
    ],
)
def test_a_conflict_is_retried_with_the_next_version(store: None, rival: str) -> None:
    """Stubber: the first transaction is cancelled on the stream item, the second succeeds;
    heads are read strongly consistent, so the retry sees the rival's version."""
    stored = recorder.to_stored(envelope(domain("TrainingStarted"), "eb-1"), catalog_module.load())
    dynamodb = clients.client("dynamodb")
    with Stubber(dynamodb) as stubber:
        for version in (4, 5):
            for name in ("model#churn", "run#p4jn9xou8a8s"):
                stubber.add_response(
                    "query",
                    {
                        "Items": [{"version": {"N": str(version - 1)}}]
                        if name == "model#churn"
                        else []
                    },
                    {
                        "TableName": EVENTS,
                        "ConsistentRead": True,
                        "KeyConditionExpression": "#s = :s",
                        "ExpressionAttributeNames": {"#s": "stream"},
                        "ExpressionAttributeValues": {":s": {"S": name}},
                        "ScanIndexForward": False,
                        "Limit": 1,
                        "ProjectionExpression": "version",
                    },
                )
            if version == 4:
                cancel_transaction(stubber, rival)
            else:
                stubber.add_response("transact_write_items", {})
        assert event_store.append(EVENTS, stored) == {"model#churn": 5, "run#p4jn9xou8a8s": 1}
        stubber.assert_no_pending_responses()


def test_a_cancellation_for_another_reason_is_not_retried(store: None) -> None:
    stored = recorder.to_stored(envelope(domain("TrainingStarted"), "eb-1"), catalog_module.load())
    with Stubber(clients.client("dynamodb")) as stubber:
        stubber.add_response("query", {"Items": []})
        stubber.add_response("query", {"Items": []})
        cancel_transaction(stubber, "ValidationError")
        with pytest.raises(ClientError):
            event_store.append(EVENTS, stored)
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {
                "id": "x",
                "source": "trainops.training",
                "detail-type": "TrainingStarted",
                "detail": {"type": "TrainingStarted"},
            },
            "domain event without eventId",
        ),
        (
            {"id": "x", "source": "my.app", "detail-type": "Hello", "detail": {}},
            "events from 'my.app' are not recorded here",
        ),
        ({"source": "aws.sagemaker", "detail": {}}, "not an EventBridge event with an id"),
    ],
)
def test_a_malformed_event_is_rejected_loudly(
    store: None, event: dict[str, Any], reason: str
) -> None:
    with pytest.raises(recorder.MalformedEvent, match=reason):
        recorder.handler(event, LambdaContext())


def with_detail(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], **changes}}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda: with_detail(envelope(domain("TrainingStarted")), executionArn=["arn"]),
            "domain event field executionArn must be str, got list",
        ),
        (
            lambda: with_detail(envelope(domain("TrainingStarted")), model={"name": "churn"}),
            "domain event field model must be str, got dict",
        ),
        (
            lambda: with_detail(envelope(domain("TrainingStarted")), model="Churn Model#1"),
            "domain event model 'Churn Model#1' is not a model name",
        ),
        (
            lambda: with_detail(envelope(domain("TrainingStarted")), attempt="2"),
            "domain event field attempt must be int, got str",
        ),
        (
            lambda: with_detail(envelope(domain("TrainingStarted")), attempt=True),
            "domain event field attempt must be int, got bool",
        ),
        (
            lambda: with_detail(envelope(domain("TrainingFailed")), reason=42),
            "domain event field reason must be str, got int",
        ),
        (
            lambda: with_detail(
                sagemaker("sagemaker_pipeline_execution_failed", "eb-1"), pipelineArn=7
            ),
            "pipeline status change: pipelineArn must be a non-empty string, got int",
        ),
        (
            lambda: with_detail(
                sagemaker("sagemaker_pipeline_execution_failed", "eb-1"),
                pipelineExecutionArn=None,
            ),
            "pipeline status change: pipelineExecutionArn must be a non-empty string, got null",
        ),
        (
            lambda: with_detail(
                sagemaker("sagemaker_training_job_failed", "eb-1"), TrainingJobName=["a"]
            ),
            "training job state change: TrainingJobName must be a non-empty string, got list",
        ),
        (
            lambda: with_detail(
                sagemaker("ssm_run_command_status_failed", "eb-1"), **{"document-name": {}}
            ),
            "Run Command status change: document-name must be a non-empty string, got dict",
        ),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_by_name(store: None, make: Any, reason: str) -> None:
    """Events are input: a list where a string belongs is named as such, never an
    AttributeError, and never a stream such as `model#{'name': ...}`."""
    with pytest.raises(recorder.MalformedEvent) as raised:
        recorder.run(make())
    assert str(raised.value) == reason
    assert event_store.streams(EVENTS) == []


def test_a_run_command_event_with_odd_parameters_still_records(store: None) -> None:
    recorder.run(maintenance_run("eb-1", parameters=["not", "a", "map"]))
    assert len(stream("maintenance#trainops-dev-retrain")) == 1


def test_an_unknown_pipeline_is_rejected(store: None) -> None:
    event = sagemaker("sagemaker_pipeline_execution_failed", "eb-1")
    event["detail"]["pipelineArn"] = (
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/someone-else"
    )
    with pytest.raises(recorder.MalformedEvent, match="not one of this stack's"):
        recorder.run(event)


def test_training_jobs_and_maintenance_runs_have_their_streams(store: None) -> None:
    recorder.run(sagemaker("sagemaker_training_job_failed", "eb-1"))
    assert [e["type"] for e in stream("job#pipelines-p4jn9xou8a8s-train-tmgxry49ug")] == [
        "SageMaker Training Job State Change"
    ]
    assert len(stream("model#churn")) == 1  # from the job's trainops:model tag
    recorder.run(maintenance_run("eb-2"))  # AWS's sample runs no model: its own stream only
    assert [e["payload"]["status"] for e in stream("maintenance#trainops-dev-retrain")] == [
        "Failed"
    ]
    assert len(stream("model#churn")) == 1


def test_a_maintenance_run_lands_in_its_models_history_and_state(store: None) -> None:
    """The retraining document's models parameter ties the run to the model (and a command
    from before tasks could share models, with `modelName`, too)."""
    for event_id, status, parameters in (
        ("eb-1", "Failed", {"models": ["churn"], "dataUris": ["s3://data-bucket/churn/"]}),
        ("eb-2", "Success", {"modelName": ["churn"], "dataUri": ["s3://data-bucket/churn/"]}),
    ):
        recorder.run(maintenance_run(event_id, status=status, parameters=parameters))
    history = stream("model#churn")
    assert [(e["type"], e["payload"]["status"]) for e in history] == [
        ("EC2 Command Status-change Notification", "Failed"),
        ("EC2 Command Status-change Notification", "Success"),
    ]
    state = projection.fold("model#churn", history)
    assert state["counts"] == {"maintenanceFailed": 1, "maintenanceSucceeded": 1}
    assert state["lastMaintenanceRun"]["status"] == "Success"


def test_a_shared_maintenance_task_lands_in_each_of_its_models_histories(
    store: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 20 models a task retrains several, one after another: its status is theirs."""
    fraud = {**CATALOG["churn"], "pipelineName": "trainops-dev--fraud"}
    use_catalog(monkeypatch, {**CATALOG, "fraud": fraud})
    data = "s3://data-bucket/churn/ s3://data-bucket/fraud/ s3://x/ s3://data-bucket/churn/"
    parameters = {"models": ["churn fraud unknown-model churn"], "dataUris": [data]}
    recorder.run(maintenance_run("eb-1", status="Success", parameters=parameters))
    for model in ("churn", "fraud"):
        (event,) = stream(f"model#{model}")
        assert event["payload"]["status"] == "Success"
    assert len(stream("maintenance#trainops-dev-retrain")) == 1
    assert stream("model#unknown-model") == []


def record_a_history() -> None:
    recorder.run(envelope(domain("TrainingRequested", execution=None, reason="nightly"), "eb-1"))
    recorder.run(envelope(domain("TrainingStarted"), "eb-2"))
    executing = sagemaker("sagemaker_pipeline_execution_executing", "eb-3")
    recorder.run(executing)
    recorder.run(sagemaker("sagemaker_pipeline_execution_failed", "eb-4"))
    recorder.run(
        envelope(
            domain("TrainingRequeued", reason="CapacityError", data={"nextAttempt": 2}), "eb-5"
        )
    )
    recorder.run(envelope(domain("TrainingRequested", attempt=2, execution=None), "eb-6"))


def record_and_project_a_history() -> None:
    record_a_history()
    assert projector.run({"Records": stream_records()}) == {"batchItemFailures": []}


def test_projector_and_replay_build_identical_read_models(store: None) -> None:
    record_and_project_a_history()
    projected = {
        name: read_model.load(READ_MODEL, name) for name in ("model#churn", "run#p4jn9xou8a8s")
    }
    rebuilt = read_model.rebuild(EVENTS, READ_MODEL, list(event_store.streams(EVENTS)))
    assert projected == rebuilt.states
    assert rebuilt.newer_kept == []
    model = projected["model#churn"]
    assert model["counts"] == {"requested": 2, "started": 1, "failed": 1, "requeued": 1}
    assert model["runningExecution"] is None
    assert model["lastFailure"]["reason"] == "CapacityError"
    assert model["lastRequest"]["attempt"] == 2
    run = projected["run#p4jn9xou8a8s"]
    assert [step["type"] for step in run["timeline"]] == [
        "TrainingStarted",
        "SageMaker Model Building Pipeline Execution Status Change",
        "SageMaker Model Building Pipeline Execution Status Change",
        "TrainingRequeued",
    ]
    assert run["status"] == "Failed"


def test_projecting_the_same_records_twice_changes_nothing(store: None) -> None:
    record_a_history()
    records = stream_records()
    projector.run({"Records": records})
    first = read_model.load(READ_MODEL, "model#churn")
    projector.run({"Records": list(reversed(records))})
    assert read_model.load(READ_MODEL, "model#churn") == first


def test_a_concurrent_projection_is_reported_for_retry(
    store: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_a_history()
    records = stream_records()

    def stale(*args: Any, **kwargs: Any) -> None:
        raise read_model.StaleWrite("someone else was faster")

    monkeypatch.setattr(read_model, "save", stale)
    failures = projector.run({"Records": records})["batchItemFailures"]
    assert len(failures) == 2  # one per stream, at its first record


SECOND_EXECUTION = EXECUTION.replace("p4jn9xou8a8s", "q5ko0ypv9b9t")


def test_a_replay_racing_the_projector_keeps_the_newer_state(store: None) -> None:
    """The replay reads the stream at version 6; before it writes, a new event is recorded and
    projected (version 7). The replay's write is refused: the read model is never rolled back."""
    record_and_project_a_history()

    def record_and_project_a_second_start() -> None:
        started = domain("TrainingStarted", attempt=2, execution=SECOND_EXECUTION)
        recorder.run(envelope(started, "eb-7"))
        read_model.catch_up(EVENTS, READ_MODEL, "model#churn")

    with writing_while_reading("model#churn", record_and_project_a_second_start) as raced:
        rebuilt = read_model.rebuild(EVENTS, READ_MODEL, ["model#churn", "run#p4jn9xou8a8s"])
    assert raced == ["model#churn"]
    assert rebuilt.newer_kept == ["model#churn"]
    assert set(rebuilt.states) == {"run#p4jn9xou8a8s"}
    state = read_model.load(READ_MODEL, "model#churn")
    assert state["lastVersion"] == 7
    assert state["runningExecution"] == SECOND_EXECUTION
    # With nothing racing it, a replay over the same version rewrites the state (repairs it).
    again = read_model.rebuild(EVENTS, READ_MODEL, ["model#churn"])
    assert again.newer_kept == []
    assert again.states["model#churn"] == state


def test_catching_up_reads_only_the_events_after_the_stored_version(store: None) -> None:
    """The cost of projecting one event does not grow with the model's history."""
    record_and_project_a_history()
    read: list[int] = []

    def count_items(parsed: dict[str, Any], **_: Any) -> None:
        read.append(len(parsed.get("Items", [])))

    recorder.run(envelope(domain("TrainingStarted", attempt=2), "eb-7"))
    dynamodb = clients.client("dynamodb")
    dynamodb.meta.events.register("after-call.dynamodb.Query", count_items)
    try:
        state = read_model.catch_up(EVENTS, READ_MODEL, "model#churn")
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.Query", count_items)
    assert state["lastVersion"] == 7
    assert sum(read) == 1  # the new event, not the seven of the stream


def test_a_domain_event_with_an_unreadable_time_is_refused(store: None) -> None:
    """The read model orders by `occurredAt`: an unreadable one would lose to every other."""
    event = envelope(domain("TrainingRequested", execution=None), "eb-1")
    event["detail"]["occurredAt"] = "yesterday"
    with pytest.raises(recorder.MalformedEvent, match="occurredAt 'yesterday' is not an ISO"):
        recorder.run(event)
    assert event_store.streams(EVENTS) == []


@pytest.mark.parametrize("tag", ["Churn Model", "fraud", "someone-elses-model"])
def test_a_job_tagged_with_no_model_of_this_stack_keeps_to_its_own_stream(
    store: None, tag: str
) -> None:
    job = sagemaker("sagemaker_training_job_failed", "eb-1")
    job["detail"]["Tags"]["trainops:model"] = tag
    recorder.run(job)
    assert event_store.streams(EVENTS, ("model#", "job#")) == [
        "job#pipelines-p4jn9xou8a8s-train-tmgxry49ug"
    ]


def test_a_forced_replay_rewrites_a_state_newer_than_the_store(store: None) -> None:
    """After the store is restored from a backup its versions go back: a plain replay keeps
    the (now wrong) newer read model, `force` replaces it."""
    record_and_project_a_history()
    dynamodb = clients.client("dynamodb")
    stale = {**read_model.load(READ_MODEL, "model#churn"), "lastVersion": 99}
    dynamodb.put_item(
        TableName=READ_MODEL,
        Item={
            "id": {"S": "model#churn"},
            "state": {"S": json.dumps(stale)},
            "lastVersion": {"N": "99"},
        },
    )
    assert read_model.rebuild(EVENTS, READ_MODEL, ["model#churn"]).newer_kept == ["model#churn"]
    assert read_model.load(READ_MODEL, "model#churn")["lastVersion"] == 99
    forced = read_model.rebuild(EVENTS, READ_MODEL, ["model#churn"], force=True)
    assert forced.newer_kept == []
    assert read_model.load(READ_MODEL, "model#churn")["lastVersion"] == 6
