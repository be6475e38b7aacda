"""Whether a queued training request may start now, and when a waiting one is delivered again.

Pure decisions over what the queue worker read (the slot ledger) and received (the message);
the worker carries them out (`handlers/queue_worker.py`). Kept apart so the rules of
back-pressure read, and are tested, without SQS, DynamoDB or SageMaker.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trainops_runtime.training_request import MODEL_NAME, InvalidRequest, decode, schema

# SQS's longest visibility timeout (12 hours): a message cannot wait longer in one go.
MAX_VISIBILITY_SECONDS = 43_200
# What a message that names no model is filed under (the rejection event says `unknown`).
NO_MODEL = "invalid"
_MODEL = re.compile(MODEL_NAME)


class Admission(StrEnum):
    START = "start"  # the model's slot is free and capacity is left: claim it and start
    RESUME = "resume"  # the slot is this request's already: start again with the same token
    WAIT = "wait"  # back-pressure: the message stays in the queue


@dataclass(frozen=True)
class Decision:
    admission: Admission
    reason: str | None = None  # why it waits


def admit(
    token: str,
    holder: str | None,
    taken_by: str,
    *,
    running: int,
    max_concurrent: int,
) -> Decision:
    """What to do with a request whose idempotency token is ``token``, when its model's slot is
    held by ``holder`` (None: free; ``taken_by`` says by whom, for the reason) and ``running``
    of ``max_concurrent`` slots are held. One model trains one request at a time, in queue
    order; a redelivery of the request that holds the slot resumes it."""
    if holder == token:
        return Decision(Admission.RESUME)
    if holder is not None:
        return Decision(Admission.WAIT, taken_by)
    if running >= max_concurrent:
        return Decision(Admission.WAIT, f"{running} of {max_concurrent} trainings running")
    return Decision(Admission.START)


def backoff_seconds(receive_count: int, *, base: int, maximum: int) -> int:
    """Seconds before a failed or waiting message is delivered again: doubling from ``base``
    with each receive, at most ``maximum`` (and SQS's own limit)."""
    delay = base * 2 ** max(receive_count - 1, 0)
    return min(delay, maximum, MAX_VISIBILITY_SECONDS)


def model_hint(group: str | None) -> str:
    """The model a rejected message is recorded under: its FIFO group, when that is a model
    name (the recorder refuses anything else, and the rejection would be lost); else
    `NO_MODEL`, which the rejection event files under `model#unknown`."""
    return group if group and _MODEL.match(group) else NO_MODEL


@functools.cache
def _request_id_pattern() -> re.Pattern[str]:
    """What the request schema accepts as a request id (read when first needed: a cold start
    should not pay for the schema file)."""
    return re.compile(schema()["properties"]["requestId"]["pattern"])


def request_hint(body: str) -> dict[str, Any]:
    """The request id (and attempt) a body that is not a valid request still names, if any:
    its rejection is then recorded under the producer's id rather than the message's."""
    try:
        decoded = decode(body)
    except InvalidRequest:
        return {}
    if not isinstance(decoded, dict):
        return {}
    request_id, attempt = decoded.get("requestId"), decoded.get("attempt")
    hint: dict[str, Any] = {}
    if isinstance(request_id, str) and _request_id_pattern().match(request_id):
        hint["request_id"] = request_id
        if isinstance(attempt, int) and not isinstance(attempt, bool) and 1 <= attempt <= 20:
            hint["attempt"] = attempt
    return hint
