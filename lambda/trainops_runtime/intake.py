"""What the queue worker does with one training request: the use case, behind ports.

`Intake.handle` takes one queued message and rejects it (to the DLQ, with the reason), makes it
wait (back-pressure), or starts its model's pipeline: parse and check the request, consult the
batch's view of the slot ledger (`admission.admit`), claim or renew the model's slot, start,
and record each step as a domain event, under the request's trigger (`queue` for a producer's
request, `quality` for one a quality signal sent). It calls AWS only through the ports it is given
(`IntakePorts`), so every rule here runs in unit tests with fakes; the handler
(`handlers/queue_worker.py`) wires the real adapters and Powertools around it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from trainops_runtime import admission
from trainops_runtime import domain_events as events
from trainops_runtime.catalog import ModelCatalog, UnknownModel
from trainops_runtime.errors import RetryableError, StartFailed
from trainops_runtime.observability import Log
from trainops_runtime.outcomes import RequestOutcome
from trainops_runtime.training_request import InvalidRequest, Starter, TrainingRequest, parse
from trainops_runtime.training_slots import Slot, SlotTaken, Stale, slot_for, utc_now

if TYPE_CHECKING:
    from trainops_runtime.training_cost import Refusal

TRIGGER = "queue"  # a request that names none, and a message that is no request at all
MAX_REASON_CHARS = 1024  # what the DLQ's reason attribute and the event keep


@dataclass(frozen=True)
class Message:
    """One queued message, as the worker received it."""

    message_id: str
    body: str
    group: str | None  # the FIFO message group (the model, for a well-formed request)
    receive_count: str  # SQS's ApproximateReceiveCount: one deferral per delivery


class Deferred(Exception):
    """Back-pressure: the platform is at capacity; the message waits in the queue."""


class SlotLedger(Protocol):
    """One batch's view of the slot ledger (`adapters.batch_ledger.BatchLedger`)."""

    @property
    def running(self) -> int: ...

    @property
    def held(self) -> Mapping[str, Slot]: ...

    def count(self) -> None: ...

    def renew(self, slot: Slot) -> None: ...

    def claim(self, slot: Slot, now: datetime) -> None: ...

    def release(self, model: str, holder: str) -> None: ...


@dataclass(frozen=True)
class IntakePorts:
    """What the use case needs from the world."""

    ledger: SlotLedger
    # starts the request's pipeline execution as its trigger (`request.trigger`; returns the
    # execution's ARN); raises `StartFailed`, or `InvalidRequest` when an override cannot run
    # for the model
    start: Starter  # the execution's ARN; raises `StartFailed`
    # moves a message to the dead-letter queue with the reason, under the given group
    dead_letter: Callable[[Message, str, str], None]
    publish: Callable[..., object]
    log: Log
    # an alert to people (subject, message): a run refused over its cost cap; None when the
    # stack has no alert topic (the refusal is still dead-lettered and recorded)
    alert: Callable[[str, str], object] | None = None


