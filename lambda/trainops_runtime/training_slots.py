"""The training-slot ledger as a domain model: which models train now, for whom, until when.

What a slot is (a model's claim by one request's idempotency token, with an expiry), what one
read of the ledger shows, which execution a slot covers, and how far ahead a running
execution's slot must stay valid, and what a sweep should change (`plan_sweep`). Pure: the
DynamoDB item, its conditional updates and carrying a sweep's plan out are the `adapters.slots`
adapter's; why the ledger exists is explained there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from trainops_runtime.training_request import DISPLAY_TOKEN_CHARS, TrainingRequest

# Pipeline steps around the training job (processing, evaluation, registration) and start-up.
EXPIRY_SLACK = timedelta(hours=1)
# A claim precedes its execution's appearance in SageMaker's listing by seconds; the sweep
# leaves slots younger than this alone.
RECONCILE_GRACE = timedelta(minutes=15)
# How often the sweep runs by default (the stall check's and the queue's own schedule).
DEFAULT_SWEEP_INTERVAL = timedelta(minutes=5)
# Slots the sweep takes for running executions that had none.
ADOPTED = "adopted"
ADOPTED_PREFIX = "execution:"


@dataclass(frozen=True)
class RunningExecution:
    """A pipeline execution SageMaker lists as running (or stopping)."""

    model: str
    execution_arn: str
    status: str
    started: datetime | None
    display_name: str = ""


class SlotTaken(Exception):
    """The model's slot belongs to another request (``holder`` says which, when known)."""

    def __init__(self, model: str, holder: Slot | None) -> None:
        self.model = model
        self.holder = holder
        if holder is None:
            who = "another request"
        elif holder.trigger == ADOPTED:
            who = f"execution {holder.holder.removeprefix(ADOPTED_PREFIX)}"
        else:
            who = f"request {holder.request_id} ({holder.trigger})"
        super().__init__(f"{model} is still training for {who}")


class LedgerChanged(Exception):
    """Someone claimed a slot since this caller read the ledger: its count may be stale."""


class Stale(Exception):
    """A batch's count of running trainings can no longer be trusted (someone claimed since it
    read the ledger): its requests wait. The message says why."""


@dataclass(frozen=True)
class Slot:
    """One model's claim: whose request holds it, since when, until when at the latest."""

    model: str
    holder: str
    request_id: str
    trigger: str
    claimed_at: int
    expires_at: int

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= int(now.timestamp())


@dataclass(frozen=True)
class Ledger:
    """What one consistent read of the slots item showed."""

    version: int
    slots: Mapping[str, Slot]
    last_sweep_at: int | None = None

    def held(self, now: datetime) -> dict[str, Slot]:
        """Model -> slot, for every slot that has not expired."""
        return {model: slot for model, slot in self.slots.items() if not slot.expired(now)}


def new_slot(
    model: str,
    *,
    holder: str,
    request_id: str,
    trigger: str,
    longest_run_minutes: int,
    now: datetime,
) -> Slot:
    claimed_at = int(now.timestamp())
    lifetime = timedelta(minutes=longest_run_minutes) + EXPIRY_SLACK
    return Slot(
        model=model,
        holder=holder,
        request_id=request_id,
        trigger=trigger,
        claimed_at=claimed_at,
        expires_at=claimed_at + int(lifetime.total_seconds()),
    )


def slot_for(
    request: TrainingRequest, *, trigger: str, longest_run_minutes: int, now: datetime
) -> Slot:
    """The slot ``request`` claims: held by its idempotency token (the start token, which the
    outcome handler recomputes from the execution), and named by its request id."""
    return new_slot(
        request.model,
        holder=request.idempotency_token(),
        request_id=request.request_id,
        trigger=trigger,
        longest_run_minutes=longest_run_minutes,
        now=now,
    )


def adopted_holder(execution_arn: str) -> str:
    """The holder of a slot the sweep took for a running execution that had none (started in
    the console, or whose own slot was lost); its end event frees it by execution ARN."""
    return f"{ADOPTED_PREFIX}{execution_arn}"


def holds(slot: Slot, execution: RunningExecution) -> bool:
    """Whether ``execution`` is the one ``slot`` was claimed for (display names end with the
    first characters of the request's token; adopted slots name the execution)."""
    if slot.holder == adopted_holder(execution.execution_arn):
        return True
    return execution.display_name.endswith(f"-{slot.holder[:DISPLAY_TOKEN_CHARS]}")


@dataclass
class Reconciliation:
    freed: list[Slot]
    adopted: list[Slot]
    extended: list[Slot]


def sweep_horizon(ledger: Ledger, now: datetime) -> timedelta:
    """How far ahead a running execution's slot must stay valid: three sweep intervals (measured
    from the previous sweep; the default 5 minutes before the first), and at least half of
    ``EXPIRY_SLACK``."""
    interval = (
        now - datetime.fromtimestamp(ledger.last_sweep_at, UTC)
        if ledger.last_sweep_at is not None
        else DEFAULT_SWEEP_INTERVAL
    )
    return max(EXPIRY_SLACK / 2, 3 * max(interval, timedelta(minutes=1)))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep of the ledger should change, decided from one read and one listing."""

    extend: list[tuple[Slot, int]]  # a running execution's slot, and its new expiry
    free: list[Slot]  # slots no running execution holds, claimed before the grace
    adopt: list[tuple[Slot, RunningExecution]]  # a slot to take for an execution that has none


def plan_sweep(
    ledger: Ledger,
    running: Mapping[str, Sequence[RunningExecution]],
    longest_run_minutes: Mapping[str, int],
    *,
    now: datetime,
) -> SweepPlan:
    """The sweep's decisions (`adapters.slots.reconcile` says why each is right, and carries
    them out conditionally): ``running`` is model -> its executions that hold a slot, newest
    first, listed before the ledger was read."""
    horizon = sweep_horizon(ledger, now)
    held = ledger.held(now)
    plan = SweepPlan(extend=[], free=[], adopt=[])
    for model, slot in held.items():
        executions = running.get(model, ())
        if any(holds(slot, execution) for execution in executions):
            if slot.expires_at - now.timestamp() < horizon.total_seconds():
                plan.extend.append((slot, int((now + 2 * horizon).timestamp())))
            continue
        if now - datetime.fromtimestamp(slot.claimed_at, UTC) < RECONCILE_GRACE:
            continue
        plan.free.append(slot)
    live = set(held) - {slot.model for slot in plan.free}
    for model, executions in running.items():
        if model in live or not executions or model not in longest_run_minutes:
            continue
        execution = executions[-1]  # listed newest first: the oldest has held the model longest
        adopted = new_slot(
            model,
            holder=adopted_holder(execution.execution_arn),
            request_id="",
            trigger=ADOPTED,
            longest_run_minutes=longest_run_minutes[model],
            now=now,
        )
        plan.adopt.append((adopted, execution))
    return plan
