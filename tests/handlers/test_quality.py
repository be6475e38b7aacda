"""Quality-triggered retraining's rules, pure and with fakes for its ports: the alarm naming
contract, the two signal shapes, the cooldown/breaker decision (a table of every branch), the
request a signal becomes, and what one signal's run publishes, sends and alerts (the moto-backed
end-to-end runs are tests/e2e/test_quality_retraining.py)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from trainops_runtime import domain_events as events
from trainops_runtime import projection, quality, recording, training_request
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import RetryableError
from trainops_runtime.outcomes import QualityOutcome
from trainops_runtime.quality import QualityPorts, QualityTrigger
from trainops_runtime.quality_breaker import (
    Accept,
    LedgerItem,
    Policy,
    Suppress,
    Trip,
    alert_sent,
    applied,
    decide,
)
from trainops_runtime.quality_signals import (
    QUALITY_MARKER,
    REQUEST_HASH_CHARS,
    Ignored,
    InvalidSignal,
    Signal,
    model_of_alarm,
    parse_signal,
    request_for,
)
from trainops_runtime.training_request import InvalidRequest, TrainingRequest, parse

FIXTURE = (
    Path(__file__).parent.parent
    / "fixtures"
    / "events"
    / "cloudwatch_metric_alarm_state_change_alarm.json"
)
PREFIX = "trainops-dev--"
ALARM = "trainops-dev--churn--quality-feature-drift"
COOLDOWN = timedelta(minutes=60)
MAX_PER_DAY = 3
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = "2026-11-22"


def entry(quality_retraining: bool = True) -> CatalogEntry:
    return CatalogEntry(
        pipeline_name="trainops-dev--m",
        training_data="s3://data/m/",
        max_runtime_minutes=60,
        quality_retraining=quality_retraining,
    )


CATALOG = ModelCatalog(
    {
        "churn": entry(),
        "churn-eu": entry(),
        "fraud": entry(quality_retraining=False),
    }
)


def alarm_event(
    name: str = ALARM, *, state: str = "ALARM", timestamp: str = "2026-11-22T11:00:00.000+0000"
) -> dict[str, Any]:
    event = json.loads(FIXTURE.read_text())
    event["detail"]["alarmName"] = name
    event["detail"]["state"]["value"] = state
    event["detail"]["state"]["timestamp"] = timestamp
    return event


def custom_event(model: str = "churn", **changes: Any) -> dict[str, Any]:
    body = {
        "model": model,
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "source": "aws.sagemaker",
        "detailType": "SageMaker Model Monitor Violation",
        "time": "2026-11-22T11:00:00Z",
    }
    return {"qualitySignal": {**body, **changes}}


def signal(at: datetime = NOW, signal_id: str = "s-new", model: str = "churn") -> Signal:
    return Signal(model=model, signal_id=signal_id, source_description=ALARM, at=at)


# ---- the naming contract ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alarm", "models", "model"),
    [
        (ALARM, {"churn"}, "churn"),
        ("trainops-dev--churn--quality", {"churn"}, "churn"),  # nothing after the marker
        ("trainops-dev--churn--quality-bias-dpl", {"churn", "fraud"}, "churn"),
        ("trainops-dev--churn-eu--quality-drift", {"churn", "churn-eu"}, "churn-eu"),
        # a model whose name holds the marker: the longest that fits
        ("trainops-dev--churn--quality--quality-x", {"churn", "churn--quality"}, "churn--quality"),
        ("trainops-dev--churn--quality-x", {"churn", "churn--quality"}, "churn"),
        ("trainops-prod--churn--quality-drift", {"churn"}, None),  # another stack
        ("trainops-dev-2--churn--quality-drift", {"churn"}, None),  # a stack named like it
        ("trainops-dev--churn--latency-p99", {"churn"}, None),  # not a quality alarm
        ("trainops-dev--churn-quality-drift", {"churn"}, None),  # one hyphen is not the marker
        ("trainops-dev--fraud--quality-drift", {"churn"}, None),  # not a model of the stack
        ("trainops-dev----quality-drift", {"churn"}, None),  # no model at all
        ("trainops-dev----quality--quality", {"churn"}, None),
        ("churn--quality-drift", {"churn"}, None),  # no prefix
    ],
)
def test_a_quality_alarm_names_its_model(alarm: str, models: set[str], model: str | None) -> None:
    assert model_of_alarm(alarm, PREFIX, models) == model


def test_the_marker_is_the_documented_one() -> None:
    assert QUALITY_MARKER == "--quality"
    assert f"{PREFIX}churn{QUALITY_MARKER}-feature-drift" == ALARM


# ---- the two signal shapes ----------------------------------------------------------------------


def test_the_documented_alarm_event_is_a_signal_of_its_model() -> None:
    parsed = parse_signal(json.loads(FIXTURE.read_text()), prefix=PREFIX, catalog=CATALOG)
    assert parsed == Signal(
        model="churn",
        signal_id=f"{ALARM}@2019-10-02T17:04:40.985+0000",
        source_description=ALARM,
        at=datetime(2019, 10, 2, 17, 4, 40, 985000, tzinfo=UTC),
        source="aws.cloudwatch",
        alarm_name=ALARM,
    )
    assert isinstance(parsed, Signal)
    assert parsed.data() == {
        "signalId": parsed.signal_id,
        "source": "aws.cloudwatch",
        "alarmName": ALARM,
    }


def test_a_redelivered_alarm_event_is_the_same_signal() -> None:
    first = parse_signal(alarm_event(), prefix=PREFIX, catalog=CATALOG)
    again = alarm_event()
    again["id"] = "another-delivery-id"
    assert parse_signal(again, prefix=PREFIX, catalog=CATALOG) == first
    later = parse_signal(
        alarm_event(timestamp="2026-11-22T15:00:00.000+0000"), prefix=PREFIX, catalog=CATALOG
    )
    assert isinstance(first, Signal)
    assert isinstance(later, Signal)
    assert later.signal_id != first.signal_id


def test_a_custom_pattern_signal_is_a_signal_of_the_model_its_rule_names() -> None:
    parsed = parse_signal(custom_event(), prefix=PREFIX, catalog=CATALOG)
    assert parsed == Signal(
        model="churn",
        signal_id="7bf73129-1428-4cd3-a780-95db273d1602",
        source_description="aws.sagemaker/SageMaker Model Monitor Violation",
        at=datetime(2026, 11, 22, 11, tzinfo=UTC),
        source="aws.sagemaker",
        detail_type="SageMaker Model Monitor Violation",
    )
    assert isinstance(parsed, Signal)
    assert parsed.data() == {
        "signalId": parsed.signal_id,
        "source": "aws.sagemaker",
        "detailType": "SageMaker Model Monitor Violation",
    }


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (alarm_event("trainops-prod--churn--quality-drift"), "is not a quality alarm"),
        (alarm_event("trainops-dev--churn--latency-p99"), "is not a quality alarm"),
        (alarm_event("trainops-dev--ghost--quality-drift"), "is not a quality alarm"),
        (alarm_event(state="OK"), "entered OK, not ALARM"),
        (alarm_event("trainops-dev--fraud--quality-drift"), "fraud does not take quality"),
        (custom_event("fraud"), "fraud does not take quality signals"),
    ],
    ids=["other-stack", "not-quality", "unknown-model", "not-alarm-state", "off", "custom-off"],
)
def test_what_is_no_signal_of_a_quality_model_is_ignored_with_the_reason(
    event: dict[str, Any], reason: str
) -> None:
    parsed = parse_signal(event, prefix=PREFIX, catalog=CATALOG)
    assert isinstance(parsed, Ignored)
    assert reason in parsed.reason


def _without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "not a quality signal"),
        ([], "not a quality signal"),
        ({}, "not a quality signal"),
        ({"model": "churn"}, "not a quality signal"),
        ({**alarm_event(), "source": "aws.sagemaker"}, "not a quality signal"),
        ({"qualitySignal": "churn"}, "unexpected quality signal"),
        ({**custom_event(), "extra": 1}, "unexpected quality signal"),
        (_without(custom_event(), "qualitySignal", "time"), "unexpected quality signal"),
        (
            {"qualitySignal": {**custom_event()["qualitySignal"], "more": "x"}},
            "unexpected quality signal",
        ),
        (custom_event("Not A Model"), "is not a model name"),
        (custom_event("ghost"), "which this stack does not train"),
        (custom_event(id=""), "qualitySignal.id must be a string"),
        (custom_event(id=7), "qualitySignal.id must be a string"),
        (custom_event(source="x" * 300), "qualitySignal.source must be"),
        (custom_event(time="yesterday"), "qualitySignal.time is not an ISO 8601 time"),
        ({**alarm_event(), "detail": "x"}, "without a detail object"),
        (_without(alarm_event(), "detail", "alarmName"), "detail.alarmName must be"),
        (_without(alarm_event(), "detail", "state"), "without detail.state"),
        (_without(alarm_event(), "detail", "state", "timestamp"), "detail.state.timestamp"),
        (alarm_event(timestamp="not a time"), "detail.state.timestamp is not an ISO 8601"),
    ],
)
def test_anything_else_raises_a_clear_error(event: Any, message: str) -> None:
    with pytest.raises(InvalidSignal, match=message):
        parse_signal(event, prefix=PREFIX, catalog=CATALOG)


# ---- the request ------------------------------------------------------------------------------


def test_a_signal_becomes_a_quality_request_whose_id_it_determines() -> None:
    parsed = parse_signal(alarm_event(), prefix=PREFIX, catalog=CATALOG)
    assert isinstance(parsed, Signal)
    request = request_for(parsed)
    assert request.request_id.startswith("quality:")
    assert len(request.request_id) == len("quality:") + REQUEST_HASH_CHARS
    assert request_for(parsed) == request
    assert request.requested_by == "trainops-quality"
    assert request.reason == f"quality: {ALARM} at 2026-11-22T11:00:00Z"
    assert request.trigger == "quality"
    assert request.execution_display_name(request.trigger).startswith("qua-churn-a1-")
    # the message carries the trigger, and the worker reads it back
    assert json.loads(request.to_message())["trigger"] == "quality"
    assert parse(request.to_message()) == request
    # the same event id for two models (one event, two models' rules) is two requests
    other = request_for(replace(parsed, model="churn-eu"))
    assert other.request_id != request.request_id


def test_a_queued_request_stays_byte_identical() -> None:
    request = TrainingRequest(model="churn", request_id="r-1", requested_by="me")
    assert "trigger" not in request.to_dict()
    assert parse(request.to_message()).trigger == "queue"
    assert request.to_message() == json.dumps(
        {
            "attempt": 1,
            "hyperparameters": {},
            "model": "churn",
            "reason": "",
            "requestId": "r-1",
            "requestedBy": "me",
        },
        sort_keys=True,
    )


def test_a_request_names_only_the_triggers_the_worker_starts_as() -> None:
    with pytest.raises(InvalidRequest, match="trigger"):
        parse({"model": "churn", "requestId": "r-1", "trigger": "schedule"})
    with pytest.raises(InvalidRequest, match="trigger"):
        TrainingRequest(model="churn", request_id="r-1", trigger="anything")
    assert parse({"model": "churn", "requestId": "r-1", "trigger": "quality"}).trigger == "quality"


def test_the_schema_and_the_code_name_the_same_request_triggers() -> None:
    assert training_request.schema()["properties"]["trigger"]["enum"] == list(
        training_request.REQUEST_TRIGGERS
    )
    for trigger in training_request.REQUEST_TRIGGERS:
        assert trigger in training_request.TRIGGER_CODES
        assert trigger in events.TRIGGERS


def test_a_retry_of_a_quality_request_keeps_its_trigger() -> None:
    request = request_for(signal())
    assert request.next_attempt("retry").trigger == "quality"


def test_the_catalog_says_which_models_take_quality_signals() -> None:
    raw = {"pipelineName": "p", "trainingData": "s3://d/", "maxRuntimeMinutes": 60}
    assert CatalogEntry.from_dict("m", raw).quality_retraining is False
    assert CatalogEntry.from_dict("m", {**raw, "qualityRetraining": True}).quality_retraining
    assert not CatalogEntry.from_dict("m", {**raw, "qualityRetraining": False}).quality_retraining


# ---- the decision -----------------------------------------------------------------------------


def item(**fields: Any) -> LedgerItem:
    return LedgerItem(model="churn", version=7, **fields)


def epoch(at: datetime) -> int:
    return int(at.timestamp())


HOUR = timedelta(hours=1)
MIDNIGHT = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ledger", "at", "now", "expected"),
    [
        # a model's first signal
        (None, NOW, NOW, Accept(day=DAY, count=1, accepted_at=epoch(NOW))),
        # past the cooldown, under the cap: counted on today's count
        (
            item(last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=1, last_signal_id="s-1"),
            NOW,
            NOW,
            Accept(day=DAY, count=2, accepted_at=epoch(NOW)),
        ),
        # exactly at the end of the cooldown
        (
            item(last_accepted_at=epoch(NOW - HOUR), day=DAY, count=1, last_signal_id="s-1"),
            NOW,
            NOW,
            Accept(day=DAY, count=2, accepted_at=epoch(NOW)),
        ),
        # within the cooldown
        (
            item(last_accepted_at=epoch(NOW - HOUR + timedelta(seconds=1)), day=DAY, count=1),
            NOW,
            NOW,
            Suppress(
                "cooldown",
                "churn was last retrained for quality at 2026-11-22T11:00:01Z; the next quality "
                "retrain may start from 2026-11-22T12:00:01Z",
            ),
        ),
        # a late signal, older than the last accepted one
        (
            item(last_accepted_at=epoch(NOW), day=DAY, count=1),
            NOW - 3 * HOUR,
            NOW,
            Suppress(
                "cooldown",
                "churn was last retrained for quality at 2026-11-22T12:00:00Z; the next quality "
                "retrain may start from 2026-11-22T13:00:00Z",
            ),
        ),
        # a signal dated after now (a clock ahead) counts as now: still within the cooldown
        (
            item(last_accepted_at=epoch(NOW - timedelta(minutes=30)), day=DAY, count=1),
            NOW + 5 * HOUR,
            NOW,
            Suppress(
                "cooldown",
                "churn was last retrained for quality at 2026-11-22T11:30:00Z; the next quality "
                "retrain may start from 2026-11-22T12:30:00Z",
            ),
        ),
        # the day's cap reached, past the cooldown: the breaker trips
        (
            item(last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=3),
            NOW,
            NOW,
            Trip(day=DAY, count=3),
        ),
        # ... even when it tripped on an earlier day
        (
            item(
                last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=3, alerted_day="2026-11-21"
            ),
            NOW,
            NOW,
            Trip(day=DAY, count=3),
        ),
        # ... and once it alerted today, the rest of the day is suppressed without an alert
        (
            item(last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=3, alerted_day=DAY),
            NOW,
            NOW,
            Suppress(
                "breaker",
                "churn had 3 quality retrains on 2026-11-22 (at most 3); the circuit breaker "
                "tripped and alerted",
            ),
        ),
        # within the cooldown, the cooldown is the reason, cap or not
        (
            item(
                last_accepted_at=epoch(NOW - timedelta(minutes=5)),
                day=DAY,
                count=3,
                alerted_day=DAY,
            ),
            NOW,
            NOW,
            Suppress(
                "cooldown",
                "churn was last retrained for quality at 2026-11-22T11:55:00Z; the next quality "
                "retrain may start from 2026-11-22T12:55:00Z",
            ),
        ),
        # a new UTC day starts a new count (the day of the signal, not of the ledger)
        (
            item(
                last_accepted_at=epoch(MIDNIGHT - 2 * HOUR),
                day=DAY,
                count=3,
                alerted_day=DAY,
            ),
            MIDNIGHT + timedelta(seconds=1),
            MIDNIGHT + HOUR,
            Accept(day="2026-11-23", count=1, accepted_at=epoch(MIDNIGHT) + 1),
        ),
        # 23:00 UTC is still the 22nd, whatever the offset the signal was written with
        (
            item(last_accepted_at=epoch(MIDNIGHT - 4 * HOUR), day=DAY, count=3, alerted_day=DAY),
            datetime(2026, 11, 23, 1, tzinfo=timezone(timedelta(hours=2))),
            MIDNIGHT,
            Suppress(
                "breaker",
                "churn had 3 quality retrains on 2026-11-22 (at most 3); the circuit breaker "
                "tripped and alerted",
            ),
        ),
        # the signal accepted last, again (a redelivery, or a retry after a failed send)
        (
            item(
                last_accepted_at=epoch(NOW - timedelta(minutes=1)),
                day=DAY,
                count=2,
                last_signal_id="s-new",
            ),
            NOW,
            NOW,
            Accept(day=DAY, count=2, accepted_at=epoch(NOW - timedelta(minutes=1)), retry=True),
        ),
        # the signal that tripped the breaker, again (its alert may not have gone out)
        (
            item(
                last_accepted_at=epoch(NOW - 2 * HOUR),
                day=DAY,
                count=3,
                alerted_day=DAY,
                alert_signal_id="s-new",
            ),
            NOW,
            NOW,
            Trip(day=DAY, count=3, retry=True),
        ),
        # ... until its alert is marked sent: a redelivery then alerts no more
        (
            item(
                last_accepted_at=epoch(NOW - 2 * HOUR),
                day=DAY,
                count=3,
                alerted_day=DAY,
                alert_signal_id="s-new",
                alert_sent=True,
            ),
            NOW,
            NOW,
            Suppress(
                "breaker",
                "churn's circuit breaker tripped on this signal on 2026-11-22, and alerted",
            ),
        ),
    ],
    ids=[
        "first-signal",
        "past-cooldown",
        "cooldown-boundary",
        "within-cooldown",
        "late-signal",
        "future-signal",
        "cap-reached-trips",
        "trips-again-on-a-new-day",
        "already-alerted-today",
        "cooldown-before-breaker",
        "new-utc-day",
        "utc-day-of-an-offset-time",
        "retry-of-accepted",
        "retry-of-trip",
        "redelivery-of-an-alerted-trip",
    ],
)
def test_the_decision(
    ledger: LedgerItem | None, at: datetime, now: datetime, expected: Any
) -> None:
    decision = decide(ledger, signal(at), now, cooldown=COOLDOWN, max_per_day=MAX_PER_DAY)
    assert decision == expected


def test_the_decision_uses_the_clamped_time_of_a_future_signal() -> None:
    ledger = item(last_accepted_at=epoch(NOW - timedelta(minutes=30)), day=DAY, count=1)
    assert decide(ledger, signal(NOW + 5 * HOUR), NOW, cooldown=COOLDOWN, max_per_day=3) == (
        Suppress(
            "cooldown",
            "churn was last retrained for quality at 2026-11-22T11:30:00Z; the next quality "
            "retrain may start from 2026-11-22T12:30:00Z",
        )
    )


def test_a_zero_cap_trips_on_the_first_signal() -> None:
    assert decide(None, signal(), NOW, cooldown=COOLDOWN, max_per_day=0) == Trip(DAY, 0)


def test_what_a_decision_writes() -> None:
    before = item(last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=1, last_signal_id="s-1")
    accept = Accept(day=DAY, count=2, accepted_at=epoch(NOW))
    assert applied(before, accept, signal()) == replace(
        before, version=8, last_accepted_at=epoch(NOW), count=2, last_signal_id="s-new"
    )
    assert applied(None, accept, signal()) == LedgerItem(
        "churn", 1, epoch(NOW), DAY, 2, "s-new", None, None
    )
    trip = Trip(day=DAY, count=3)
    tripped = replace(before, version=8, alerted_day=DAY, alert_signal_id="s-new", alert_sent=False)
    assert applied(before, trip, signal()) == tripped
    # once its alert went out
    assert alert_sent(tripped, signal()) == replace(tripped, version=9, alert_sent=True)
    assert alert_sent(replace(tripped, alert_sent=True), signal()) is None
    assert alert_sent(tripped, signal(signal_id="s-other")) is None
    assert alert_sent(None, signal()) is None
    # nothing to write: a suppression, or a retry of what the item already records
    assert applied(before, Suppress("cooldown", "x"), signal()) is None
    assert applied(before, replace(accept, retry=True), signal()) is None
    assert applied(before, replace(trip, retry=True), signal()) is None


# ---- one signal's run, with fakes -----------------------------------------------------------


@dataclass
class World:
    """The fakes behind the ports: a ledger (with optional racing writers), the queue, the
    critical topic, the bus, metrics and the log."""

    items: dict[str, LedgerItem] = field(default_factory=dict)
    # writes another signal makes between our read and our write (one per save call)
    racing: list[LedgerItem] = field(default_factory=list)
    sent: list[TrainingRequest] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    published: list[events.DomainEvent] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)
    send_fails: bool = False
    alert_fails: bool = False
    topic: bool = True
    saves: int = 0

    def read(self, model: str) -> LedgerItem | None:
        return self.items.get(model)

    def save(self, new: LedgerItem, expected_version: int) -> bool:
        self.saves += 1
        if self.racing:
            self.items[new.model] = self.racing.pop(0)
        current = self.items.get(new.model)
        if (current.version if current else 0) != expected_version:
            return False
        self.items[new.model] = new
        return True

    def send(self, request: TrainingRequest) -> str:
        if self.send_fails:
            raise RuntimeError("SQS unavailable")
        self.sent.append(request)
        return "message-id"

    def alert(self, subject: str, message: str) -> str | None:
        if self.alert_fails:
            raise RuntimeError("SNS unavailable")
        if not self.topic:
            return None
        self.alerts.append((subject, message))
        return "alert-id"

    def info(self, msg: str, *, extra: Any) -> None:
        self.logged.append(msg)

    warning = info

    def run(
        self, event: Any, *, now: datetime = NOW, cooldown: timedelta = COOLDOWN
    ) -> dict[str, Any]:
        ports = QualityPorts(
            read=self.read,
            save=self.save,
            send=self.send,
            alert=self.alert,
            publish=lambda *published: self.published.extend(published),
            count=self.counted.append,
            log=self,
        )
        policy = Policy(alarm_prefix=PREFIX, cooldown=cooldown, max_per_day=MAX_PER_DAY)
        return QualityTrigger(CATALOG, policy, ports).run(event, now=now)

    def types(self) -> list[str]:
        return [event.type for event in self.published]


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_an_alarm_requests_a_quality_retrain() -> None:
    world = World()
    result = world.run(alarm_event())
    (request,) = world.sent
    assert result == {
        "status": QualityOutcome.REQUESTED,
        "model": "churn",
        "requestId": request.request_id,
        "signalId": f"{ALARM}@2026-11-22T11:00:00.000+0000",
    }
    assert request.trigger == "quality"
    assert world.types() == [events.QUALITY_DEGRADED, events.RETRAIN_REQUESTED]
    degraded, requested = world.published
    assert {e.request_id for e in world.published} == {request.request_id}
    assert {e.trigger for e in world.published} == {"quality"}
    assert degraded.reason == ALARM
    assert degraded.data == {
        "signalId": result["signalId"],
        "source": "aws.cloudwatch",
        "alarmName": ALARM,
    }
    assert degraded.occurred_at == datetime(2026, 11, 22, 11, tzinfo=UTC)
    assert requested.data == {
        "signalId": result["signalId"],
        "day": DAY,
        "count": 1,
        "maxPerDay": 3,
    }
    assert world.counted == ["QualitySignals", "QualityRetrainsRequested"]
    assert world.items["churn"] == LedgerItem(
        "churn", 1, epoch(NOW - HOUR), DAY, 1, result["signalId"], None, None
    )


def test_a_redelivered_signal_sends_the_same_request_and_counts_once() -> None:
    world = World()
    world.run(alarm_event())
    first = list(world.published)
    world.run(alarm_event())
    assert world.sent[0] == world.sent[1]  # SQS drops the copy by its deduplication id
    assert [e.event_id for e in world.published[2:]] == [e.event_id for e in first]
    assert world.counted == ["QualitySignals", "QualityRetrainsRequested", "QualitySignals"]
    assert world.items["churn"].version == 1
    assert "signal accepted before: sending its request again" in world.logged


def test_a_send_that_failed_after_the_claim_is_retried_not_lost() -> None:
    world = World(send_fails=True)
    with pytest.raises(RuntimeError, match="SQS unavailable"):
        world.run(alarm_event())
    assert world.items["churn"].count == 1  # claimed
    world.send_fails = False
    assert world.run(alarm_event())["status"] == QualityOutcome.REQUESTED
    assert len(world.sent) == 1
    assert world.items["churn"].count == 1


def test_a_second_alarm_within_the_cooldown_is_suppressed() -> None:
    world = World()
    world.run(alarm_event(timestamp=stamp(NOW - HOUR)))
    result = world.run(alarm_event(timestamp=stamp(NOW - timedelta(minutes=30))))
    assert result["status"] == QualityOutcome.SUPPRESSED
    assert result["reason"] == "cooldown"
    assert len(world.sent) == 1
    assert world.types()[2:] == [events.QUALITY_DEGRADED, events.RETRAIN_SUPPRESSED]
    suppressed = world.published[-1]
    assert suppressed.data == {"reason": "cooldown", "signalId": result["signalId"]}
    assert suppressed.reason is not None
    assert suppressed.reason.startswith("cooldown: churn was")
    assert suppressed.request_id == result["requestId"]
    assert world.counted[-2:] == ["QualitySignals", "QualityRetrainsSuppressed"]
    assert world.saves == 1  # a suppression writes nothing


def test_the_breaker_trips_once_a_day_then_suppresses() -> None:
    world = World()
    start = datetime(2026, 11, 22, 1, tzinfo=UTC)
    now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    statuses = [
        world.run(alarm_event(timestamp=stamp(start + n * 2 * HOUR)), now=now)["status"]
        for n in range(6)
    ]
    assert statuses == ["requested"] * 3 + ["tripped", "suppressed", "suppressed"]
    assert len(world.sent) == 3
    ((subject, message),) = world.alerts
    assert subject == "trainops: quality retraining of churn stopped for 2026-11-22"
    assert "Quality retrains of churn on 2026-11-22 (UTC): 3, the cap is 3 a day." in message
    assert f"{ALARM} at 2026-11-22T07:00:00Z" in message
    tripped = next(e for e in world.published if e.type == events.RETRAIN_SUPPRESSED)
    assert tripped.data["reason"] == "breaker"
    assert tripped.data["tripped"] is True
    assert world.counted.count("QualityBreakerTripped") == 1
    assert world.counted.count("QualityRetrainsSuppressed") == 3
    # the next UTC day accepts again
    tomorrow = datetime(2026, 11, 23, 1, tzinfo=UTC)
    assert world.run(alarm_event(timestamp=stamp(tomorrow)), now=tomorrow)["status"] == "requested"
    assert world.items["churn"].count == 1
    assert world.items["churn"].day == "2026-11-23"


def test_an_alert_that_failed_after_the_trip_is_retried_not_lost() -> None:
    world = World(items={"churn": item(last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=3)})
    world.alert_fails = True
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        world.run(alarm_event())
    assert world.items["churn"].alert_sent is False
    world.alert_fails = False
    assert world.run(alarm_event())["status"] == QualityOutcome.TRIPPED
    assert len(world.alerts) == 1
    assert world.counted.count("QualityBreakerTripped") == 1
    assert world.items["churn"].alert_sent is True
    # the same signal delivered once more: alerted already
    assert world.run(alarm_event())["status"] == QualityOutcome.SUPPRESSED
    assert len(world.alerts) == 1
    # another signal the same day: no second alert
    assert world.run(alarm_event(timestamp=stamp(NOW)))["status"] == QualityOutcome.SUPPRESSED
    assert len(world.alerts) == 1


def test_a_trip_without_a_critical_topic_is_logged() -> None:
    world = World(
        items={"churn": item(last_accepted_at=epoch(NOW - 2 * HOUR), day=DAY, count=3)},
        topic=False,
    )
    assert world.run(alarm_event())["status"] == QualityOutcome.TRIPPED
    assert (
        "the circuit breaker tripped, and the stack has no critical topic to alert" in world.logged
    )


def test_two_signals_racing_for_one_model_cannot_both_accept() -> None:
    """Between our read and our write another signal was accepted: our write fails, we read
    again and decide again, now within the cooldown."""
    other = LedgerItem("churn", 1, epoch(NOW - timedelta(minutes=59)), DAY, 1, "s-other")
    world = World(racing=[other])
    result = world.run(alarm_event())
    assert result["status"] == QualityOutcome.SUPPRESSED
    assert world.sent == []
    assert world.items["churn"] == other
    assert "the model's quality ledger changed meanwhile; deciding again" in world.logged


def test_a_lost_race_that_still_accepts_writes_on_the_new_version() -> None:
    other = LedgerItem("churn", 1, epoch(NOW - 5 * HOUR), DAY, 1, "s-other")
    world = World(racing=[other])
    assert world.run(alarm_event())["status"] == QualityOutcome.REQUESTED
    assert world.items["churn"].version == 2
    assert world.items["churn"].count == 2


def test_a_ledger_that_keeps_changing_is_retried_by_lambda() -> None:
    racing = [
        LedgerItem("churn", version, epoch(NOW - 5 * HOUR), DAY, 0, f"s-{version}")
        for version in range(1, quality.MAX_RACES + 1)
    ]
    world = World(racing=racing)
    with pytest.raises(RetryableError, match="changed 5 times"):
        world.run(alarm_event())
    assert world.sent == []


def test_a_custom_pattern_signal_requests_a_retrain() -> None:
    world = World()
    result = world.run(custom_event())
    assert result["status"] == QualityOutcome.REQUESTED
    (request,) = world.sent
    assert request.reason == (
        "quality: aws.sagemaker/SageMaker Model Monitor Violation at 2026-11-22T11:00:00Z"
    )
    assert world.published[0].data == {
        "signalId": "7bf73129-1428-4cd3-a780-95db273d1602",
        "source": "aws.sagemaker",
        "detailType": "SageMaker Model Monitor Violation",
    }


def test_an_ignored_signal_is_logged_and_counted_and_changes_nothing() -> None:
    world = World()
    result = world.run(alarm_event("trainops-dev--churn--latency-p99"))
    assert result["status"] == QualityOutcome.IGNORED
    assert world.counted == ["QualitySignalsIgnored"]
    assert world.logged == ["not a quality signal of a model that takes them; ignored"]
    assert (world.published, world.sent, world.items, world.saves) == ([], [], {}, 0)


def test_a_malformed_event_raises_before_anything_happens() -> None:
    world = World()
    with pytest.raises(InvalidSignal):
        world.run({"detail-type": "Scheduled Event"})
    assert (world.published, world.counted, world.saves) == ([], [], 0)


# ---- recorded and folded --------------------------------------------------------------------


NEW_TYPES = {
    events.QUALITY_DEGRADED: "qualityDegraded",
    events.RETRAIN_REQUESTED: "retrainRequested",
    events.RETRAIN_SUPPRESSED: "retrainSuppressed",
    events.GATE_PASSED: "gatePassed",
    events.GATE_FAILED: "gateFailed",
}


@pytest.mark.parametrize("kind", sorted(NEW_TYPES))
def test_the_store_records_the_new_event_types_under_the_model(kind: str) -> None:
    request = request_for(signal())
    data = {"metric": "auc", "value": 0.7, "threshold": 0.8} if "Gate" in kind else {"reason": "x"}
    domain = events.about(kind, request, "quality", data=data)
    envelope = {
        "id": "eb-1",
        "source": events.SOURCE,
        "detail-type": kind,
        "time": "2026-11-22T12:00:00Z",
        "detail": domain.detail(),
    }
    stored = recording.to_stored(envelope, CATALOG)
    assert (stored.type, stored.streams) == (kind, ("model#churn",))
    assert stored.payload["data"] == data


def test_the_read_model_counts_quality_signals_and_gate_verdicts() -> None:
    history = [
        {
            "version": version,
            "type": kind,
            "time": f"2026-11-22T00:00:{version:02d}Z",
            "model": "churn",
            "payload": {"requestId": "quality:abc", "attempt": 1, "trigger": "quality"},
        }
        for version, kind in enumerate(
            [*NEW_TYPES, events.QUALITY_DEGRADED, events.RETRAIN_SUPPRESSED], start=1
        )
    ]
    state = projection.fold("model#churn", history)
    assert state["counts"] == {
        "qualityDegraded": 2,
        "retrainRequested": 1,
        "retrainSuppressed": 2,
        "gatePassed": 1,
        "gateFailed": 1,
    }
    assert state["lastRequest"] is None  # a RetrainRequested is not the worker's request
