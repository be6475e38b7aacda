"""The training-slot ledger on moto: conditional claims and releases, expiry, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.handlers import slot_helpers
from tests.slot_ledger import TABLE
from trainops_runtime import training_slots
from trainops_runtime.adapters import slots
from trainops_runtime.training_request import TrainingRequest
from trainops_runtime.training_slots import RunningExecution

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-{}/execution/{}"


def request(request_id: str, model: str = "churn") -> TrainingRequest:
    return TrainingRequest(model=model, request_id=request_id, requested_by="tests")


def slot_for(req: TrainingRequest, *, now: datetime = NOW) -> training_slots.Slot:
    return slot_helpers.slot_for(req, now)


def hold(req: TrainingRequest, *, at: datetime = NOW) -> training_slots.Slot:
    return slot_helpers.hold(req, at)


def execution(
    model: str, execution_id: str, display_name: str = "started-in-the-console"
) -> RunningExecution:
    """A running execution of ``model``'s pipeline; by default one trainops did not start."""
    return RunningExecution(
        model=model,
        execution_arn=EXECUTION.format(model, execution_id),
        status="Executing",
        started=NOW,
        display_name=display_name,
    )


def running(req: TrainingRequest, execution_id: str, trigger: str = "queue") -> RunningExecution:
    """The execution trainops started for ``req``."""
    return execution(req.model, execution_id, req.execution_display_name(trigger))


def reconcile_churn(
    running_executions: list[RunningExecution], now: datetime
) -> training_slots.Reconciliation:
    """A sweep that finds ``running_executions`` of churn (a 60-minute model) running."""
    return slots.reconcile(TABLE, {"churn": running_executions}, {"churn": 60}, now=now)


def test_an_empty_ledger_reads_as_nothing_running(slot_ledger: str) -> None:
    ledger = slots.read(slot_ledger)
    assert ledger.version == 0
    assert ledger.held(NOW) == {}


def test_a_claim_takes_a_free_slot_and_counts_a_version(slot_ledger: str) -> None:
    first = slot_for(request("r-1"))
    assert slots.claim(TABLE, first, now=NOW, expected_version=0) is None
    ledger = slots.read(TABLE)
    assert ledger.version == 1
    assert ledger.held(NOW) == {"churn": first}
    fraud = slot_for(request("r-2", model="fraud"))
    slots.claim(TABLE, fraud, now=NOW, expected_version=1)
    assert slots.read(TABLE).version == 2


def test_a_held_slot_refuses_another_request_and_names_the_holder(slot_ledger: str) -> None:
    hold(request("r-1"))
    with pytest.raises(training_slots.SlotTaken) as taken:
        slots.claim(TABLE, slot_for(request("r-2")), now=NOW, expected_version=None)
    assert str(taken.value) == "churn is still training for request r-1 (queue)"
    assert taken.value.holder is not None
    assert taken.value.holder.request_id == "r-1"
    assert slots.read(TABLE).version == 1  # a refused claim changes nothing


def test_the_same_request_may_claim_again(slot_ledger: str) -> None:
    """A repeated delivery gets its own slot back, and learns it was already its own."""
    first = hold(request("r-1"))
    again = slot_for(request("r-1"), now=NOW + timedelta(seconds=5))
    assert slots.claim(TABLE, again, now=NOW, expected_version=None) == first


def test_a_stale_count_cannot_claim(slot_ledger: str) -> None:
    slots.claim(TABLE, slot_for(request("f-1", "fraud")), now=NOW, expected_version=0)
    with pytest.raises(training_slots.LedgerChanged, match="from version 0 to 1"):
        slots.claim(TABLE, slot_for(request("c-1")), now=NOW, expected_version=0)
    assert set(slots.read(TABLE).slots) == {"fraud"}


def test_an_expired_slot_can_be_taken(slot_ledger: str) -> None:
    old = hold(request("r-lost"), at=NOW - timedelta(hours=3))
    assert slots.read(TABLE).held(NOW) == {}  # 60 min run + 60 min slack are over
    new = slot_for(request("r-new"))
    assert slots.claim(TABLE, new, now=NOW, expected_version=1) == old
    assert slots.read(TABLE).held(NOW) == {"churn": new}


