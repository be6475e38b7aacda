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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trainops_runtime import domain_events as events
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import RetryableError
from trainops_runtime.observability import Log
from trainops_runtime.outcomes import QualityOutcome
from trainops_runtime.quality_breaker import (
    Accept,
    Decision,
    LedgerItem,
    Policy,
    Suppress,
    Trip,
    alert_sent,
    applied,
    breaker_alert,
    decide,
    signal_time,
)
from trainops_runtime.quality_signals import (
    TRIGGER,
    Ignored,
    Signal,
    parse_signal,
    request_for,
)
from trainops_runtime.training_request import TrainingRequest

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
