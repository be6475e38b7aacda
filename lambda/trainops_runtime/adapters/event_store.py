"""The append-only event store of the training workflow (DynamoDB).

Every fact is stored once, in order, in each stream it belongs to: `model#<name>` for the model's
history and `run#<execution id>` for one pipeline execution (`job#<name>` for training jobs
that are not tied to an execution). Items are keyed by `stream` (partition) and `version` (sort,
1, 2, 3, ...).

An append is one TransactWriteItems call that writes, all or nothing:

* a marker item `event#<event id>` (version 0) that may not exist yet: the same event delivered
  twice, or replayed from the archive, is recorded once;
* one item per stream at the stream's next version, each conditional on that version being free
  (optimistic concurrency): a writer that lost a race re-reads the heads and tries the next
  version.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.recording import StoredEvent

MARKER_PREFIX = "event#"
MAX_CONFLICT_RETRIES = 5
CONFLICT_BACKOFF_SECONDS = 0.02
# Cancellation reasons of a stream item that mean "a rival writer got there first".
RETRY_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class ConcurrencyError(RuntimeError):
    """Lost the race for a stream version too many times in a row (retryable)."""


def head_version(table: str, stream: str) -> int:
    """The latest version in ``stream`` (0 for a new stream): one Query, newest first.

    Strongly consistent: an eventually consistent read could return a head a rival writer has
    already moved past, and every retry would then collide again.
    """
    response = clients.client("dynamodb").query(
        TableName=table,
        ConsistentRead=True,
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "stream"},
        ExpressionAttributeValues={":s": {"S": stream}},
        ScanIndexForward=False,
        Limit=1,
        ProjectionExpression="version",
    )
    items = response.get("Items", [])
    return int(items[0]["version"]["N"]) if items else 0


def _item(event: StoredEvent, stream: str, version: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "stream": {"S": stream},
        "version": {"N": str(version)},
        "eventId": {"S": event.event_id},
        "type": {"S": event.type},
        "source": {"S": event.source},
        "time": {"S": event.time},
        "payload": {"S": json.dumps(event.payload, sort_keys=True, default=str)},
        "recordedAt": {"S": datetime.now(UTC).isoformat()},
    }
    if event.model:
        item["model"] = {"S": event.model}
    return item


def _reason_codes(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def append(table: str, event: StoredEvent) -> dict[str, int] | None:
    """Records ``event`` in its streams; returns stream -> version, or None if already recorded."""
    dynamodb = clients.client("dynamodb")
    for attempt in range(MAX_CONFLICT_RETRIES):
        versions = {stream: head_version(table, stream) + 1 for stream in event.streams}
        marker = {
            "stream": {"S": MARKER_PREFIX + event.event_id},
            "version": {"N": "0"},
            "streams": {"S": json.dumps(versions, sort_keys=True)},
            "type": {"S": event.type},
        }
        writes = [
            {
                "Put": {
                    "TableName": table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(#s)",
                    "ExpressionAttributeNames": {"#s": "stream"},
                }
            }
            for item in [marker, *(_item(event, s, v) for s, v in versions.items())]
        ]
        try:
            dynamodb.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = _reason_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                return None  # the marker exists: recorded before
            # Another writer took a version (its item exists: ConditionalCheckFailed) or is
            # writing the same items right now (TransactionConflict): read the heads again,
            # after a short jittered pause so the two do not collide in lockstep.
            if not RETRY_CODES.intersection(codes[1:]) and codes[:1] != ["TransactionConflict"]:
                raise
            if attempt + 1 < MAX_CONFLICT_RETRIES:
                time.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311
            continue
        return versions
    raise ConcurrencyError(f"could not append {event.event_id} after {MAX_CONFLICT_RETRIES} tries")


def read_stream(table: str, stream: str, after: int = 0) -> Iterator[dict[str, Any]]:
    """The events of ``stream`` with a version above ``after``, in version order, as plain
    dicts: a reader that knows where it stopped reads only what is new."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#s = :s AND version > :after",
        "ExpressionAttributeNames": {"#s": "stream"},
        "ExpressionAttributeValues": {":s": {"S": stream}, ":after": {"N": str(after)}},
        "ScanIndexForward": True,
    }
    dynamodb = clients.client("dynamodb")
    while True:
        page = dynamodb.query(**request)
        for item in page.get("Items", []):
            yield plain(item)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A stored event item as a plain dict (payload decoded)."""
    return {
        "stream": item["stream"]["S"],
        "version": int(item["version"]["N"]),
        "eventId": item["eventId"]["S"],
        "type": item["type"]["S"],
        "source": item["source"]["S"],
        "time": item["time"]["S"],
        "model": item.get("model", {}).get("S"),
        "payload": json.loads(item["payload"]["S"]),
    }


def streams(table: str, prefixes: Sequence[str] = ("model#", "run#")) -> Sequence[str]:
    """Every stream with one of ``prefixes`` (a Scan: for rebuilds, not the hot path)."""
    found: set[str] = set()
    request: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "#s",
        "ExpressionAttributeNames": {"#s": "stream"},
        "FilterExpression": " OR ".join(f"begins_with(#s, :p{i})" for i in range(len(prefixes))),
        "ExpressionAttributeValues": {f":p{i}": {"S": p} for i, p in enumerate(prefixes)},
    }
    dynamodb = clients.client("dynamodb")
    while True:
        page = dynamodb.scan(**request)
        found |= {item["stream"]["S"] for item in page.get("Items", [])}
        if "LastEvaluatedKey" not in page:
            return sorted(found)
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