def test_release_frees_only_the_holders_slot(slot_ledger: str) -> None:
    holder = request("r-1")
    hold(holder)
    assert slots.release(TABLE, "churn", request("r-other").idempotency_token()) is False
    assert "churn" in slots.read(TABLE).slots
    assert slots.release(TABLE, "churn", holder.idempotency_token()) is True
    assert slots.read(TABLE).slots == {}
    assert slots.release(TABLE, "churn", holder.idempotency_token()) is False  # late duplicate
    assert slots.read(TABLE).version == 1  # releases do not make a worker's count stale


def test_reconcile_frees_a_slot_whose_execution_is_gone_after_the_grace(slot_ledger: str) -> None:
    hold(request("r-lost-end"))
    within_grace = NOW + training_slots.RECONCILE_GRACE - timedelta(seconds=1)
    assert reconcile_churn([], within_grace).freed == []
    result = reconcile_churn([], NOW + training_slots.RECONCILE_GRACE)
    assert [s.request_id for s in result.freed] == ["r-lost-end"]
    assert result.adopted == []
    assert slots.read(TABLE).slots == {}


def test_reconcile_keeps_a_slot_whose_execution_runs(slot_ledger: str) -> None:
    req = request("r-running")
    hold(req)
    result = reconcile_churn([running(req, "e1")], NOW + timedelta(hours=1))
    assert result.freed == []
    assert result.adopted == []
    assert slots.read(TABLE).slots["churn"].request_id == "r-running"


def test_reconcile_counts_an_execution_started_outside_trainops(slot_ledger: str) -> None:
    console = execution("fraud", "console1")
    result = slots.reconcile(TABLE, {"fraud": [console], "churn": []}, {"fraud": 60}, now=NOW)
    (adopted,) = result.adopted
    assert adopted.holder == training_slots.adopted_holder(console.execution_arn)
    assert adopted.trigger == "adopted"
    assert slots.read(TABLE).held(NOW) == {"fraud": adopted}
    # the next check keeps it, and its end (training_outcome) frees it by execution ARN
    assert slots.reconcile(TABLE, {"fraud": [console]}, {"fraud": 60}, now=NOW).adopted == []
    assert slots.release(
        TABLE, "fraud", "not-its-token", training_slots.adopted_holder(console.execution_arn)
    )


def test_reconcile_swaps_a_lost_slot_for_the_execution_that_runs(slot_ledger: str) -> None:
    """The model's slot names a request whose end was lost, while another execution runs:
    the stale slot is freed and the running execution takes it."""
    hold(request("r-stale"))
    console = running(request("r-manual"), "m1", trigger="manual")
    result = reconcile_churn([console], NOW + timedelta(hours=1))
    assert [s.request_id for s in result.freed] == ["r-stale"]
    assert [s.holder for s in result.adopted] == [
        training_slots.adopted_holder(console.execution_arn)
    ]


def test_a_renewal_keeps_the_count_and_needs_the_holder(slot_ledger: str) -> None:
    first = slot_for(request("r-1"))
    slots.claim(TABLE, first, now=NOW, expected_version=0)
    later = slot_for(request("r-1"), now=NOW + timedelta(minutes=30))
    assert slots.renew(TABLE, later) is True
    ledger = slots.read(TABLE)
    assert ledger.slots["churn"].claimed_at == later.claimed_at
    assert ledger.version == 1  # a renewal changes no count: no worker's read goes stale
    assert slots.renew(TABLE, slot_for(request("r-other"))) is False
    assert slots.read(TABLE).slots["churn"].request_id == "r-1"


def test_a_release_under_an_old_claim_time_frees_nothing(slot_ledger: str) -> None:
    req = request("r-1")
    first = hold(req)
    slots.renew(TABLE, slot_for(req, now=NOW + timedelta(minutes=20)))
    token = req.idempotency_token()
    assert slots.release(TABLE, "churn", token, claimed_at=first.claimed_at) is False
    assert "churn" in slots.read(TABLE).slots
    with pytest.raises(ValueError, match="at least one holder"):
        slots.release(TABLE, "churn")


