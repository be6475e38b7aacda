"""Training slots: which models are training now, in one DynamoDB item changed only conditionally.

Why a ledger instead of asking SageMaker: SageMaker has no consistent listing across pipelines
(ListPipelineExecutions takes one pipeline; Search spans the whole account and reads an index
that lags), so "how many trainings run, and is this model one of them" would cost one call per
pipeline, and two starters (two worker batches, or a schedule tick and a queued request) could
both see a free slot and both start. Here the whole platform's state is one item:

* **read**: one strongly consistent GetItem returns every held slot and the item's `version`;
* **claim**: one conditional UpdateItem takes the model's slot (free, expired, or already this
  request's) and increments `version`. A queue worker also requires `version` to be what it
  read, so its count of running trainings cannot be stale: if anyone claimed meanwhile, the
  claim fails and the request waits (back-pressure), never overshooting
  `maxConcurrentTrainings`. A schedule tick claims without that check (ticks only promise not to
  overlap a model) but still increments `version`, so a racing worker notices;
* **release**: the outcome handler removes the slot when the execution ends, on condition that
  it still belongs to that request (a late or repeated event cannot free someone else's slot).

A slot names its holder by the request's idempotency token (the SageMaker ClientRequestToken),
which the outcome handler recomputes from the execution's parameters. A slot that is never
released (its end event lost after EventBridge's retries, or a start that died and was never
redelivered) expires after the model's longest possible run plus `EXPIRY_SLACK`; the slot
keeper's sweep (`reconcile`) frees it earlier when SageMaker shows no execution of the holder,
keeps long runs' slots valid, and gives running executions without a slot one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.training_slots import (
    Ledger,
    LedgerChanged,
    Reconciliation,
    RunningExecution,
    Slot,
    SlotTaken,
    plan_sweep,
)

KEY = {"id": {"S": "training-slots"}}
SLOT_PREFIX = "model:"


def _attribute(slot: Slot) -> dict[str, Any]:
    """A slot as the item stores it (one map attribute per model)."""
    return {
        "M": {
            "holder": {"S": slot.holder},
            "requestId": {"S": slot.request_id},
            "trigger": {"S": slot.trigger},
            "claimedAt": {"N": str(slot.claimed_at)},
            "expiresAt": {"N": str(slot.expires_at)},
        }
    }


def _slot_from(model: str, value: Mapping[str, Any]) -> Slot:
    fields = value["M"]
    return Slot(
        model=model,
        holder=fields["holder"]["S"],
        request_id=fields.get("requestId", {}).get("S", ""),
        trigger=fields.get("trigger", {}).get("S", ""),
        claimed_at=int(fields.get("claimedAt", {}).get("N", "0")),
        expires_at=int(fields["expiresAt"]["N"]),
    )


def _ledger(item: Mapping[str, Any]) -> Ledger:
    slots = {
        name.removeprefix(SLOT_PREFIX): _slot_from(name.removeprefix(SLOT_PREFIX), value)
        for name, value in item.items()
        if name.startswith(SLOT_PREFIX)
    }
    last_sweep = item.get("lastSweepAt", {}).get("N")
    return Ledger(
        version=int(item.get("version", {}).get("N", "0")),
        slots=slots,
        last_sweep_at=int(last_sweep) if last_sweep is not None else None,
    )


def read(table: str) -> Ledger:
    """The capacity query: one strongly consistent GetItem."""
    response = clients.client("dynamodb").get_item(TableName=table, Key=KEY, ConsistentRead=True)
    return _ledger(response.get("Item") or {})


def claim(table: str, slot: Slot, *, now: datetime, expected_version: int | None) -> Slot | None:
    """Takes ``slot.model``'s slot for ``slot.holder``; one conditional UpdateItem.

    The slot must be free, expired, or held by the same holder (a repeated delivery). With
    ``expected_version`` the ledger must also be unchanged since it was read. Returns the slot
    this replaced (None when it was free), so a caller can tell a repeat from a first claim.
    Raises SlotTaken (with the holder) or LedgerChanged.
    """
    condition = "(attribute_not_exists(#slot) OR #slot.expiresAt <= :now OR #slot.holder = :holder)"
    values: dict[str, Any] = {
        ":slot": _attribute(slot),
        ":holder": {"S": slot.holder},
        ":now": {"N": str(int(now.timestamp()))},
        ":one": {"N": "1"},
    }
    if expected_version is not None:
        if expected_version == 0:
            condition += " AND attribute_not_exists(version)"
        else:
            condition += " AND version = :seen"
            values[":seen"] = {"N": str(expected_version)}
    try:
        response = clients.client("dynamodb").update_item(
            TableName=table,
            Key=KEY,
            UpdateExpression="SET #slot = :slot ADD version :one",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#slot": SLOT_PREFIX + slot.model},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if not _condition_failed(error):
            raise
        current = _ledger(error.response.get("Item") or {})
        holder = current.slots.get(slot.model)
        if holder is not None and not holder.expired(now) and holder.holder != slot.holder:
            raise SlotTaken(slot.model, holder) from None
        raise LedgerChanged(
            f"the ledger moved from version {expected_version} to {current.version}"
        ) from None
    return _ledger(response.get("Attributes") or {}).slots.get(slot.model)


def renew(table: str, slot: Slot) -> bool:
    """Renews a live slot its holder already has (claim time and expiry), without counting a
    change: the number of slots held stays the same, so no one's count goes stale. False when
    the slot is no longer the holder's, or has expired (bringing it back would change counts
    that treated it as free)."""
    return _update_slot_if(
        table,
        slot.model,
        update="SET #slot = :slot",
        condition="#slot.holder = :holder AND #slot.expiresAt > :now",
        values={
            ":slot": _attribute(slot),
            ":holder": {"S": slot.holder},
            ":now": {"N": str(slot.claimed_at)},  # the renewal's own time
        },
    )


def extend(table: str, slot: Slot, expires_at: int) -> bool:
    """Moves a live slot's expiry (only that field: a renewal's claim time stays); False when the
    slot is no longer the holder's."""
    return _update_slot_if(
        table,
        slot.model,
        update="SET #slot.expiresAt = :expires",
        condition="#slot.holder = :holder",
        values={":expires": {"N": str(expires_at)}, ":holder": {"S": slot.holder}},
    )


