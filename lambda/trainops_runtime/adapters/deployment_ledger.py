"""The deployment ledger: per model, its last approval-driven deployment (DynamoDB).

One item per model, partition key `model` (S), with `revision` (N), `packageArn` (S),
`packageVersion` (N), `endpointConfig` (S, the config the deployment set), `previousConfig` (S,
what the endpoint served before), `status` (S: started, completed, rolledBack, failed),
`startedAt` (S) and `alertSent` (BOOL), and the approval waiting for a busy endpoint:
`deferredArn` (S), `deferredVersion` (N) and `deferredAt` (S). The rules are
`trainops_runtime.deployment`; here the item is read (strongly consistent) and written with one
conditional PutItem on the revision read, so two events of one model deciding at once cannot both
change it: the second write fails, and its event reads and decides again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.deployment import DeploymentRecord

KEY_ATTRIBUTE = "model"
# field of DeploymentRecord -> (attribute, DynamoDB type); `model` is the key
_ATTRIBUTES = {
    "revision": ("revision", "N"),
    "package_arn": ("packageArn", "S"),
    "package_version": ("packageVersion", "N"),
    "endpoint_config": ("endpointConfig", "S"),
    "previous_config": ("previousConfig", "S"),
    "status": ("status", "S"),
    "started_at": ("startedAt", "S"),
    "alert_sent": ("alertSent", "BOOL"),
    "deferred_arn": ("deferredArn", "S"),
    "deferred_version": ("deferredVersion", "N"),
    "deferred_at": ("deferredAt", "S"),
}


def _record(raw: Mapping[str, Any]) -> DeploymentRecord:
    values: dict[str, Any] = {}
    for field, (name, kind) in _ATTRIBUTES.items():
        if name in raw:
            value = raw[name][kind]
            values[field] = int(value) if kind == "N" else value  # S: str, BOOL: bool
    return DeploymentRecord(model=raw[KEY_ATTRIBUTE]["S"], **values)


def read(table: str, model: str) -> DeploymentRecord | None:
    """The model's item (one strongly consistent GetItem); None when it has none yet."""
    response = clients.client("dynamodb").get_item(
        TableName=table, Key={KEY_ATTRIBUTE: {"S": model}}, ConsistentRead=True
    )
    raw = response.get("Item")
    return _record(raw) if raw else None


def save(table: str, record: DeploymentRecord, *, expected_revision: int) -> bool:
    """Writes ``record`` whole (one conditional PutItem) if the model's item still has
    ``expected_revision`` (0: it has no item yet); False when another writer changed it since."""
    item: dict[str, Any] = {KEY_ATTRIBUTE: {"S": record.model}}
    for field, (name, kind) in _ATTRIBUTES.items():
        value = getattr(record, field)
        if value is not None:
            item[name] = {kind: value if kind == "BOOL" else str(value)}
    if expected_revision == 0:
        condition, names, values = "attribute_not_exists(#key)", {"#key": KEY_ATTRIBUTE}, None
    else:
        condition, names = "#revision = :seen", {"#revision": "revision"}
        values = {":seen": {"N": str(expected_revision)}}
    request: dict[str, Any] = {
        "TableName": table,
        "Item": item,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    try:
        clients.client("dynamodb").put_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
