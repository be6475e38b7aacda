"""Quality-triggered retraining: what one quality signal of a model does, behind ports.

A quality signal of model M is one of

* a CloudWatch alarm of M's quality entering ALARM: the "Alarm State Change" event of an alarm
  named `<alarm prefix>M--quality<anything>` (the prefix is `trainops-<stack>--`, the marker
  `QUALITY_MARKER`; e.g. `trainops-dev--churn--quality-feature-drift`), straight from the
  default bus;
* an event matching one of M's configured patterns, which its rule's input transformer rewrites
  into `{"qualitySignal": {"model": "M", "id": <event id>, "source": <source>, "detailType":
  <detail-type>, "time": <time>}}` (`SIGNAL_KEY`, `SIGNAL_FIELDS`).

Each becomes a `Signal` with a deterministic id (the alarm's name and the time its state
changed; the event's id), so a redelivered event is the same signal. An alarm that is not a
quality alarm of a catalog model, or a signal of a model whose catalog entry has
`qualityRetraining` off, is `Ignored` (logged and counted, never silently); anything else raises
`InvalidSignal`.

A signal is decided against the model's item in the quality ledger (`decide`): within the
cooldown after the model's last accepted signal it is suppressed; past it, it is accepted unless
the model had `max_per_day` quality retrains that UTC day already, in which case the circuit
breaker trips (one critical alert per model and day) and suppresses the rest of the day's
signals. An accepted signal becomes a `TrainingRequest` (`request_for`: request id
`quality:<hash of the model and signal id>`, trigger `quality`) on the training FIFO queue, so
deduplication, training slots, back-pressure and retries apply to it as to any request.

The ledger changes only by one conditional write per decision (`applied`: on the version read),
so two signals of one model deciding at once cannot both accept: the loser reads again and
decides again. A retry of a signal already accepted is accepted again, so a send that failed
after the ledger changed is retried, never lost (SQS drops the copy of one that went out, by
its deduplication id). Likewise a retry of the signal that tripped the breaker trips again until
its alert is marked sent (`alert_sent`, a second write after the alert): the day's alert is
never lost, and sent twice only if the function dies between SNS's answer and that mark. The
domain events come before the send (alert), so a failure anywhere is retried whole.

Every signal of a quality model is recorded: `QualityDegraded`, then `RetrainRequested` or
`RetrainSuppressed` (data.reason `cooldown` | `breaker`), all with trigger `quality` and the
signal's request id, which the queue worker's `TrainingRequested`/`TrainingStarted` carry on.
AWS is reached only through `QualityPorts`; the handler (`handlers/quality_trigger.py`) wires
the ledger, SQS, SNS and EventBridge behind them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from trainops_runtime import domain_events as events
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import RetryableError
from trainops_runtime.observability import Log
from trainops_runtime.outcomes import QualityOutcome
from trainops_runtime.training_request import MODEL_NAME, TrainingRequest

TRIGGER = "quality"
# A quality alarm of model M is named `<alarm prefix>M--quality<anything>`.
QUALITY_MARKER = "--quality"
# What a custom-pattern rule's input transformer sends: {"qualitySignal": {...these fields}}.
SIGNAL_KEY = "qualitySignal"
SIGNAL_FIELDS = frozenset({"model", "id", "source", "detailType", "time"})
MAX_SIGNAL_TEXT = 256  # an event id, source or detail-type longer than this is no event's
ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
ALARM_STATE = "ALARM"
REQUESTED_BY = "trainops-quality"
REQUEST_PREFIX = "quality:"
REQUEST_HASH_CHARS = 24
MAX_REASON_CHARS = 1024  # the request schema's limit
# How often one signal reads and decides again after losing a race for the model's ledger item
# before it gives up (and Lambda's retry tries later).
MAX_RACES = 5

# The handler's metrics (EMF, one each per signal).
METRIC_SIGNALS = "QualitySignals"  # signals of models that take them
METRIC_REQUESTED = "QualityRetrainsRequested"  # accepted: a request sent
METRIC_SUPPRESSED = "QualityRetrainsSuppressed"  # cooldown or breaker (a trip included)
METRIC_TRIPPED = "QualityBreakerTripped"  # the day's cap reached: a critical alert
METRIC_IGNORED = "QualitySignalsIgnored"  # not a quality signal of a model that takes them
METRICS = (METRIC_SIGNALS, METRIC_REQUESTED, METRIC_SUPPRESSED, METRIC_TRIPPED, METRIC_IGNORED)

_MODEL = re.compile(MODEL_NAME)


class InvalidSignal(ValueError):
    """The event is neither an alarm state change nor a quality signal trainops configured:
    a deployment bug (the function is invoked asynchronously, so the event lands in its failure
    destination with this message)."""


# ---- naming ---------------------------------------------------------------------------------


def model_of_alarm(alarm_name: str, prefix: str, models: Container[str]) -> str | None:
    """The model whose quality alarm ``alarm_name`` is (`<prefix><model>--quality...`), the
    longest of ``models`` that fits; None when it is no quality alarm of one of them."""
    if not alarm_name.startswith(prefix):
        return None
    rest = alarm_name[len(prefix) :]
    found = None
    at = rest.find(QUALITY_MARKER)
    while at >= 0:
        if at > 0 and rest[:at] in models:
            found = rest[:at]  # later markers make longer names
        at = rest.find(QUALITY_MARKER, at + 1)
    return found


# ---- signals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One report that a model's quality degraded."""

    model: str
    signal_id: str  # the same for every delivery of the same report
    source_description: str  # the alarm's name, or `<source>/<detail-type>`
    at: datetime  # when: the alarm's state change, or the event's time
    source: str = ALARM_SOURCE
    alarm_name: str | None = None
    detail_type: str | None = None

    def data(self) -> dict[str, Any]:
        """What `QualityDegraded` says about the signal."""
        data: dict[str, Any] = {"signalId": self.signal_id, "source": self.source}
        if self.alarm_name is not None:
            data["alarmName"] = self.alarm_name
        if self.detail_type is not None:
            data["detailType"] = self.detail_type
        return data


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that is no quality signal of a model taking them, and why."""

    reason: str
    alarm_name: str | None = None
    model: str | None = None


def _shown(value: Any) -> str:
    return repr(value)[:300]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_SIGNAL_TEXT:
        raise InvalidSignal(
            f"{what} must be a string of 1 to {MAX_SIGNAL_TEXT} characters, got {_shown(value)}"
        )
    return value


def _time(value: Any, what: str) -> datetime:
    """An ISO 8601 time (`...Z`, `+00:00` or CloudWatch's `+0000`) as an aware datetime."""
    text = _text(value, what)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSignal(f"{what} is not an ISO 8601 time: {_shown(text)}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _custom_signal(event: dict[str, Any], catalog: ModelCatalog) -> Signal:
    """The input transformer's shape, exactly."""
    body = event[SIGNAL_KEY]
    if set(event) != {SIGNAL_KEY} or not isinstance(body, dict) or set(body) != SIGNAL_FIELDS:
        raise InvalidSignal(
            f"unexpected quality signal {_shown(event)}: want {{{SIGNAL_KEY!r}: "
            f"{{{', '.join(sorted(SIGNAL_FIELDS))}}}}}"
        )
    model = body["model"]
    if not isinstance(model, str) or not _MODEL.match(model):
        raise InvalidSignal(f"quality signal model {_shown(model)} is not a model name")
    if model not in catalog.entries:
        raise InvalidSignal(
            f"quality signal of {model!r}, which this stack does not train (a rule names a model "
            f"the function's catalog lacks); this stack trains: {', '.join(catalog.models)}"
        )
    source = _text(body["source"], "qualitySignal.source")
    detail_type = _text(body["detailType"], "qualitySignal.detailType")
    return Signal(
        model=model,
        signal_id=_text(body["id"], "qualitySignal.id"),
        source_description=f"{source}/{detail_type}",
        at=_time(body["time"], "qualitySignal.time"),
        source=source,
        detail_type=detail_type,
    )


def _alarm_signal(event: dict[str, Any], prefix: str, catalog: ModelCatalog) -> Signal | Ignored:
    """An alarm state change: a signal when a quality alarm of a catalog model enters ALARM."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidSignal(f"alarm state change without a detail object: {_shown(event)}")
    name = _text(detail.get("alarmName"), "detail.alarmName")
    state = detail.get("state")
    if not isinstance(state, dict):
        raise InvalidSignal(f"alarm state change of {name} without detail.state")
    value = _text(state.get("value"), "detail.state.value")
    stamp = _text(state.get("timestamp"), "detail.state.timestamp")
    at = _time(stamp, "detail.state.timestamp")
    if value != ALARM_STATE:
        return Ignored(f"{name} entered {value}, not {ALARM_STATE}", alarm_name=name)
    model = model_of_alarm(name, prefix, catalog.entries)
    if model is None:
        return Ignored(
            f"{name} is not a quality alarm of this stack's models "
            f"({prefix}<model>{QUALITY_MARKER}...)",
            alarm_name=name,
        )
    return Signal(
        model=model,
        signal_id=f"{name}@{stamp}",
        source_description=name,
        at=at,
        alarm_name=name,
    )


def parse_signal(event: Any, *, prefix: str, catalog: ModelCatalog) -> Signal | Ignored:
    """The signal ``event`` carries, `Ignored` (with the reason) when it is well-formed but no
    quality signal of a model that takes them, or `InvalidSignal` for anything else."""
    if isinstance(event, dict) and SIGNAL_KEY in event:
        parsed: Signal | Ignored = _custom_signal(event, catalog)
    elif (
        isinstance(event, dict)
        and event.get("source") == ALARM_SOURCE
        and event.get("detail-type") == ALARM_DETAIL_TYPE
    ):
        parsed = _alarm_signal(event, prefix, catalog)
    else:
        raise InvalidSignal(
            f"not a quality signal: want a {ALARM_DETAIL_TYPE!r} event from {ALARM_SOURCE} or "
            f"{{{SIGNAL_KEY!r}: {{...}}}}, got {_shown(event)}"
        )
    if isinstance(parsed, Signal) and not catalog.get(parsed.model).quality_retraining:
        return Ignored(
            f"{parsed.model} does not take quality signals (qualityRetraining is off)",
            alarm_name=parsed.alarm_name,
            model=parsed.model,
        )
    return parsed


def request_for(signal: Signal) -> TrainingRequest:
    """The request a signal becomes (or would have): its id is derived from the signal, so
    every delivery of the signal is the same request (and the same SQS deduplication id)."""
    digest = hashlib.sha256(f"{signal.model}\n{signal.signal_id}".encode()).hexdigest()
    stamp = signal.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TrainingRequest(
        model=signal.model,
        request_id=REQUEST_PREFIX + digest[:REQUEST_HASH_CHARS],
        requested_by=REQUESTED_BY,
        reason=f"quality: {signal.source_description} at {stamp}"[:MAX_REASON_CHARS],
        trigger=TRIGGER,
    )


# ---- the ledger and the decision --------------------------------------------------------------


@dataclass(frozen=True)
class LedgerItem:
    """One model's item in the quality ledger (DynamoDB, partition key `model`)."""

    model: str
    version: int = 0  # 0: the model has no item yet
    last_accepted_at: int | None = None  # epoch seconds of the last accepted signal
    day: str | None = None  # the UTC day (YYYY-MM-DD) `count` counts
    count: int = 0  # quality retrains accepted that day
    last_signal_id: str | None = None  # the last accepted signal
    alerted_day: str | None = None  # the last day the breaker alerted
    alert_signal_id: str | None = None  # the signal that tripped it then
    alert_sent: bool | None = None  # whether that signal's alert went out (None: no trip yet)


@dataclass(frozen=True)
class Policy:
    """How often quality signals may retrain a model."""

    alarm_prefix: str  # `trainops-<stack>--`
    cooldown: timedelta
    max_per_day: int


@dataclass(frozen=True)
class Accept:
    """Retrain: send the signal's request."""

    day: str
    count: int  # the model's quality retrains that day, this one included
    accepted_at: int  # epoch seconds
    retry: bool = False  # accepted before (a redelivery, or a retry after a failed send)


@dataclass(frozen=True)
class Suppress:
    """No retraining: within the cooldown, or the breaker already alerted today."""

    reason: Literal["cooldown", "breaker"]
    detail: str


@dataclass(frozen=True)
class Trip:
    """The day's cap is reached: no retraining, and the breaker's one alert of the day."""

    day: str
    count: int
    retry: bool = False  # tripped by this signal before (its alert may not have gone out)


Decision = Accept | Suppress | Trip


def signal_time(signal: Signal, now: datetime) -> datetime:
    """When the signal counts as having happened: its own time, but never after ``now`` (a
    clock ahead of ours must not end a cooldown early or start tomorrow's count)."""
    return min(signal.at, now).astimezone(UTC)


def _stamp(epoch: int | datetime) -> str:
    at = epoch if isinstance(epoch, datetime) else datetime.fromtimestamp(epoch, UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _again(item: LedgerItem, signal: Signal, day: str) -> Decision | None:
    """What a signal the item already records does again (None: a signal it does not know)."""
    if item.last_signal_id == signal.signal_id:
        accepted_at = item.last_accepted_at or 0
        return Accept(day=item.day or day, count=item.count, accepted_at=accepted_at, retry=True)
    if item.alert_signal_id != signal.signal_id:
        return None
    if item.alert_sent:  # a redelivery of the signal that tripped: it alerted already
        return Suppress(
            "breaker",
            f"{signal.model}'s circuit breaker tripped on this signal on {item.alerted_day}, "
            "and alerted",
        )
    return Trip(day=item.alerted_day or day, count=item.count, retry=True)


def decide(
    item: LedgerItem | None,
    signal: Signal,
    now: datetime,
    *,
    cooldown: timedelta,
    max_per_day: int,
) -> Decision:
    """What a signal does, given the model's ledger item (None: the model has none yet).

    Days are UTC days of the signal's time (`signal_time`); the cooldown runs from the last
    accepted signal's time. A signal already accepted is accepted again; the one that tripped
    the breaker trips again until its alert is marked sent.
    """
    item = item or LedgerItem(signal.model)
    at = signal_time(signal, now)
    day = at.date().isoformat()
    again = _again(item, signal, day)
    if again is not None:
        return again
    if item.last_accepted_at is not None:
        last = datetime.fromtimestamp(item.last_accepted_at, UTC)
        if at - last < cooldown:  # an older signal than the last accepted one, too
            return Suppress(
                "cooldown",
                f"{signal.model} was last retrained for quality at {_stamp(last)}; the next "
                f"quality retrain may start from {_stamp(last + cooldown)}",
            )
    today = item.count if item.day == day else 0
    if today >= max_per_day:
        if item.alerted_day == day:
            return Suppress(
                "breaker",
                f"{signal.model} had {today} quality retrains on {day} (at most {max_per_day}); "
                "the circuit breaker tripped and alerted",
            )
        return Trip(day=day, count=today)
    return Accept(day=day, count=today + 1, accepted_at=int(at.timestamp()))


def applied(item: LedgerItem | None, decision: Decision, signal: Signal) -> LedgerItem | None:
    """The model's item after ``decision`` (its version one up), or None when the decision
    changes nothing (a suppression, or a retry of what the item already records)."""
    base = item or LedgerItem(signal.model)
    if isinstance(decision, Accept) and not decision.retry:
        return replace(
            base,
            version=base.version + 1,
            last_accepted_at=decision.accepted_at,
            day=decision.day,
            count=decision.count,
            last_signal_id=signal.signal_id,
        )
    if isinstance(decision, Trip) and not decision.retry:
        return replace(
            base,
            version=base.version + 1,
            alerted_day=decision.day,
            alert_signal_id=signal.signal_id,
            alert_sent=False,
        )
    return None


def alert_sent(item: LedgerItem | None, signal: Signal) -> LedgerItem | None:
    """The item once ``signal``'s breaker alert went out (None: nothing to write, the item no
    longer waits for that alert)."""
    if item is None or item.alert_signal_id != signal.signal_id or item.alert_sent:
        return None
    return replace(item, version=item.version + 1, alert_sent=True)


def breaker_alert(signal: Signal, trip: Trip, max_per_day: int) -> tuple[str, str]:
    """The critical alert of a tripped breaker: subject and message."""
    subject = f"trainops: quality retraining of {signal.model} stopped for {trip.day}"
    message = (
        f"The circuit breaker of quality-triggered retraining tripped for model {signal.model}.\n"
        f"\n"
        f"Quality retrains of {signal.model} on {trip.day} (UTC): {trip.count}, the cap is "
        f"{max_per_day} a day.\n"
        f"Signal: {signal.source_description} at {_stamp(signal.at)} "
        f"(signal id {signal.signal_id}).\n"
        f"\n"
        f"This signal requested no retraining, and neither will further quality signals of "
        f"{signal.model} today: they are recorded as RetrainSuppressed (breaker) without another "
        f"alert. Quality retraining of {signal.model} resumes on the next UTC day.\n"
        f"A model whose quality degrades again right after each retraining needs a person: check "
        f"its data, its alarms' thresholds and its recent trainings (trainops history)."
    )
    return subject, message


# ---- the use case ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityPorts:
    """What a signal needs from the world."""

    read: Callable[[str], LedgerItem | None]  # the model's ledger item (consistent read)
    # writes the item if the model's item still has the given version (0: none yet); False when
    # another signal changed it meanwhile
    save: Callable[[LedgerItem, int], bool]
    send: Callable[[TrainingRequest], object]  # onto the training queue
    # subject, message to the critical topic; returns None when the stack has no such topic
    alert: Callable[[str, str], object]
    publish: Callable[..., object]
    count: Callable[[str], object]  # adds one to a metric
    log: Log


@dataclass
class QualityTrigger:
    """One signal's run."""

    catalog: ModelCatalog
    policy: Policy
    ports: QualityPorts

    def run(self, event: Any, *, now: datetime | None = None) -> dict[str, Any]:
        parsed = parse_signal(event, prefix=self.policy.alarm_prefix, catalog=self.catalog)
        if isinstance(parsed, Ignored):
            self.ports.log.info(
                "not a quality signal of a model that takes them; ignored",
                extra={"reason": parsed.reason, "alarm": parsed.alarm_name, "model": parsed.model},
            )
            self.ports.count(METRIC_IGNORED)
            return {"status": QualityOutcome.IGNORED, "reason": parsed.reason}
        signal = parsed
        self.ports.count(METRIC_SIGNALS)
        now = now or datetime.now(UTC)
        request = request_for(signal)
        decision = self._decide(signal, now)
        degraded = _event(
            events.QUALITY_DEGRADED,
            request,
            reason=signal.source_description,
            data=signal.data(),
            occurred_at=signal_time(signal, now),
        )
        result = {
            "model": signal.model,
            "requestId": request.request_id,
            "signalId": signal.signal_id,
        }
        if isinstance(decision, Accept):
            self._request(signal, request, decision, degraded)
            return {"status": QualityOutcome.REQUESTED, **result}
        if isinstance(decision, Trip):
            self._trip(signal, request, decision, degraded)
            return {"status": QualityOutcome.TRIPPED, **result}
        self._suppress(signal, request, decision, degraded)
        return {"status": QualityOutcome.SUPPRESSED, "reason": decision.reason, **result}

    def _decide(self, signal: Signal, now: datetime) -> Decision:
        """Reads, decides and records the decision with one conditional write; a write that lost
        a race (another signal of the model decided meanwhile) reads and decides again."""
        for _ in range(MAX_RACES):
            item = self.ports.read(signal.model)
            decision = decide(
                item,
                signal,
                now,
                cooldown=self.policy.cooldown,
                max_per_day=self.policy.max_per_day,
            )
            after = applied(item, decision, signal)
            if after is None or self.ports.save(after, item.version if item else 0):
                return decision
            self.ports.log.info(
                "the model's quality ledger changed meanwhile; deciding again",
                extra={"model": signal.model, "signal": signal.signal_id},
            )
        raise RetryableError(
            f"the quality ledger of {signal.model} changed {MAX_RACES} times while deciding "
            f"signal {signal.signal_id}; Lambda will retry"
        )

    def _request(
        self,
        signal: Signal,
        request: TrainingRequest,
        decision: Accept,
        degraded: events.DomainEvent,
    ) -> None:
        if decision.retry:
            self.ports.log.info(
                "signal accepted before: sending its request again",
                extra={"model": signal.model, "requestId": request.request_id},
            )
        else:
            self.ports.count(METRIC_REQUESTED)
        requested = _event(
            events.RETRAIN_REQUESTED,
            request,
            reason=request.reason,
            data={
                "signalId": signal.signal_id,
                "day": decision.day,
                "count": decision.count,
                "maxPerDay": self.policy.max_per_day,
            },
        )
        self.ports.publish(degraded, requested)
        self.ports.send(request)
        self.ports.log.info(
            "quality retraining requested",
            extra={
                "model": signal.model,
                "requestId": request.request_id,
                "reason": request.reason,
            },
        )

    def _suppress(
        self,
        signal: Signal,
        request: TrainingRequest,
        decision: Suppress,
        degraded: events.DomainEvent,
    ) -> None:
        self.ports.count(METRIC_SUPPRESSED)
        suppressed = _event(
            events.RETRAIN_SUPPRESSED,
            request,
            reason=f"{decision.reason}: {decision.detail}",
            data={"reason": decision.reason, "signalId": signal.signal_id},
        )
        self.ports.publish(degraded, suppressed)
        self.ports.log.info(
            "quality retraining suppressed",
            extra={"model": signal.model, "reason": decision.reason, "detail": decision.detail},
        )

    def _trip(
        self,
        signal: Signal,
        request: TrainingRequest,
        decision: Trip,
        degraded: events.DomainEvent,
    ) -> None:
        if not decision.retry:
            self.ports.count(METRIC_TRIPPED)
            self.ports.count(METRIC_SUPPRESSED)
        max_per_day = self.policy.max_per_day
        suppressed = _event(
            events.RETRAIN_SUPPRESSED,
            request,
            reason=(
                f"breaker: {signal.model} had {decision.count} quality retrains on "
                f"{decision.day} (at most {max_per_day}); the circuit breaker tripped"
            ),
            data={
                "reason": "breaker",
                "signalId": signal.signal_id,
                "tripped": True,
                "day": decision.day,
                "count": decision.count,
                "maxPerDay": max_per_day,
            },
        )
        self.ports.publish(degraded, suppressed)
        subject, message = breaker_alert(signal, decision, max_per_day)
        if self.ports.alert(subject, message) is None:
            self.ports.log.warning(
                "the circuit breaker tripped, and the stack has no critical topic to alert",
                extra={"model": signal.model, "day": decision.day},
            )
        else:
            self.ports.log.warning(
                "the circuit breaker tripped: critical alert sent",
                extra={"model": signal.model, "day": decision.day, "count": decision.count},
            )
        self._mark_alert_sent(signal)

    def _mark_alert_sent(self, signal: Signal) -> None:
        """Records that the trip's alert went out, so a redelivery of the signal does not
        alert again (conditional on the version read, like every write)."""
        for _ in range(MAX_RACES):
            item = self.ports.read(signal.model)
            after = alert_sent(item, signal)
            if after is None or self.ports.save(after, item.version if item else 0):
                return
        self.ports.log.warning(
            "could not mark the breaker's alert sent; a redelivery of the signal alerts again",
            extra={"model": signal.model, "signal": signal.signal_id},
        )


def _event(kind: str, request: TrainingRequest, **fields: Any) -> events.DomainEvent:
    return events.about(kind, request, TRIGGER, **fields)
