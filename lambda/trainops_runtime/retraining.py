"""What one scheduled retraining tick does for one model: the use case, behind ports.

Safe to run twice for the same tick (Scheduler delivers at least once): the request id is
`schedule:<model>:<scheduledTime>`, so a repeated delivery maps onto the same SageMaker
`ClientRequestToken`; a tick never overlaps a training of its model (it claims the model's slot
in the ledger it shares with the training queue, or, in a stack without a queue, asks
SageMaker's listing of the model's pipeline); with `onlyWhenNewData` it skips when nothing under
the model's training data changed since the last successful execution started. Each step is a
domain event. AWS is reached only through `RetrainingPorts`, so the rules run in unit tests with
fakes; the handler (`handlers/start_retraining.py`) wires the adapters behind them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trainops_runtime import domain_events as events
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import RetryableError, StartFailed
from trainops_runtime.observability import Log
from trainops_runtime.outcomes import StartOutcome
from trainops_runtime.training_request import MODEL_NAME, Starter, TrainingRequest
from trainops_runtime.training_slots import RunningExecution, Slot, SlotTaken, slot_for, utc_now

if TYPE_CHECKING:
    from trainops_runtime.training_cost import Refusal

TRIGGER = "schedule"


class InvalidTick(ValueError):
    """The schedule's payload is not what trainops configured: a deployment bug."""


@dataclass(frozen=True)
class Tick:
    model: str
    scheduled_time: datetime


def parse_tick(event: Any) -> Tick:
    """`{"model": ..., "scheduledTime": <ISO 8601>}` exactly, or InvalidTick."""
    if not isinstance(event, dict) or set(event) != {"model", "scheduledTime"}:
        raise InvalidTick(f"unexpected schedule payload {event!r}: want model and scheduledTime")
    model, when = event["model"], event["scheduledTime"]
    if not isinstance(model, str) or not re.match(MODEL_NAME, model):
        raise InvalidTick(f"unexpected schedule payload {event!r}: bad model name")
    try:
        scheduled = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidTick(f"unexpected schedule payload {event!r}: bad scheduledTime") from None
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=UTC)
    return Tick(model=model, scheduled_time=scheduled)


def request_for(tick: Tick) -> TrainingRequest:
    stamp = tick.scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TrainingRequest(
        model=tick.model,
        request_id=f"schedule:{tick.model}:{stamp}",
        requested_by="scheduler",
        reason=f"scheduled retraining for {stamp}",
    )


@dataclass(frozen=True)
class RetrainingPorts:
    """What a tick needs from the world."""

    # Takes the model's slot (free, expired or already this tick's) and returns the slot it
    # found (None when free); raises `SlotTaken`, or `RetryableError` when the call failed.
    # None: the stack has no training queue, so no ledger.
    claim: Callable[[Slot, datetime], Slot | None] | None
    # Frees the tick's slot after a start that certainly did nothing (`RetryableError`: failed)
    release: Callable[[TrainingRequest], None]
    running: Callable[[str], list[RunningExecution]]  # the model's running executions
    last_success_started: Callable[[str], datetime | None]
    changed_since: Callable[[str, datetime], object | None]  # newest change under a prefix
    start: Starter  # the execution's ARN; raises `StartFailed`
    publish: Callable[..., object]
    notify: Callable[[str, str], object]  # subject, message (nothing when no topic)
    # an alert to people (subject, message): a tick refused over its cost cap (nothing when the
    # stack has no alert topic; a failed alert is logged, the refusal is recorded anyway)
    alert: Callable[[str, str], object]
    # adds one to a metric (`RetrainingStarted` as soon as the start succeeded, so a failing
    # announcement cannot lose it; `RetrainingSkipped`)
    count: Callable[[str], object]
    log: Log


