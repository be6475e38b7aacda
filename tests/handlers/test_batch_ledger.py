"""One worker batch's view of the slot ledger: read once, then its own claims; a rival's claim
or a failed call makes every later request of the batch wait, without another call."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.slot_ledger import TABLE
from trainops_runtime import training_slots
from trainops_runtime.adapters import slots
from trainops_runtime.adapters.batch_ledger import RACED, BatchLedger
from trainops_runtime.errors import RetryableError
from trainops_runtime.training_request import TrainingRequest
from trainops_runtime.training_slots import Stale


def slot(request_id: str, model: str) -> training_slots.Slot:
    request = TrainingRequest(model=model, request_id=request_id, requested_by="tests")
    return training_slots.new_slot(
        model,
        holder=request.idempotency_token(),
        request_id=request_id,
        trigger="queue",
        longest_run_minutes=60,
        now=training_slots.utc_now(),
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ledger calls the batch makes, by name."""
    made: list[str] = []
    for name in ("read", "claim", "renew", "release"):
        real = getattr(slots, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            made.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(slots, name, counted)
    return made


def test_the_ledger_is_read_once_and_the_batch_counts_its_own_claims(
    slot_ledger: str, calls: list[str]
) -> None:
    ledger = BatchLedger(TABLE)
    ledger.count()
    ledger.count()
    assert calls == ["read"]
    ledger.claim(slot("r1", "churn"), training_slots.utc_now())
    ledger.claim(
        slot("r2", "fraud"), training_slots.utc_now()
    )  # its own claim does not make it stale
    assert ledger.running == 2
    assert slots.read(TABLE).version == 2


def test_a_rival_claim_makes_every_later_claim_wait_without_asking(
    slot_ledger: str, calls: list[str]
) -> None:
    ledger = BatchLedger(TABLE)
    ledger.count()
    rival = BatchLedger(TABLE)
    rival.count()
    rival.claim(slot("theirs", "fraud"), training_slots.utc_now())
    with pytest.raises(Stale, match="waiting to recount"):
        ledger.claim(slot("mine", "churn"), training_slots.utc_now())
    assert ledger.stale == RACED
    made = len(calls)
    with pytest.raises(Stale):
        ledger.claim(slot("mine-too", "drift"), training_slots.utc_now())
    assert len(calls) == made  # no call: the count is known to be stale
    assert "churn" not in ledger.held


def test_a_failed_read_makes_the_batch_wait_without_another_call(
    slot_ledger: str, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(table: str) -> training_slots.Ledger:
        calls.append("read")
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "GetItem")

    monkeypatch.setattr(slots, "read", throttled)
    ledger = BatchLedger(TABLE)
    with pytest.raises(RetryableError, match="capacity unknown: ThrottlingException"):
        ledger.count()
    with pytest.raises(RetryableError, match="capacity unknown"):
        ledger.count()
    assert calls == ["read"]
