"""The quality ledger: per model, its cooldown and today's count of quality retrains (DynamoDB).

One item per model, partition key `model` (S), with `lastAcceptedAt` (N, epoch seconds),
`day` (S, the UTC day `count` counts, YYYY-MM-DD), `count` (N), `lastSignalId` (S),
`alertedDay` (S), `alertSignalId` (S), `alertSent` (BOOL) and `version` (N). The rules are
`trainops_runtime.quality_breaker`; here the item is read (strongly consistent) and written with one
conditional UpdateItem on the version read, so two signals of one model deciding at once cannot
both change it: the second write fails, and its signal reads and decides again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.quality_breaker import LedgerItem

KEY_ATTRIBUTE = "model"
# field of LedgerItem -> (attribute, DynamoDB type); `model` is the key, written as such
_ATTRIBUTES = {
    "version": ("version", "N"),
    "last_accepted_at": ("lastAcceptedAt", "N"),
    "day": ("day", "S"),
    "count": ("count", "N"),
    "last_signal_id": ("lastSignalId", "S"),
    "alerted_day": ("alertedDay", "S"),
    "alert_signal_id": ("alertSignalId", "S"),
    "alert_sent": ("alertSent", "BOOL"),
}


def _key(model: str) -> dict[str, Any]:
    return {KEY_ATTRIBUTE: {"S": model}}


def _item(raw: Mapping[str, Any]) -> LedgerItem:
    values: dict[str, Any] = {}
    for field, (name, kind) in _ATTRIBUTES.items():
        if name in raw:
            value = raw[name][kind]
            values[field] = int(value) if kind == "N" else value  # S: str, BOOL: bool
    return LedgerItem(model=raw[KEY_ATTRIBUTE]["S"], **values)


def read(table: str, model: str) -> LedgerItem | None:
    """The model's item (one strongly consistent GetItem); None when it has none yet."""
    response = clients.client("dynamodb").get_item(
        TableName=table, Key=_key(model), ConsistentRead=True
    )
    raw = response.get("Item")
    return _item(raw) if raw else None


def save(table: str, item: LedgerItem, *, expected_version: int) -> bool:
    """Writes ``item`` (one conditional UpdateItem) if the model's item still has
    ``expected_version`` (0: it has no item yet); False when another writer changed it since."""
    written = [
        (name, kind, value)
        for field, (name, kind) in _ATTRIBUTES.items()
        if (value := getattr(item, field)) is not None
    ]
    names = {f"#{name}": name for name, _, _ in written}
    values: dict[str, Any] = {
        f":{name}": {kind: value if kind == "BOOL" else str(value)} for name, kind, value in written
    }
    if expected_version == 0:
        names["#key"] = KEY_ATTRIBUTE
        condition = "attribute_not_exists(#key)"
    else:
        condition = "#version = :seen"  # written every time, so always named
        values[":seen"] = {"N": str(expected_version)}
    assignments = ", ".join(f"#{name} = :{name}" for name, _, _ in written)
    try:
        clients.client("dynamodb").update_item(
            TableName=table,
            Key=_key(item.model),
            UpdateExpression=f"SET {assignments}",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