def mark_sweep(table: str, now: datetime) -> None:
    """Records when the ledger was last swept; the next sweep measures its interval from it."""
    clients.client("dynamodb").update_item(
        TableName=table,
        Key=KEY,
        UpdateExpression="SET lastSweepAt = :now",
        ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
    )


def release(table: str, model: str, *holders: str, claimed_at: int | None = None) -> bool:
    """Frees the model's slot if one of ``holders`` still holds it (and, with ``claimed_at``,
    still under that claim: a renewal since then keeps it); False when not."""
    if not holders:
        raise ValueError("release needs at least one holder")
    values = {f":h{index}": {"S": holder} for index, holder in enumerate(holders)}
    condition = f"#slot.holder IN ({', '.join(values)})"
    if claimed_at is not None:
        condition += " AND #slot.claimedAt = :claimed"
        values[":claimed"] = {"N": str(claimed_at)}
    return _update_slot_if(table, model, update="REMOVE #slot", condition=condition, values=values)


def _update_slot_if(
    table: str, model: str, *, update: str, condition: str, values: dict[str, Any]
) -> bool:
    """One conditional UpdateItem on ``model``'s slot (``#slot``); False when the condition
    does not hold."""
    try:
        clients.client("dynamodb").update_item(
            TableName=table,
            Key=KEY,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#slot": SLOT_PREFIX + model},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def reconcile(
    table: str,
    running: Mapping[str, Sequence[RunningExecution]],
    longest_run_minutes: Mapping[str, int],
    *,
    now: datetime,
    still_running: Callable[[str], bool] | None = None,
) -> Reconciliation:
    """Brings the ledger in line with what SageMaker says runs (``running``: model -> its
    executions that hold a slot, newest first, listed *before* this call).

    * A slot claimed more than `RECONCILE_GRACE` ago whose request has no running execution is
      freed: its end event was lost, or its start died and was never redelivered. (The grace
      covers a claim made just before its execution appears in the listing; a claim renewed
      since the read is not freed.)
    * A slot whose execution still runs keeps at least `sweep_horizon` of validity: when less
      is left it is extended to twice that (pipeline steps around the training can outlast the
      estimate, and the next sweeps must come before it lapses, however they are scheduled).
    * A model that runs an execution but holds no live slot (started outside trainops, or its
      slot was lost or expired) gets one for that execution, so it counts against capacity;
      ``still_running(arn)`` is asked after the claim (the listing may be minutes old) and the
      slot is freed again if the execution has ended.

    Every change is conditional, so a claim or release racing this one wins. The sweep's time is
    recorded, so the next one knows the interval.
    """
    plan = plan_sweep(read(table), running, longest_run_minutes, now=now)
    result = Reconciliation(freed=[], adopted=[], extended=[])
    for slot, expires_at in plan.extend:
        if extend(table, slot, expires_at):
            result.extended.append(replace(slot, expires_at=expires_at))
    # A free that lost a race (the slot was renewed, re-claimed or already freed since the
    # read): the model is left to the next sweep, whose listing will be fresh.
    still_held = set()
    for slot in plan.free:
        if release(table, slot.model, slot.holder, claimed_at=slot.claimed_at):
            result.freed.append(slot)
        else:
            still_held.add(slot.model)
    for slot, execution in plan.adopt:
        if slot.model in still_held:
            continue
        try:
            claim(table, slot, now=now, expected_version=None)
        except (SlotTaken, LedgerChanged):
            continue  # claimed meanwhile by a start
        if still_running is not None and not still_running(execution.execution_arn):
            release(table, slot.model, slot.holder)
            continue
        result.adopted.append(slot)
    mark_sweep(table, now)
    return result
