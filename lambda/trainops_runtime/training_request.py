"""TrainingRequest: the one message shape every trigger turns into a pipeline execution.

Producers (the queue, the schedule, the CLI) all build this; `parse()` validates untrusted input
with one clear error message and no AWS call. The request id plus the attempt number identify an
execution: the same pair always yields the same SageMaker `ClientRequestToken`, so a redelivered
request can never start a second execution.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

MODEL_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"
REQUEST_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
MAX_ATTEMPTS_CEILING = 20
# Execution display names start with the trigger, so EventBridge rules can tell them apart.
TRIGGER_CODES = {
    "schedule": "sch",
    "queue": "que",
    "cli": "cli",
    "maintenance-window": "mw",
    "pipeline": "pip",
    "manual": "man",
}


class InvalidRequest(ValueError):
    """The request cannot ever succeed as sent; retrying it is pointless."""


class TrainingRequest(BaseModel):
    """A request to train one model once (JSON with camelCase keys)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    model: Annotated[str, Field(pattern=MODEL_NAME)]
    request_id: Annotated[str, Field(pattern=REQUEST_ID)]
    attempt: Annotated[int, Field(ge=1, le=MAX_ATTEMPTS_CEILING)] = 1
    data_uri: str | None = Field(default=None, json_schema_extra={"pattern": S3_URI.pattern})
    hyperparameters: dict[
        Annotated[str, Field(min_length=1, max_length=256)], Annotated[str, Field(max_length=2500)]
    ] = Field(default_factory=dict)
    requested_by: Annotated[str, Field(min_length=1, max_length=128)] = "unknown"
    reason: Annotated[str, Field(max_length=1024)] = ""

    @field_validator("data_uri")
    @classmethod
    def _s3_uri(cls, value: str | None) -> str | None:
        if value is not None and not S3_URI.match(value):
            raise ValueError("dataUri must be an S3 URI such as s3://bucket/prefix/")
        return value

    def idempotency_token(self) -> str:
        """SageMaker ClientRequestToken (32-128 chars): deterministic per request and attempt."""
        return hashlib.sha256(f"{self.request_id}#{self.attempt}".encode()).hexdigest()

    def execution_display_name(self, trigger: str = "manual") -> str:
        """<trigger>-<model>-a<attempt>-<token prefix>: readable, and rules can match the trigger.

        SageMaker's pattern for display names is letters, digits and single hyphens.
        """
        code = TRIGGER_CODES.get(trigger, "man")
        return f"{code}-{self.model}-a{self.attempt}-{self.idempotency_token()[:12]}"

    def next_attempt(self) -> TrainingRequest:
        return self.model_copy(update={"attempt": self.attempt + 1})

    def to_message(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


def new_request_id() -> str:
    return str(uuid.uuid4())


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "request"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse(raw: str | bytes | dict[str, Any]) -> TrainingRequest:
    """Validates a request from JSON text or a dict; raises InvalidRequest saying what is wrong."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InvalidRequest(f"body is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise InvalidRequest(f"body must be a JSON object, got {type(raw).__name__}")
    try:
        return TrainingRequest.model_validate(raw)
    except ValidationError as error:
        raise InvalidRequest(_describe(error)) from None