@dataclass
class Intake:
    """One batch of the worker: its ports, its capacity, and what it did with each message."""

    catalog: ModelCatalog
    max_concurrent: int
    ports: IntakePorts
    outcomes: dict[str, RequestOutcome] = field(default_factory=dict)

    def count(self, outcome: RequestOutcome) -> int:
        return sum(1 for each in self.outcomes.values() if each == outcome)

    def handle(self, message: Message) -> RequestOutcome:
        try:
            request = parse(message.body)
        except InvalidRequest as error:
            self._reject(
                message,
                str(error),
                model=admission.model_hint(message.group),
                **admission.request_hint(message.body),
            )
            return RequestOutcome.REJECTED
        try:
            self.catalog.get(request.model)
        except UnknownModel as error:
            self._reject(
                message,
                str(error),
                model=admission.model_hint(message.group),
                request_id=request.request_id,
                attempt=request.attempt,
                trigger=request.trigger,
            )
            return RequestOutcome.REJECTED
        cost = self.catalog.get(request.model).cost
        refusal = (
            cost.refusal(
                request.model,
                instance_count=request.instance_count,
                max_runtime_minutes=request.max_runtime_minutes,
            )
            if cost is not None
            else None
        )
        if refusal is not None:
            self._refuse_over_cap(message, request, refusal)
            return RequestOutcome.REJECTED

        ledger = self.ports.ledger
        ledger.count()
        slot = ledger.held.get(request.model)
        decision = admission.admit(
            request.idempotency_token(),
            slot.holder if slot else None,
            str(SlotTaken(request.model, slot)),
            running=ledger.running,
            max_concurrent=self.max_concurrent,
        )
        if decision.admission == admission.Admission.WAIT:
            self._defer(message, request, decision.reason or "waiting")
        duplicate = decision.admission == admission.Admission.RESUME
        now = utc_now()
        try:
            if duplicate:
                ledger.renew(self._slot(request, now))
            else:
                ledger.claim(self._slot(request, now), now)
        except Stale as stale:
            self._defer(message, request, str(stale))
        return self._start(message, request, duplicate=duplicate)

    def _slot(self, request: TrainingRequest, now: datetime) -> Slot:
        longest = self.catalog.get(request.model).longest_run_minutes
        return slot_for(request, trigger=request.trigger, longest_run_minutes=longest, now=now)

    def _start(
        self, message: Message, request: TrainingRequest, *, duplicate: bool
    ) -> RequestOutcome:
        """Starts the pipeline with the request's token (for a duplicate: the execution its
        first delivery started, found by `resume` or returned for the same token)."""
        requested = self._event(events.TRAINING_REQUESTED, request, reason=request.reason or None)
        if not duplicate:
            self.ports.publish(requested)
        try:
            execution_arn = self.ports.start(request, resume=duplicate)
        except InvalidRequest as error:
            self._release(request)
            self._reject_request(message, request, str(error))
            return RequestOutcome.REJECTED
        except StartFailed as failed:
            # Keep the slot when the execution may exist after all (the redelivery's start with
            # the same token tells), or when this is a duplicate whose slot may cover its first
            # delivery's execution.
            if not duplicate and not failed.may_have_started:
                self._release(request)
            if failed.retryable:
                self.outcomes[message.message_id] = RequestOutcome.RETRY
                raise RetryableError(failed.detail) from failed
            reason = f"SageMaker refused the start: {failed.detail}"
            self._reject_request(message, request, reason)
            self.ports.publish(
                self._event(
                    events.TRAINING_FAILED, request, reason=reason, data={"retryable": False}
                )
            )
            return RequestOutcome.REJECTED
        started = self._event(events.TRAINING_STARTED, request, execution_arn=execution_arn)
        if duplicate:
            # An earlier delivery may have died between the start and the publish.
            self.ports.publish(requested, started)
            self.outcomes[message.message_id] = RequestOutcome.DUPLICATE
            return RequestOutcome.DUPLICATE
        self.ports.publish(started)
        self.outcomes[message.message_id] = RequestOutcome.STARTED
        return RequestOutcome.STARTED

    def _release(self, request: TrainingRequest) -> None:
        """Frees the slot of a request that did not start. Best effort: if this fails, the
        slot expires, or the stall detector frees it."""
        try:
            self.ports.ledger.release(request.model, request.idempotency_token())
        except RetryableError as error:
            self.ports.log.warning(
                "could not free the slot of a request that did not start",
                extra={"model": request.model, "reason": str(error)},
            )

    def _event(self, kind: str, request: TrainingRequest, **fields: Any) -> events.DomainEvent:
        return events.about(kind, request, request.trigger, **fields)

    def _reject_request(self, message: Message, request: TrainingRequest, reason: str) -> None:
        self._reject(
            message,
            reason,
            model=request.model,
            request_id=request.request_id,
            attempt=request.attempt,
            trigger=request.trigger,
        )

    def _refuse_over_cap(
        self, message: Message, request: TrainingRequest, refusal: Refusal
    ) -> None:
        """Before any slot or start: dead-lettered with the reason, recorded as TrainingRejected
        with the projection and the cap, and an alert naming them."""
        self._reject(
            message,
            refusal.reason,
            model=request.model,
            request_id=request.request_id,
            attempt=request.attempt,
            trigger=request.trigger,
            data=refusal.data(),
        )
        if self.ports.alert is not None:
            self.ports.alert(*refusal.alert())

    def _reject(
        self,
        message: Message,
        reason: str,
        model: str = admission.NO_MODEL,
        request_id: str | None = None,
        attempt: int = 1,
        *,
        trigger: str = TRIGGER,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Never retried: the message goes to the DLQ with the reason and is acknowledged. The
        rejection is recorded under the request's own id when the body names one."""
        reason = reason[:MAX_REASON_CHARS]
        self.ports.dead_letter(message, message.group or model, reason)
        self.ports.publish(
            events.DomainEvent(
                type=events.TRAINING_REJECTED,
                model=model if model != admission.NO_MODEL else "unknown",
                request_id=request_id or f"sqs:{message.message_id}",
                attempt=attempt,
                trigger=trigger,
                reason=reason,
                data=data or {},
            )
        )
        self.ports.log.warning(
            "request rejected", extra={"message_id": message.message_id, "reason": reason}
        )
        self.outcomes[message.message_id] = RequestOutcome.REJECTED

    def _defer(self, message: Message, request: TrainingRequest, reason: str) -> NoReturn:
        """Back-pressure: recorded, then raised so the message is reported failed and waits."""
        self.ports.publish(
            self._event(
                events.TRAINING_DEFERRED,
                request,
                reason=reason,
                discriminator=message.message_id + message.receive_count,
            )
        )
        self.outcomes[message.message_id] = RequestOutcome.DEFERRED
        raise Deferred(reason)
