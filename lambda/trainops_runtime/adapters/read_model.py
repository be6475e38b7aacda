"""The read model table: the folded state of each model and run, kept by the projector.

Items: `{"id": "<stream>", "state": <JSON>, "lastVersion": n}`. Writes are conditional on the
version the writer started from, so two projectors (or a projector and a replay) never overwrite
a newer state with an older one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from trainops_runtime import projection
from trainops_runtime.adapters import clients, event_store


class StaleWrite(RuntimeError):
    """Someone wrote a newer state first; the caller retries from the store (retryable)."""


def load(table: str, stream: str) -> dict[str, Any] | None:
    item = (
        clients.client("dynamodb")
        .get_item(TableName=table, Key={"id": {"S": stream}}, ConsistentRead=True)
        .get("Item")
    )
    return json.loads(item["state"]["S"]) if item else None


def save(table: str, stream: str, state: dict[str, Any], expected_version: int | None) -> None:
    """Writes ``state`` if the stored state is still at ``expected_version`` (None: absent)."""
    condition = (
        "attribute_not_exists(id)" if expected_version is None else "lastVersion = :expected"
    )
    values = {} if expected_version is None else {":expected": {"N": str(expected_version)}}
    try:
        clients.client("dynamodb").put_item(
            TableName=table,
            Item={
                "id": {"S": stream},
                "state": {"S": json.dumps(state, sort_keys=True)},
                "lastVersion": {"N": str(state["lastVersion"])},
            },
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise StaleWrite(f"{stream} changed while it was being projected") from error
        raise


def catch_up(events_table: str, read_table: str, stream: str) -> dict[str, Any]:
    """Folds every stored event of ``stream`` newer than its read-model state, and saves it.

    Reading from the store (not only from the stream record that triggered us) makes the result
    independent of delivery order, duplicates and gaps.
    """
    current = load(read_table, stream)
    base_version = current["lastVersion"] if current else None
    # Only the events after the stored state: one event's cost does not grow with the history.
    newer = event_store.read_stream(events_table, stream, after=base_version or 0)
    state = projection.fold(stream, newer, current)
    if current is None or state["lastVersion"] != base_version:
        save(read_table, stream, state, base_version)
    return state


def rebuild(
    events_table: str, read_table: str, streams: list[str], *, force: bool = False
) -> Rebuilt:
    """Replays ``streams`` from the store into fresh states and writes them to the read model,
    each only over a state no newer than its own: a projector that wrote a later version while
    the replay ran keeps it (the replay never rolls the read model back). ``force`` writes
    regardless: for a store restored from a backup, whose versions went back."""
    rebuilt = Rebuilt()
    dynamodb = clients.client("dynamodb")
    for stream in streams:
        state = projection.fold(stream, event_store.read_stream(events_table, stream))
        item = {
            "id": {"S": stream},
            "state": {"S": json.dumps(state, sort_keys=True)},
            "lastVersion": {"N": str(state["lastVersion"])},
        }
        condition: dict[str, Any] = {
            "ConditionExpression": "attribute_not_exists(id) OR lastVersion <= :version",
            "ExpressionAttributeValues": {":version": {"N": str(state["lastVersion"])}},
        }
        try:
            dynamodb.put_item(TableName=read_table, Item=item, **({} if force else condition))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            rebuilt.newer_kept.append(stream)
            continue
        rebuilt.states[stream] = state
    return rebuilt


@dataclass
class Rebuilt:
    """What a rebuild wrote, and the streams whose stored state was already newer."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    newer_kept: list[str] = field(default_factory=list)
