"""The cooldown and circuit breaker of quality retraining: one model's ledger item and the
decision a signal gets from it. Pure: the ledger lives in DynamoDB (`adapters/quality_ledger.py`)
and `quality` applies the decisions with conditional writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from trainops_runtime.quality_signals import Signal


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
