"""End-to-end: quality-triggered retraining on moto, the real handlers wired as the stacks wire
them.

    quality alarm (default bus) / configured pattern (input transformer)
        --> quality_trigger --> quality ledger (DynamoDB)
                            --> training FIFO queue --> queue_worker --> SageMaker
                            --> critical topic (a tripped circuit breaker)
                            --> training bus --> recorder --> event store --> projector

Signals are dated in the past (the decision counts days and cooldowns on the signal's time), so
the tests move through time by the events they send, not by the clock.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.catalog_file import use_catalog
from tests.e2e.platform import MODELS, SLOTS, STACK, Platform
from tests.lambda_context import LambdaContext
from tests.sagemaker_sim import PipelineSim
from trainops_runtime.adapters import slots
from trainops_runtime.handlers import quality_trigger
from trainops_runtime.quality_signals import InvalidSignal

FIXTURE = (
    Path(__file__).parent.parent
    / "fixtures"
    / "events"
    / "cloudwatch_metric_alarm_state_change_alarm.json"
)
LEDGER = "trainops-test-quality-ledger"
PREFIX = f"trainops-{STACK}--"
ALARM = f"{PREFIX}churn--quality-feature-drift"
DAY = datetime(2026, 11, 20, 1, tzinfo=UTC)  # before any test runs: signals are not ahead
HOUR = timedelta(hours=1)
PIPELINE = "SageMaker Model Building Pipeline Execution Status Change"


class QualityPlatform(Platform):
    """The e2e platform plus what quality retraining adds: the quality ledger, the function's
    settings, and a catalog in which churn takes quality signals and fraud does not."""

    def __init__(self, sim: PipelineSim, monkeypatch: pytest.MonkeyPatch, **limits: int) -> None:
        super().__init__(sim, monkeypatch)
        boto3.client("dynamodb").create_table(
            TableName=LEDGER,
            KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("TRAINOPS_QUALITY_LEDGER_TABLE", LEDGER)
        monkeypatch.setenv("TRAINOPS_QUALITY_ALARM_PREFIX", PREFIX)
        for name, value in limits.items():
            monkeypatch.setenv(f"TRAINOPS_{name.upper()}", str(value))
        use_catalog(
            monkeypatch,
            {
                model: {**entry, "qualityRetraining": model == "churn"}
                for model, entry in MODELS.items()
            },
        )

    def signal(self, event: dict[str, Any]) -> dict[str, Any]:
        """One asynchronous invocation of quality_trigger by EventBridge."""
        return quality_trigger.handler(copy.deepcopy(event), LambdaContext())

    def waiting(self) -> int:
        """How many requests wait in the training queue (SQS's count: peeking at a FIFO
        group's messages more than once is not reliable on moto)."""
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def requests(self) -> list[dict[str, Any]]:
        """The bodies of the requests waiting in the training queue (one peek per test)."""
        return [body for body, _ in self.queued()]


def alarm(at: datetime, name: str = ALARM) -> dict[str, Any]:
    """AWS's documented alarm state change, for ``name`` entering ALARM at ``at``."""
    event = json.loads(FIXTURE.read_text())
    event["id"] = str(uuid.uuid4())  # every delivery has its own envelope id
    event["resources"] = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"]
    event["detail"]["alarmName"] = name
    event["detail"]["state"]["timestamp"] = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return event


def custom(at: datetime, event_id: str = "5f0b2c34-0b6e-4a8e-9a8e-6c1d2f3e4a5b") -> dict[str, Any]:
    """A configured pattern's event, as its rule's input transformer delivers it."""
    return {
        "qualitySignal": {
            "model": "churn",
            "id": event_id,
            "source": "aws.sagemaker",
            "detailType": "SageMaker Model Monitor Violation",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    }


def metrics(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """The quality metrics emitted since the last call (EMF lines), summed by name (the other
    handlers share the Powertools metrics and run here without flushing theirs)."""
    totals: dict[str, int] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                if not metric["Name"].startswith("Quality"):
                    continue
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else int(value)
                )
    return totals


def quality_history(platform: Platform) -> list[tuple[str, str, Any]]:
    return [
        entry
        for entry in platform.history("model#churn")
        if entry[0] in ("QualityDegraded", "RetrainRequested", "RetrainSuppressed")
    ]


@pytest.fixture
def platform(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> QualityPlatform:
    return QualityPlatform(pipelines, monkeypatch)


def test_a_degraded_alarm_queues_one_request_and_the_cooldown_holds_the_next(
    platform: QualityPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    first = platform.signal(alarm(DAY))
    assert first["status"] == "requested"
    assert platform.waiting() == 1
    # the same event delivered again: the same signal, still one request
    assert platform.signal(alarm(DAY))["status"] == "requested"
    assert platform.waiting() == 1
    # the alarm flaps back within the cooldown (6 hours by default): suppressed
    within = platform.signal(alarm(DAY + HOUR))
    assert (within["status"], within["reason"]) == ("suppressed", "cooldown")
    assert platform.waiting() == 1
    # past the cooldown it retrains again
    after = platform.signal(alarm(DAY + 6 * HOUR))
    assert after["status"] == "requested"
    assert platform.waiting() == 2
    queued = platform.requests()
    assert [body["requestId"] for body in queued] == [first["requestId"], after["requestId"]]
    assert queued[0] == {
        "model": "churn",
        "requestId": first["requestId"],
        "attempt": 1,
        "hyperparameters": {},
        "requestedBy": "trainops-quality",
        "reason": f"quality: {ALARM} at 2026-11-20T01:00:00Z",
        "trigger": "quality",
    }
    assert metrics(capsys) == {
        "QualitySignals": 4,
        "QualityRetrainsRequested": 2,
        "QualityRetrainsSuppressed": 1,
    }
    platform.pump()
    assert quality_history(platform) == [
        ("QualityDegraded", first["requestId"], 1),
        ("RetrainRequested", first["requestId"], 1),
        ("QualityDegraded", within["requestId"], 1),
        ("RetrainSuppressed", within["requestId"], 1),
        ("QualityDegraded", after["requestId"], 1),
        ("RetrainRequested", after["requestId"], 1),
    ]
    suppressed = platform.stored("model#churn")[3]["payload"]
    assert suppressed["data"] == {"reason": "cooldown", "signalId": within["signalId"]}
    assert suppressed["trigger"] == "quality"


def test_the_breaker_trips_once_a_day_and_the_next_day_accepts_again(
    pipelines: PipelineSim,
    event_sink: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    platform = QualityPlatform(pipelines, monkeypatch, cooldown_minutes=30, max_per_day=2)
    statuses = [platform.signal(alarm(DAY + n * HOUR))["status"] for n in range(2)]
    assert statuses == ["requested", "requested"]
    assert platform.alerts() == []
    # the third past the cooldown that day: one critical alert, no request
    tripped = platform.signal(alarm(DAY + 2 * HOUR))
    assert tripped["status"] == "tripped"
    assert platform.waiting() == 2
    (alert,) = platform.alerts()
    assert alert["Subject"] == "trainops: quality retraining of churn stopped for 2026-11-20"
    assert (
        "Quality retrains of churn on 2026-11-20 (UTC): 2, the cap is 2 a day."
        in (alert["Message"])
    )
    assert f"Signal: {ALARM} at 2026-11-20T03:00:00Z" in alert["Message"]
    # neither the same event again (EventBridge delivers at least once) nor further signals
    # that day alert again
    again = platform.signal(alarm(DAY + 2 * HOUR))
    assert (again["status"], again["reason"]) == ("suppressed", "breaker")
    for hours in (3, 5, 22):
        later = platform.signal(alarm(DAY + hours * HOUR))
        assert (later["status"], later["reason"]) == ("suppressed", "breaker")
    assert platform.alerts() == []
    assert platform.waiting() == 2
    # the next UTC day accepts again
    assert platform.signal(alarm(DAY + 24 * HOUR))["status"] == "requested"
    assert platform.waiting() == 3
    assert metrics(capsys) == {
        "QualitySignals": 8,
        "QualityRetrainsRequested": 3,
        "QualityRetrainsSuppressed": 5,
        "QualityBreakerTripped": 1,
    }
    platform.pump()
    breaker = [
        event["payload"]
        for event in platform.stored("model#churn")
        if event["type"] == "RetrainSuppressed"
    ]
    # the redelivery is the tripping signal's own event again (the store keeps it once)
    assert [payload["data"]["reason"] for payload in breaker] == ["breaker"] * 4
    assert breaker[0]["data"]["tripped"] is True
    assert breaker[0]["requestId"] == tripped["requestId"]


def test_the_worker_starts_a_quality_request_as_quality_and_the_history_links_it(
    platform: QualityPlatform,
) -> None:
    requested = platform.signal(alarm(DAY))
    request_id = requested["requestId"]
    platform.drain_queue()
    (execution,) = platform.executions("churn")
    assert execution.pipeline_execution_display_name.startswith("qua-churn-a1-")
    assert slots.read(SLOTS).slots["churn"].trigger == "quality"
    assert slots.read(SLOTS).slots["churn"].request_id == request_id
    platform.pump()
    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#churn") == [
        ("QualityDegraded", request_id, 1),
        ("RetrainRequested", request_id, 1),
        ("TrainingRequested", request_id, 1),
        ("TrainingStarted", request_id, 1),
        (PIPELINE, request_id, "Succeeded"),
        ("TrainingSucceeded", request_id, 1),
    ]
    triggers = [event["payload"].get("trigger") for event in platform.stored("model#churn")]
    assert triggers == ["quality", "quality", "quality", "quality", None, "pipeline"]
    state = platform.state("model#churn")
    assert state["counts"] == {
        "qualityDegraded": 1,
        "retrainRequested": 1,
        "requested": 1,
        "started": 1,
        "succeeded": 1,
    }
    assert state["lastRequest"] == {"requestId": request_id, "attempt": 1, "trigger": "quality"}
    assert state["lastSuccess"] == {"executionArn": execution.arn, "requestId": request_id}


def test_a_configured_pattern_signal_works_the_same(
    platform: QualityPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    first = platform.signal(custom(DAY))
    assert first["status"] == "requested"
    assert first["signalId"] == "5f0b2c34-0b6e-4a8e-9a8e-6c1d2f3e4a5b"
    assert platform.signal(custom(DAY))["status"] == "requested"  # redelivered: the same
    assert platform.waiting() == 1
    (queued,) = platform.requests()
    assert queued["reason"] == (
        "quality: aws.sagemaker/SageMaker Model Monitor Violation at 2026-11-20T01:00:00Z"
    )
    within = platform.signal(custom(DAY + HOUR, event_id=str(uuid.uuid4())))
    assert (within["status"], within["reason"]) == ("suppressed", "cooldown")
    platform.drain_queue()
    (execution,) = platform.executions("churn")
    assert execution.pipeline_execution_display_name.startswith("qua-churn-a1-")
    platform.pump()
    assert platform.history("model#churn") == [
        ("QualityDegraded", first["requestId"], 1),
        ("RetrainRequested", first["requestId"], 1),
        ("QualityDegraded", within["requestId"], 1),
        ("RetrainSuppressed", within["requestId"], 1),
        ("TrainingRequested", first["requestId"], 1),
        ("TrainingStarted", first["requestId"], 1),
    ]
    degraded = platform.stored("model#churn")[0]["payload"]
    assert degraded["data"] == {
        "signalId": first["signalId"],
        "source": "aws.sagemaker",
        "detailType": "SageMaker Model Monitor Violation",
    }
    assert metrics(capsys)["QualityRetrainsRequested"] == 1


@pytest.mark.parametrize(
    "name",
    [
        "trainops-dev--churn--quality-feature-drift",  # AWS's sample, named for the dev stack
        f"{PREFIX}churn--latency-p99",  # not a quality alarm
        f"{PREFIX}ghost--quality-drift",  # no such model
        f"{PREFIX}fraud--quality-drift",  # fraud has qualityRetraining off
    ],
    ids=["other-stack", "not-quality", "unknown-model", "model-opted-out"],
)
def test_an_alarm_that_is_no_quality_signal_of_a_quality_model_is_ignored_and_counted(
    platform: QualityPlatform, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    result = platform.signal(alarm(DAY, name=name))
    assert result["status"] == "ignored"
    assert metrics(capsys) == {"QualitySignalsIgnored": 1}
    assert platform.waiting() == 0
    assert platform.pump() == []  # nothing published
    assert boto3.client("dynamodb").scan(TableName=LEDGER)["Items"] == []


def test_an_alarm_leaving_alarm_is_ignored(
    platform: QualityPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = alarm(DAY)
    ok["detail"]["state"]["value"] = "OK"
    assert platform.signal(ok)["status"] == "ignored"
    assert metrics(capsys) == {"QualitySignalsIgnored": 1}
    assert platform.waiting() == 0


@pytest.mark.parametrize(
    "event",
    [
        {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"},
        {"qualitySignal": {"model": "churn"}},
        {"qualitySignal": {**custom(DAY)["qualitySignal"], "model": "ghost"}},
        {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
    ],
    ids=["alarm-without-detail", "signal-without-fields", "signal-of-unknown-model", "other"],
)
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_malformed_input_raises_and_changes_nothing(
    platform: QualityPlatform, event: dict[str, Any]
) -> None:
    with pytest.raises(InvalidSignal):
        platform.signal(event)
    assert platform.waiting() == 0
    assert platform.pump() == []
