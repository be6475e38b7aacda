"""TrainingRequest: the one message shape every trigger turns into a pipeline execution.

The JSON Schema in `schemas/training-request.schema.json` is the contract (producers validate
against the same file); `parse()` checks untrusted input against it with fastjsonschema (from
AWS's Powertools layer: a compiled validator, cheap at cold start) and says what is wrong, before
any AWS call. The request id plus the attempt number identify an execution: the same pair always
yields the same SageMaker `ClientRequestToken`, so a redelivered request never starts twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import fastjsonschema

SCHEMA_PATH = Path(__file__).with_name("schemas") / "training-request.schema.json"
# Lowercase SageMaker-style names of at most 32 characters: the one rule for model names (the
# stack config, this request, the SSM document; the JSON Schema says the same as pattern +
# maxLength, which tests/test_submit.py keeps equal).
MODEL_NAME_MAX = 32
MODEL_NAME_BODY = r"^[a-z0-9](-*[a-z0-9])*$"
MODEL_NAME = rf"^(?=.{{1,{MODEL_NAME_MAX}}}$)" + MODEL_NAME_BODY[1:]
# Execution display names end with this many characters of the request's token (slots match on it).
DISPLAY_TOKEN_CHARS = 12
# Execution display names start with the trigger, so EventBridge rules can tell them apart.
TRIGGER_CODES = {
    "schedule": "sch",
    "queue": "que",
    "cli": "cli",
    "maintenance-window": "mw",
    "pipeline": "pip",
    "manual": "man",
    "quality": "qua",
}
# What a request asks the queue worker to start it as (`trigger` in the schema): a producer's
# request ("queue", the default, left out of the message), or a quality signal's ("quality").
REQUEST_TRIGGERS = ("queue", "quality")
DEFAULT_TRIGGER = "queue"


def request_trigger_of(display_name: str | None) -> str:
    """The request trigger an execution was started as, read back from its display name
    (`<code>-...`), so a retry keeps it; `queue` for any other start (a schedule tick, the
    console)."""
    code = (display_name or "").split("-", 1)[0]
    for trigger in REQUEST_TRIGGERS:
        if TRIGGER_CODES[trigger] == code:
            return trigger
    return DEFAULT_TRIGGER


class InvalidRequest(ValueError):
    """The request cannot ever succeed as sent; retrying it is pointless."""


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _validator() -> Callable[[Any], Any]:
    return fastjsonschema.compile(schema())


@dataclass(frozen=True)
class TrainingRequest:
    """A request to train one model once (JSON with camelCase keys; see the schema)."""

    model: str
    request_id: str
    attempt: int = 1
    data_uri: str | None = None
    # overrides of the model's configured training job for this run (None: as configured)
    instance_count: int | None = None
    max_runtime_minutes: int | None = None
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    requested_by: str = "unknown"
    reason: str = ""
    # the trigger the queue worker starts, claims the slot and records events as
    trigger: str = DEFAULT_TRIGGER

    def __post_init__(self) -> None:
        check(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "requestId": self.request_id,
            "attempt": self.attempt,
            "hyperparameters": dict(self.hyperparameters),
            "requestedBy": self.requested_by,
            "reason": self.reason,
        }
        if self.data_uri is not None:
            body["dataUri"] = self.data_uri
        if self.instance_count is not None:
            body["instanceCount"] = self.instance_count
        if self.max_runtime_minutes is not None:
            body["maxRuntimeMinutes"] = self.max_runtime_minutes
        if self.trigger != DEFAULT_TRIGGER:  # a producer's request stays byte-identical
            body["trigger"] = self.trigger
        return body

    def to_message(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def idempotency_token(self) -> str:
        """SageMaker ClientRequestToken (32-128 chars): deterministic per request and attempt."""
        return hashlib.sha256(f"{self.request_id}#{self.attempt}".encode()).hexdigest()

    def execution_display_name(self, trigger: str = "manual") -> str:
        """<trigger>-<model>-a<attempt>-<token prefix>: readable, and rules can match the trigger.

        SageMaker's pattern for display names is letters, digits and single hyphens.
        """
        code = TRIGGER_CODES.get(trigger, "man")
        token = self.idempotency_token()[:DISPLAY_TOKEN_CHARS]
        return f"{code}-{self.model}-a{self.attempt}-{token}"

    def next_attempt(self, reason: str | None = None) -> TrainingRequest:
        changes: dict[str, Any] = {"attempt": self.attempt + 1}
        if reason is not None:
            changes["reason"] = reason[:1024]
        return dataclasses.replace(self, **changes)


class Starter(Protocol):
    """What starts a request's execution (`adapters.training.start_training` bound to the
    catalog and trigger); ``resume``: a redelivery whose first delivery may have started it."""

    def __call__(self, request: TrainingRequest, *, resume: bool) -> str: ...


def check(body: Any) -> None:
    """Raises InvalidRequest with the schema's complaint (e.g. 'attempt must be ...')."""
    try:
        _validator()(body)
    except RecursionError:
        raise InvalidRequest("request is nested too deeply to validate") from None
    except fastjsonschema.JsonSchemaValueException as error:
        message = str(error.message)
        if message.startswith("data."):
            message = message.removeprefix("data.")
        elif message.startswith("data "):
            message = "request " + message.removeprefix("data ")
        raise InvalidRequest(message) from None


def new_request_id() -> str:
    return str(uuid.uuid4())


def decode(raw: str | bytes) -> Any:
    """JSON text as Python values; InvalidRequest for anything `json.loads` cannot turn into
    values: not JSON, not UTF-8, nested deeper than the interpreter recurses (RecursionError),
    or an integer longer than Python converts (ValueError, 4,300 digits)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidRequest(f"body is not JSON: {error}") from None
    except RecursionError:
        raise InvalidRequest("body is JSON nested too deeply to read") from None
    except ValueError as error:  # UnicodeDecodeError, and integers beyond the digit limit
        raise InvalidRequest(f"body is not readable JSON: {str(error)[:200]}") from None


def parse(raw: str | bytes | Mapping[str, Any]) -> TrainingRequest:
    """Validates a request from JSON text or a dict; raises InvalidRequest saying what is wrong.

    Any input, however malformed, ends in a TrainingRequest or an InvalidRequest: a message
    that cannot become a request must be rejected once, never retried.
    """
    if isinstance(raw, (str, bytes)):
        raw = decode(raw)
    if not isinstance(raw, Mapping):
        raise InvalidRequest(f"body must be a JSON object, got {type(raw).__name__}")
    check(dict(raw))
    return TrainingRequest(
        model=raw["model"],
        request_id=raw["requestId"],
        attempt=raw.get("attempt", 1),
        data_uri=raw.get("dataUri"),
        instance_count=raw.get("instanceCount"),
        max_runtime_minutes=raw.get("maxRuntimeMinutes"),
        hyperparameters=dict(raw.get("hyperparameters", {})),
        requested_by=raw.get("requestedBy", "unknown"),
        reason=raw.get("reason", ""),
        trigger=raw.get("trigger", DEFAULT_TRIGGER),
    )
