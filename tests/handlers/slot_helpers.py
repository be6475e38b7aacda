"""Slots in the test ledger (tests/slot_ledger.py) held for a request, as the worker claims them."""

from __future__ import annotations

from datetime import datetime

from tests.slot_ledger import TABLE
from trainops_runtime import training_slots
from trainops_runtime.adapters import slots
from trainops_runtime.training_request import TrainingRequest


def slot_for(
    request: TrainingRequest, now: datetime, trigger: str = "queue"
) -> training_slots.Slot:
    """The slot ``request`` claims for its model at ``now`` (a 60-minute model)."""
    return training_slots.new_slot(
        request.model,
        holder=request.idempotency_token(),
        request_id=request.request_id,
        trigger=trigger,
        longest_run_minutes=60,
        now=now,
    )


def hold(request: TrainingRequest, now: datetime) -> training_slots.Slot:
    """``request`` claims its model's slot at ``now``, as a worker that read no version."""
    slot = slot_for(request, now)
    slots.claim(TABLE, slot, now=now, expected_version=None)
    return slot