def test_the_reconcile_race_with_a_renewal_keeps_the_slot(
    slot_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate renews its claim between the reconcile's read and its release: the release,
    conditional on the claim time it read, frees nothing."""
    req = request("r-redelivered")
    hold(req)
    read = slots.read

    def read_then_renew(table: str) -> training_slots.Ledger:
        ledger = read(table)
        slots.renew(table, slot_for(req, now=NOW + timedelta(hours=1)))
        return ledger

    monkeypatch.setattr(slots, "read", read_then_renew)
    assert reconcile_churn([], NOW + timedelta(hours=1)).freed == []
    assert read(TABLE).slots["churn"].request_id == "r-redelivered"


def test_a_sweep_whose_free_lost_a_race_adopts_nothing_for_that_model(
    slot_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome handler frees the slot between the sweep's read and its release: the
    release frees nothing, and the model is left to the next sweep (its listing is already
    old) rather than adopted for an execution that may have ended meanwhile."""
    req = request("r-ending")
    hold(req)
    read = slots.read

    def read_then_free(table: str) -> training_slots.Ledger:
        ledger = read(table)
        slots.release(table, "churn", req.idempotency_token())
        return ledger

    monkeypatch.setattr(slots, "read", read_then_free)
    result = reconcile_churn([execution("churn", "other")], NOW + timedelta(hours=1))
    assert (result.freed, result.adopted) == ([], [])
    assert "churn" not in read(TABLE).slots


def test_reconcile_adopts_a_run_whose_own_slot_expired(slot_ledger: str) -> None:
    """Its slot lapsed (its run outlasted every estimate) while it still runs: it must not run
    uncounted, so the sweep takes the model's slot for it, by execution ARN."""
    req = request("r-outlasting")
    hold(req, at=NOW - timedelta(hours=3))
    run = running(req, "o1")
    (adopted,) = reconcile_churn([run], NOW).adopted
    assert adopted.holder == training_slots.adopted_holder(run.execution_arn)
    assert slots.read(TABLE).held(NOW) == {"churn": adopted}
    assert str(training_slots.SlotTaken("churn", adopted)) == (
        f"churn is still training for execution {run.execution_arn}"
    )


def test_an_adopted_execution_that_ended_meanwhile_is_let_go(slot_ledger: str) -> None:
    console = execution("fraud", "console2")
    asked: list[str] = []

    def ended(arn: str) -> bool:
        asked.append(arn)
        return False

    result = slots.reconcile(
        TABLE, {"fraud": [console]}, {"fraud": 60}, now=NOW, still_running=ended
    )
    assert asked == [console.execution_arn]
    assert result.adopted == []
    assert slots.read(TABLE).slots == {}


def test_a_run_that_outlasts_its_estimate_keeps_its_slot(slot_ledger: str) -> None:
    req = request("r-long")
    hold(req)
    # 60-minute run + 60 minutes slack: at 1h45 it has 15 minutes left and still runs
    later = NOW + timedelta(minutes=105)
    (extended,) = reconcile_churn([running(req, "l1")], later).extended
    assert extended.expires_at == int((later + training_slots.EXPIRY_SLACK).timestamp())
    assert slots.read(TABLE).held(NOW + timedelta(minutes=150)) == {"churn": extended}
    # with plenty of time left nothing is rewritten
    assert reconcile_churn([running(req, "l1")], later) == training_slots.Reconciliation(
        freed=[], adopted=[], extended=[]
    )


def test_a_slow_sweep_extends_further(slot_ledger: str) -> None:
    """The sweep measures its own interval: slots of running executions stay valid for three of
    them, however the sweep is scheduled."""
    req = request("r-long")
    hold(req)  # valid until NOW + 2 h
    slots.mark_sweep(TABLE, NOW)
    later = NOW + timedelta(hours=1)  # an hourly sweep: 1 h left is less than 3 intervals
    (extended,) = reconcile_churn([running(req, "l2")], later).extended
    assert extended.expires_at == int((later + 2 * timedelta(hours=3)).timestamp())
    assert slots.read(TABLE).last_sweep_at == int(later.timestamp())


def test_an_expired_slot_cannot_be_renewed(slot_ledger: str) -> None:
    """Bringing it back without counting a change would overshoot counts that saw it free."""
    req = request("r-late")
    hold(req, at=NOW - timedelta(hours=3))
    assert slots.renew(TABLE, slot_for(req)) is False
    assert slots.read(TABLE).held(NOW) == {}
