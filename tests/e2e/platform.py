"""The trainops handlers wired together in-process on moto, the way the stacks wire them.

    producers --> FIFO queue --> queue_worker --> SageMaker (tests/sagemaker_sim.py)
    SageMaker status change --> training_outcome (done / re-queue / alert, once per event id)
                            --> recorder                                      [forward rule]
    every domain event on the training bus --> recorder --> event store --> projector --> read model
    Scheduler tick --> start_retraining

SageMaker's status-change events are built from the simulated execution records in the shape
AWS documents (tests/fixtures/events/sagemaker_pipeline_execution_*.json).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from tests.catalog_file import use_catalog
from tests.event_store_helpers import create_tables, stream_records
from tests.lambda_context import LambdaContext
from tests.queue_helpers import deliver, drain
from tests.sagemaker_sim import PipelineSim
from tests.slot_ledger import TABLE as SLOTS
from tests.slot_ledger import create_table as create_slots_table
from trainops_runtime import admission
from trainops_runtime.adapters import event_store, read_model
from trainops_runtime.adapters.request_queue import enqueue
from trainops_runtime.handlers import (
    projector,
    queue_worker,
    recorder,
    start_retraining,
    training_outcome,
)
from trainops_runtime.training_request import TrainingRequest

STACK = "e2e"
EVENTS, READ_MODEL = "trainops-test-events", "trainops-test-read-model"
BUS = f"trainops-{STACK}-training"
STATUS_TEMPLATE = (
    Path(__file__).parent.parent
    / "fixtures"
    / "events"
    / "sagemaker_pipeline_execution_succeeded.json"
)
MODELS = {
    "churn": {
        "pipelineName": f"trainops-{STACK}--churn",
        "trainingData": "s3://data-bucket/churn/",
        "hyperparameters": ["epochs"],
        "maxRuntimeMinutes": 60,
    },
    "fraud": {
        "pipelineName": f"trainops-{STACK}--fraud",
        "trainingData": "s3://data-bucket/fraud/",
        "hyperparameters": [],
        "maxRuntimeMinutes": 60,
    },
}


class Platform:
    def __init__(
        self,
        sim: PipelineSim,
        monkeypatch: Any,
        *,
        max_concurrent: int = 4,
        duplicates: bool = False,
    ) -> None:
        self.sim, self.duplicates = sim, duplicates
        self._sagemaker_clock = datetime.min.replace(tzinfo=UTC)
        # Every event the recorder was given, as an EventBridge archive keeps them.
        self.archive: list[dict[str, Any]] = []
        sqs, sns, events = boto3.client("sqs"), boto3.client("sns"), boto3.client("events")
        self.queue_url = sqs.create_queue(
            QueueName="requests.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.dlq_url = sqs.create_queue(
            QueueName="requests-dlq.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        self.alerts_url = self._inbox(sqs, sns, "critical")
        self.bus_sink = sqs.create_queue(QueueName="training-bus-sink")["QueueUrl"]
        events.create_event_bus(Name=BUS)
        events.put_rule(
            Name="record", EventBusName=BUS, EventPattern=json.dumps({"account": ["123456789012"]})
        )
        events.put_targets(
            Rule="record",
            EventBusName=BUS,
            Targets=[{"Id": "sink", "Arn": self._arn(self.bus_sink)}],
        )
        create_tables()
        create_slots_table()
        for model in MODELS.values():
            sim.create_pipeline(model["pipelineName"])
        for name, value in {
            "TRAINOPS_EVENT_BUS": BUS,
            "TRAINOPS_TRAINING_QUEUE_URL": self.queue_url,
            "TRAINOPS_DLQ_URL": self.dlq_url,
            "TRAINOPS_MAX_CONCURRENT_TRAININGS": str(max_concurrent),
            "TRAINOPS_MAX_ATTEMPTS": "3",
            "TRAINOPS_CRITICAL_TOPIC_ARN": self.critical_topic,
            "TRAINOPS_EVENT_TABLE": EVENTS,
            "TRAINOPS_READ_MODEL_TABLE": READ_MODEL,
            "TRAINOPS_STACK": STACK,
            "TRAINOPS_SLOTS_TABLE": SLOTS,
        }.items():
            monkeypatch.setenv(name, value)
        # Deferred messages come back at once here; the backoff itself is unit-tested.
        monkeypatch.setattr(admission, "backoff_seconds", lambda *_, **__: 0)
        use_catalog(monkeypatch, MODELS)

    def _arn(self, queue_url: str) -> str:
        return boto3.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]

    def _inbox(self, sqs: Any, sns: Any, name: str) -> str:
        url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        self.critical_topic = sns.create_topic(Name=name)["TopicArn"]
        sns.subscribe(TopicArn=self.critical_topic, Protocol="sqs", Endpoint=self._arn(url))
        return url

    # ---- producers -------------------------------------------------------------------------
    def submit(self, model: str, request_id: str, **extra: Any) -> None:
        enqueue(self.queue_url, self.request(model, request_id, **extra))
        if self.duplicates:
            self.resend(model, request_id, **extra)

    def resend(self, model: str, request_id: str, **extra: Any) -> None:
        """The same request again: a producer that retried with another deduplication id."""
        boto3.client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=self.request(model, request_id, **extra).to_message(),
            MessageGroupId=model,
            MessageDeduplicationId=str(uuid.uuid4()),
        )

    def send_raw(self, body: str, group: str) -> None:
        """Any body at all, as a careless or hostile producer sends it."""
        boto3.client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=str(uuid.uuid4()),
        )

    @staticmethod
    def request(model: str, request_id: str, **extra: Any) -> TrainingRequest:
        return TrainingRequest(model=model, request_id=request_id, requested_by="e2e", **extra)

    def tick(self, model: str, scheduled_time: str) -> dict[str, Any]:
        result = start_retraining.run({"model": model, "scheduledTime": scheduled_time})
        if self.duplicates:
            start_retraining.run({"model": model, "scheduledTime": scheduled_time})
        return result

    # ---- the worker --------------------------------------------------------------------------
    def poll(self) -> dict[str, Any]:
        return deliver(self.queue_url, self.queue_arn, queue_worker.run)

    def drain_queue(self, rounds: int = 10) -> None:
        for _ in range(rounds):
            if not self.poll().get("invoked", True):
                return

    def queued(self) -> list[tuple[dict[str, Any], str]]:
        """(body, deduplication id) of every visible request, left in the queue.

        One ReceiveMessage with a zero visibility timeout: the messages stay visible (their
        receive count goes up by one) and FIFO order is kept.
        """
        messages = (
            boto3.client("sqs")
            .receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                AttributeNames=["All"],
            )
            .get("Messages", [])
        )
        return [
            (json.loads(m["Body"]), m["Attributes"]["MessageDeduplicationId"]) for m in messages
        ]

    # ---- SageMaker -------------------------------------------------------------------------
    def executions(self, model: str) -> list[Any]:
        return self.sim.executions(MODELS[model]["pipelineName"])

    def status_event(self, execution: Any, status: str) -> dict[str, Any]:
        event = json.loads(STATUS_TEMPLATE.read_text())
        pipeline_arn = execution.arn.split("/execution/")[0]
        event["id"] = str(uuid.uuid4())
        event["time"] = self._sagemaker_time()
        event["resources"] = [pipeline_arn, execution.arn]
        event["detail"].update(
            {
                "pipelineArn": pipeline_arn,
                "pipelineExecutionArn": execution.arn,
                "pipelineExecutionDisplayName": execution.pipeline_execution_display_name,
                "currentPipelineExecutionStatus": status,
                "previousPipelineExecutionStatus": "Executing",
            }
        )
        return event

    def _sagemaker_time(self) -> str:
        """EventBridge's time of a SageMaker status change: when SageMaker changed it, to the
        second. Status changes here come milliseconds apart; on SageMaker a pipeline step takes
        seconds at the very least, so each one here is dated at least a second after the last
        (two ends of one model in one second would order by content, not by time)."""
        now = datetime.now(UTC).replace(microsecond=0)
        self._sagemaker_clock = max(now, self._sagemaker_clock + timedelta(seconds=1))
        return self._sagemaker_clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def finish(
        self,
        execution: Any,
        status: str,
        step_failure: str | None = None,
        *,
        record_earlier_first: bool = True,
    ) -> dict[str, Any]:
        """SageMaker ends an execution; its status change reaches the outcome handler and the store.

        Training usually takes minutes and domain events arrive in seconds: what was published
        before the execution ended is recorded first, unless ``record_earlier_first`` is False
        (a run that failed fast while its start event was delayed or re-published).
        """
        if record_earlier_first:
            self.pump()
        self.sim.finish(execution.arn, status, step_failure=step_failure)
        event = self.status_event(execution, status)
        deliveries = 2 if self.duplicates else 1
        outcome = {}
        for _ in range(deliveries):
            self.record(event)
            outcome = training_outcome.handle_once(copy.deepcopy(event), LambdaContext())
        return outcome

    def status_change(self, execution: Any, status: str) -> None:
        """A SageMaker status change that only the store sees (e.g. `Executing`)."""
        self.record(self.status_event(execution, status))

    # ---- the event store -------------------------------------------------------------------
    def pump(self) -> list[dict[str, Any]]:
        """Domain events on the training bus -> recorder; then the projector over the stream.

        Returns the events the bus delivered since the last pump (envelopes, in order).
        """
        delivered = []
        for message in drain(self.bus_sink):
            event = json.loads(message["Body"])
            for _ in range(2 if self.duplicates else 1):
                self.record(event)
            delivered.append(event)
        records = stream_records()
        projector.run({"Records": records})
        if self.duplicates:
            projector.run({"Records": records})
        return delivered

    def record(self, event: dict[str, Any]) -> None:
        """One delivery of ``event`` to the recorder (the rule's target), archived."""
        self.archive.append(copy.deepcopy(event))
        recorder.run(copy.deepcopy(event))

    def project(self) -> None:
        """The projector over every record of the events table's stream."""
        projector.run({"Records": stream_records()})

    def stored(self, stream: str) -> list[dict[str, Any]]:
        """Every stored event of a stream, as the store returns it, in version order."""
        return list(event_store.read_stream(EVENTS, stream))

    def history(self, stream: str) -> list[tuple[str, str, Any]]:
        """(type, request id, attempt or SageMaker status) of every stored event of a stream.

        A SageMaker status change names no request: its execution's RequestId parameter says
        which request it belongs to.
        """
        out: list[tuple[str, str, Any]] = []
        for event in self.stored(stream):
            payload = event["payload"]
            status = payload.get("currentPipelineExecutionStatus")
            if status:
                execution = payload["pipelineExecutionArn"]
                out.append((event["type"], self.sim.parameters(execution)["RequestId"], status))
            else:
                out.append((event["type"], payload["requestId"], payload["attempt"]))
        return out

    def state(self, stream: str) -> dict[str, Any]:
        """The stream's read model without its timestamps (`at`, `lastEventAt`), which vary,
        and the fold's bookkeeping of ended executions (tests/handlers/test_projection.py)."""
        loaded = read_model.load(READ_MODEL, stream)
        assert loaded is not None, f"no read model for {stream}"
        loaded.pop("ordering", None)
        return _without_times(loaded)

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in drain(self.alerts_url)]

    def dead_letters(self) -> list[dict[str, Any]]:
        return drain(self.dlq_url)


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in {"at", "lastEventAt"}}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value
