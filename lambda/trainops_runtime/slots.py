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
redelivered) expires after the model's longest possible run plus `EXPIRY_SLACK`; the stall
detector frees it earlier when SageMaker shows no execution of the holder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime import clients
from trainops_runtime.training import RunningExecution
from trainops_runtime.training_request import DISPLAY_TOKEN_CHARS, TRIGGER_CODES

TABLE_ENV = "TRAINOPS_SLOTS_TABLE"
KEY = {"id": {"S": "training-slots"}}
SLOT_PREFIX = "model:"
# Pipeline steps around the training job (processing, evaluation, registration) and start-up.
EXPIRY_SLACK = timedelta(hours=1)
# A claim precedes its execution's appearance in SageMaker's listing by seconds; the stall
# detector leaves slots younger than this alone.
RECONCILE_GRACE = timedelta(minutes=15)
# The triggers that start pipelines through a claim (the queue worker, schedule ticks), and the
# display names their executions get: <trigger code>-<model>-a<attempt>-<token prefix>, as
# `TrainingRequest.execution_display_name` builds them (tests/handlers/test_slots.py checks).
CLAIMING_TRIGGERS = ("queue", "schedule")
CLAIMED_DISPLAY_NAME = re.compile(
    rf"(?:{'|'.join(TRIGGER_CODES[t] for t in CLAIMING_TRIGGERS)})-[a-z0-9-]+-a[0-9]+-"
    rf"[0-9a-f]{{{DISPLAY_TOKEN_CHARS}}}"
)


class SlotTaken(Exception):
    """The model's slot belongs to another request (``holder`` says which, when known)."""

    def __init__(self, model: str, holder: Slot | None) -> None:
        self.model = model
        self.holder = holder
        who = f"request {holder.request_id} ({holder.trigger})" if holder else "another request"
        super().__init__(f"{model} is still training for {who}")


class LedgerChanged(Exception):
    """Someone claimed a slot since this caller read the ledger: its count may be stale."""


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

    def to_attribute(self) -> dict[str, Any]:
        return {
            "M": {
                "holder": {"S": self.holder},
                "requestId": {"S": self.request_id},
                "trigger": {"S": self.trigger},
                "claimedAt": {"N": str(self.claimed_at)},
                "expiresAt": {"N": str(self.expires_at)},
            }
        }

    @classmethod
    def from_attribute(cls, model: str, value: Mapping[str, Any]) -> Slot:
        fields = value["M"]
        return cls(
            model=model,
            holder=fields["holder"]["S"],
            request_id=fields.get("requestId", {}).get("S", ""),
            trigger=fields.get("trigger", {}).get("S", ""),
            claimed_at=int(fields.get("claimedAt", {}).get("N", "0")),
            expires_at=int(fields["expiresAt"]["N"]),
        )


@dataclass(frozen=True)
class Ledger:
    """What one consistent read of the slots item showed."""

    version: int
    slots: Mapping[str, Slot]

    def held(self, now: datetime) -> dict[str, Slot]:
        """Model -> slot, for every slot that has not expired."""
        return {model: slot for model, slot in self.slots.items() if not slot.expired(now)}


def table_name() -> str | None:
    """The slots table, or None when this stack has no training queue (ticks then ask SageMaker)."""
    return os.environ.get(TABLE_ENV) or None


def _ledger(item: Mapping[str, Any]) -> Ledger:
    slots = {
        name.removeprefix(SLOT_PREFIX): Slot.from_attribute(name.removeprefix(SLOT_PREFIX), value)
        for name, value in item.items()
        if name.startswith(SLOT_PREFIX)
    }
    return Ledger(version=int(item.get("version", {}).get("N", "0")), slots=slots)


def read(table: str) -> Ledger:
    """The capacity query: one strongly consistent GetItem."""
    response = clients.client("dynamodb").get_item(TableName=table, Key=KEY, ConsistentRead=True)
    return _ledger(response.get("Item") or {})


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


