"""BatchLedger: one queue-worker batch's view of the training-slot ledger.

The ledger is read once, when the first valid request needs it (a batch of rejects reads
nothing). After that the batch counts what it claimed itself: each claim is conditional on the
version it read plus its own claims, so a claim that fails means someone else claimed
meanwhile, and every later request of the batch waits (`Stale`) rather than trust a count that
is now wrong. A failed read or write makes every later request of the batch wait too
(`RetryableError`), without another call.

It decides nothing about messages: the worker turns `Stale` into back-pressure (the message is
deferred) and `RetryableError` into a redelivery. The ledger calls themselves are the `slots`
adapter's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import training_slots
from trainops_runtime.adapters import slots
from trainops_runtime.errors import RetryableError, error_code
from trainops_runtime.training_slots import Stale

RACED = "another start claimed a training slot meanwhile; waiting to recount"
MOVED = "the ledger changed since it was read; waiting to recount"


@dataclass
class BatchLedger:
    table: str
    version: int = 0
    # model -> slot, for every slot held (not expired) when read or claimed by this batch
    held: dict[str, training_slots.Slot] = field(default_factory=dict)
    read_done: bool = False
    failure: str | None = None  # a ledger call failed: nothing more is asked of it
    stale: str | None = None  # the count went stale: no more claims

    @property
    def running(self) -> int:
        return len(self.held)

    def count(self) -> None:
        """Reads the ledger, once per batch."""
        if self.failure is not None:
            raise RetryableError(f"capacity unknown: {self.failure}")
        if self.read_done:
            return
        try:
            ledger = slots.read(self.table)
        except (ClientError, BotoCoreError) as error:
            self.failure = f"{error_code(error)}: {error}"
            raise RetryableError(f"capacity unknown: {self.failure}") from error
        self.version = ledger.version
        self.held = ledger.held(training_slots.utc_now())
        self.read_done = True

    def renew(self, slot: training_slots.Slot) -> None:
        """A duplicate delivery: the slot is already this request's. Renewing its claim time
        keeps the stall check from freeing it while the execution starts; it counts no change,
        so no one's count goes stale. If the slot is no longer its own, the count is stale."""
        try:
            renewed = slots.renew(self.table, slot)
        except (ClientError, BotoCoreError) as error:
            self.failure = f"{error_code(error)}: {error}"
            raise RetryableError(f"could not renew the slot: {self.failure}") from error
        if not renewed:
            self.stale = MOVED
            raise Stale(self.stale)

    def claim(self, slot: training_slots.Slot, now: datetime) -> None:
        """The model's slot, conditional on the ledger this batch read and its own claims."""
        if self.stale is not None:
            raise Stale(self.stale)
        try:
            slots.claim(self.table, slot, now=now, expected_version=self.version)
        except training_slots.SlotTaken as taken:
            self.stale = RACED  # claimed since the read, so the count is stale too
            raise Stale(str(taken)) from taken
        except training_slots.LedgerChanged as changed:
            self.stale = RACED
            raise Stale(self.stale) from changed
        except (ClientError, BotoCoreError) as error:
            self.failure = f"{error_code(error)}: {error}"
            raise RetryableError(f"could not claim a slot: {self.failure}") from error
        self.version += 1  # every claim counts one; any other makes this batch's next claim fail
        self.held[slot.model] = slot

    def release(self, model: str, holder: str) -> None:
        """Frees the slot of a request that did not start; `RetryableError` when the call
        failed (the caller decides whether that matters)."""
        self.held.pop(model, None)
        try:
            slots.release(self.table, model, holder)
        except (ClientError, BotoCoreError) as error:
            raise RetryableError(
                f"could not free the slot: {error_code(error)}: {error}"
            ) from error