@dataclass
class Retraining:
    """One tick's run."""

    catalog: ModelCatalog
    ports: RetrainingPorts

    def run(self, event: Any) -> dict[str, Any]:
        tick = parse_tick(event)
        request = request_for(tick)
        cost = self.catalog.get(request.model).cost
        refusal = cost.refusal(request.model) if cost is not None else None
        if refusal is not None:
            return self._refuse(request, refusal)
        if self.ports.claim is None:
            return self._run_without_ledger(request)
        skipped = self._skip_without_new_data(request)
        if skipped is not None:
            return skipped
        now = utc_now()
        longest = self.catalog.get(tick.model).longest_run_minutes
        slot = slot_for(request, trigger=TRIGGER, longest_run_minutes=longest, now=now)
        try:
            previous = self.ports.claim(slot, now)
        except SlotTaken as taken:
            return self._skip(request, str(taken), discriminator="overlap")
        duplicate = (
            previous is not None and previous.holder == slot.holder and not previous.expired(now)
        )
        if duplicate:
            self.ports.log.info(
                "duplicate delivery: this tick already holds the model's slot",
                extra={"model": tick.model},
            )
        return self._start(request, duplicate=duplicate, release=True)

    def _run_without_ledger(self, request: TrainingRequest) -> dict[str, Any]:
        """No training queue in this stack, so no slot ledger: SageMaker's listing of the
        model's own pipeline says whether it trains (nothing else starts it)."""
        own_name = request.execution_display_name(TRIGGER)
        running = self.ports.running(request.model)
        own = next((e for e in running if e.display_name == own_name), None)
        if own is not None:
            self.ports.log.info(
                "duplicate delivery: this tick's execution is already running",
                extra={"model": request.model},
            )
            # An earlier delivery may have died after the start: announce it again. The events
            # keep their ids (the store records each once); the notice may arrive twice.
            self._announce_start(request, own.execution_arn, again=True)
            return {
                "status": StartOutcome.DUPLICATE,
                "model": request.model,
                "executionArn": own.execution_arn,
            }
        if running:
            blocking = running[0]
            return self._skip(
                request,
                f"execution {blocking.execution_arn} is still {blocking.status}",
                discriminator="overlap",
            )
        skipped = self._skip_without_new_data(request)
        if skipped is not None:
            return skipped
        return self._start(request, duplicate=False, release=False)

    def _skip_without_new_data(self, request: TrainingRequest) -> dict[str, Any] | None:
        """With `onlyWhenNewData`: skips when nothing under the training data changed since the
        last successful execution started."""
        entry = self.catalog.get(request.model)
        if not entry.only_when_new_data:
            return None
        last_success = self.ports.last_success_started(request.model)
        if last_success is None:
            return None
        if self.ports.changed_since(entry.training_data, last_success) is not None:
            return None
        return self._skip(
            request,
            f"no data under {entry.training_data} changed since the last success "
            f"({last_success.isoformat()})",
            discriminator="no-new-data",
        )

    def _skip(self, request: TrainingRequest, reason: str, discriminator: str) -> dict[str, Any]:
        self.ports.log.info("retraining skipped", extra={"model": request.model, "reason": reason})
        self.ports.publish(
            _event(events.TRAINING_SKIPPED, request, reason=reason, discriminator=discriminator)
        )
        self.ports.count("RetrainingSkipped")
        return {"status": StartOutcome.SKIPPED, "model": request.model, "reason": reason}

    def _refuse(self, request: TrainingRequest, refusal: Refusal) -> dict[str, Any]:
        """A tick whose run could cost more than the model's cap: nothing is claimed or
        started; recorded as TrainingRejected with the projection and the cap, and alerted."""
        self.ports.log.warning(
            "retraining refused over its cost cap",
            extra={"model": request.model, "reason": refusal.reason},
        )
        self.ports.publish(
            _event(events.TRAINING_REJECTED, request, reason=refusal.reason, data=refusal.data())
        )
        self.ports.count("RetrainingRefused")
        self.ports.alert(*refusal.alert())
        return {"status": StartOutcome.REFUSED, "model": request.model, "reason": refusal.reason}

    def _start(self, request: TrainingRequest, *, duplicate: bool, release: bool) -> dict[str, Any]:
        """Starts with the tick's token; a duplicate gets the execution its first delivery
        started (as SageMaker lists it, else SageMaker's answer for the same token). A first
        start that certainly failed frees the slot it claimed (``release``); otherwise the slot
        stays (the stall check frees it if nothing runs)."""
        if not duplicate:
            self.ports.publish(_event(events.TRAINING_REQUESTED, request, reason=request.reason))
        try:
            execution_arn = self.ports.start(request, resume=duplicate)
        except StartFailed as failed:
            # Keep the slot when the execution may exist after all (Lambda's retry, with the
            # same token, tells) or when a duplicate's slot may cover it.
            if release and not duplicate and not failed.may_have_started:
                self._release(request)
            if failed.retryable:
                self.ports.log.warning(
                    "retryable error; Lambda will retry", extra={"reason": failed.detail}
                )
                raise RetryableError(failed.detail) from failed
            self.ports.publish(
                _event(
                    events.TRAINING_FAILED,
                    request,
                    reason=f"could not start: {failed.code}",
                    data={"retryable": False},
                )
            )
            raise
        if duplicate:
            self._announce_start(request, execution_arn, again=True)
            return {
                "status": StartOutcome.DUPLICATE,
                "model": request.model,
                "executionArn": execution_arn,
            }
        self.ports.count("RetrainingStarted")
        self._announce_start(request, execution_arn)
        return {
            "status": StartOutcome.STARTED,
            "model": request.model,
            "executionArn": execution_arn,
        }

    def _release(self, request: TrainingRequest) -> None:
        try:
            self.ports.release(request)
        except RetryableError as error:  # the slot expires, or the stall check frees it
            self.ports.log.warning("could not free the slot", extra={"reason": str(error)})

    def _announce_start(
        self, request: TrainingRequest, execution_arn: str, *, again: bool = False
    ) -> None:
        """`TrainingStarted` on the bus (again: with `TrainingRequested`) and the notice."""
        started = _event(events.TRAINING_STARTED, request, execution_arn=execution_arn)
        if again:
            self.ports.publish(
                _event(events.TRAINING_REQUESTED, request, reason=request.reason), started
            )
        else:
            self.ports.publish(started)
        self.ports.notify(
            f"trainops: scheduled retraining of {request.model} started",
            f"Scheduled retraining of {request.model} ({request.reason}) started.\n"
            f"Execution: {execution_arn}",
        )


def _event(kind: str, request: TrainingRequest, **fields: Any) -> events.DomainEvent:
    return events.about(kind, request, TRIGGER, **fields)