def claim(table: str, slot: Slot, *, now: datetime, expected_version: int | None) -> Slot | None:
    """Takes ``slot.model``'s slot for ``slot.holder``; one conditional UpdateItem.

    The slot must be free, expired, or held by the same holder (a repeated delivery). With
    ``expected_version`` the ledger must also be unchanged since it was read. Returns the slot
    this replaced (None when it was free), so a caller can tell a repeat from a first claim.
    Raises SlotTaken (with the holder) or LedgerChanged.
    """
    condition = "(attribute_not_exists(#slot) OR #slot.expiresAt <= :now OR #slot.holder = :holder)"
    values: dict[str, Any] = {
        ":slot": slot.to_attribute(),
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
    """Renews a slot its holder already has (claim time and expiry), without counting a change:
    the number of slots held stays the same, so no one's count goes stale. False when the slot
    is no longer the holder's."""
    try:
        clients.client("dynamodb").update_item(
            TableName=table,
            Key=KEY,
            UpdateExpression="SET #slot = :slot",
            ConditionExpression="#slot.holder = :holder",
            ExpressionAttributeNames={"#slot": SLOT_PREFIX + slot.model},
            ExpressionAttributeValues={":slot": slot.to_attribute(), ":holder": {"S": slot.holder}},
        )
    except ClientError as error:
        if _condition_failed(error):
            return False
        raise
    return True


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
    try:
        clients.client("dynamodb").update_item(
            TableName=table,
            Key=KEY,
            UpdateExpression="REMOVE #slot",
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


def adopted_holder(execution_arn: str) -> str:
    """The holder of a slot taken for an execution trainops did not start (console, SDK)."""
    return f"execution:{execution_arn}"


def started_with_a_claim(execution: RunningExecution) -> bool:
    """Executions the queue worker or a tick started took their slot before they started and
    free it when they end, so they are never adopted (adopting one that just ended would hold
    a slot no end event frees)."""
    return CLAIMED_DISPLAY_NAME.fullmatch(execution.display_name) is not None


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


def reconcile(
    table: str,
    running: Mapping[str, Sequence[RunningExecution]],
    longest_run_minutes: Mapping[str, int],
    *,
    now: datetime,
    grace: timedelta = RECONCILE_GRACE,
    still_running: Callable[[str], bool] | None = None,
) -> Reconciliation:
    """Brings the ledger in line with what SageMaker says runs (``running``: model -> its
    executions that hold a slot, newest first, listed *before* this call).

    * A slot claimed more than ``grace`` ago whose request has no running execution is freed:
      its end event was lost, or its start died and was never redelivered. (The grace covers a
      claim made just before its execution appears in the listing; a claim renewed since the
      read is not freed.)
    * A slot whose execution still runs but that would expire within ``EXPIRY_SLACK / 2`` is
      extended by ``EXPIRY_SLACK`` (pipeline steps around the training can outlast the estimate).
    * A model that runs an execution started outside trainops but holds no slot gets one for
      it, so it counts against capacity; ``still_running(arn)`` is asked after the claim (the
      listing may be minutes old) and the slot is freed again if the execution has ended.

    Every change is conditional, so a claim or release racing this one wins.
    """
    ledger = read(table)
    result = Reconciliation(freed=[], adopted=[], extended=[])
    held = ledger.held(now)
    for model, slot in held.items():
        executions = running.get(model, ())
        if any(holds(slot, execution) for execution in executions):
            if slot.expires_at - int(now.timestamp()) < EXPIRY_SLACK.total_seconds() / 2:
                longer = replace(slot, expires_at=int((now + EXPIRY_SLACK).timestamp()))
                if renew(table, longer):
                    result.extended.append(longer)
            continue
        if now - datetime.fromtimestamp(slot.claimed_at, UTC) < grace:
            continue
        if release(table, model, slot.holder, claimed_at=slot.claimed_at):
            result.freed.append(slot)
    freed = {slot.model for slot in result.freed}
    for model, executions in running.items():
        if (model in held and model not in freed) or model not in longest_run_minutes:
            continue
        outsiders = [e for e in executions if not started_with_a_claim(e)]
        if not outsiders:
            continue
        execution = outsiders[-1]  # listed newest first: the oldest has held the model longest
        slot = new_slot(
            model,
            holder=adopted_holder(execution.execution_arn),
            request_id="",
            trigger="adopted",
            longest_run_minutes=longest_run_minutes[model],
            now=now,
        )
        try:
            claim(table, slot, now=now, expected_version=None)
        except (SlotTaken, LedgerChanged):
            continue  # claimed meanwhile by a start of trainops
        if still_running is not None and not still_running(execution.execution_arn):
            release(table, model, slot.holder)
            continue
        result.adopted.append(slot)
    return result


def utc_now() -> datetime:
    return datetime.now(UTC)
