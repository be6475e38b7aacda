"""Quality signals: what makes a CloudWatch alarm or a configured event a report that a model's
quality degraded, and the training request such a report becomes. `quality` says what a signal
does; this module only reads and names them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.training_request import MODEL_NAME, TrainingRequest

TRIGGER = "quality"
# A quality alarm of model M is named `<alarm prefix>M--quality<anything>`.
QUALITY_MARKER = "--quality"
# What a custom-pattern rule's input transformer sends: {"qualitySignal": {...these fields}}.
SIGNAL_KEY = "qualitySignal"
SIGNAL_FIELDS = frozenset({"model", "id", "source", "detailType", "time"})
MAX_SIGNAL_TEXT = 256  # an event id, source or detail-type longer than this is no event's
ALARM_SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
ALARM_STATE = "ALARM"
REQUESTED_BY = "trainops-quality"
REQUEST_PREFIX = "quality:"
REQUEST_HASH_CHARS = 24
MAX_REASON_CHARS = 1024  # the request schema's limit

_MODEL = re.compile(MODEL_NAME)


class InvalidSignal(ValueError):
    """The event is neither an alarm state change nor a quality signal trainops configured:
    a deployment bug (the function is invoked asynchronously, so the event lands in its failure
    destination with this message)."""


# ---- naming ---------------------------------------------------------------------------------


def model_of_alarm(alarm_name: str, prefix: str, models: Container[str]) -> str | None:
    """The model whose quality alarm ``alarm_name`` is (`<prefix><model>--quality...`), the
    longest of ``models`` that fits; None when it is no quality alarm of one of them."""
    if not alarm_name.startswith(prefix):
        return None
    rest = alarm_name[len(prefix) :]
    found = None
    at = rest.find(QUALITY_MARKER)
    while at >= 0:
        if at > 0 and rest[:at] in models:
            found = rest[:at]  # later markers make longer names
        at = rest.find(QUALITY_MARKER, at + 1)
    return found


# ---- signals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One report that a model's quality degraded."""

    model: str
    signal_id: str  # the same for every delivery of the same report
    source_description: str  # the alarm's name, or `<source>/<detail-type>`
    at: datetime  # when: the alarm's state change, or the event's time
    source: str = ALARM_SOURCE
    alarm_name: str | None = None
    detail_type: str | None = None

    def data(self) -> dict[str, Any]:
        """What `QualityDegraded` says about the signal."""
        data: dict[str, Any] = {"signalId": self.signal_id, "source": self.source}
        if self.alarm_name is not None:
            data["alarmName"] = self.alarm_name
        if self.detail_type is not None:
            data["detailType"] = self.detail_type
        return data


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that is no quality signal of a model taking them, and why."""

    reason: str
    alarm_name: str | None = None
    model: str | None = None


def _shown(value: Any) -> str:
    return repr(value)[:300]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_SIGNAL_TEXT:
        raise InvalidSignal(
            f"{what} must be a string of 1 to {MAX_SIGNAL_TEXT} characters, got {_shown(value)}"
        )
    return value


def _time(value: Any, what: str) -> datetime:
    """An ISO 8601 time (`...Z`, `+00:00` or CloudWatch's `+0000`) as an aware datetime."""
    text = _text(value, what)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidSignal(f"{what} is not an ISO 8601 time: {_shown(text)}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _custom_signal(event: dict[str, Any], catalog: ModelCatalog) -> Signal:
    """The input transformer's shape, exactly."""
    body = event[SIGNAL_KEY]
    if set(event) != {SIGNAL_KEY} or not isinstance(body, dict) or set(body) != SIGNAL_FIELDS:
        raise InvalidSignal(
            f"unexpected quality signal {_shown(event)}: want {{{SIGNAL_KEY!r}: "
            f"{{{', '.join(sorted(SIGNAL_FIELDS))}}}}}"
        )
    model = body["model"]
    if not isinstance(model, str) or not _MODEL.match(model):
        raise InvalidSignal(f"quality signal model {_shown(model)} is not a model name")
    if model not in catalog.entries:
        raise InvalidSignal(
            f"quality signal of {model!r}, which this stack does not train (a rule names a model "
            f"the function's catalog lacks); this stack trains: {', '.join(catalog.models)}"
        )
    source = _text(body["source"], "qualitySignal.source")
    detail_type = _text(body["detailType"], "qualitySignal.detailType")
    return Signal(
        model=model,
        signal_id=_text(body["id"], "qualitySignal.id"),
        source_description=f"{source}/{detail_type}",
        at=_time(body["time"], "qualitySignal.time"),
        source=source,
        detail_type=detail_type,
    )


def _alarm_signal(event: dict[str, Any], prefix: str, catalog: ModelCatalog) -> Signal | Ignored:
    """An alarm state change: a signal when a quality alarm of a catalog model enters ALARM."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidSignal(f"alarm state change without a detail object: {_shown(event)}")
    name = _text(detail.get("alarmName"), "detail.alarmName")
    state = detail.get("state")
    if not isinstance(state, dict):
        raise InvalidSignal(f"alarm state change of {name} without detail.state")
    value = _text(state.get("value"), "detail.state.value")
    stamp = _text(state.get("timestamp"), "detail.state.timestamp")
    at = _time(stamp, "detail.state.timestamp")
    if value != ALARM_STATE:
        return Ignored(f"{name} entered {value}, not {ALARM_STATE}", alarm_name=name)
    model = model_of_alarm(name, prefix, catalog.entries)
    if model is None:
        return Ignored(
            f"{name} is not a quality alarm of this stack's models "
            f"({prefix}<model>{QUALITY_MARKER}...)",
            alarm_name=name,
        )
    return Signal(
        model=model,
        signal_id=f"{name}@{stamp}",
        source_description=name,
        at=at,
        alarm_name=name,
    )


def parse_signal(event: Any, *, prefix: str, catalog: ModelCatalog) -> Signal | Ignored:
    """The signal ``event`` carries, `Ignored` (with the reason) when it is well-formed but no
    quality signal of a model that takes them, or `InvalidSignal` for anything else."""
    if isinstance(event, dict) and SIGNAL_KEY in event:
        parsed: Signal | Ignored = _custom_signal(event, catalog)
    elif (
        isinstance(event, dict)
        and event.get("source") == ALARM_SOURCE
        and event.get("detail-type") == ALARM_DETAIL_TYPE
    ):
        parsed = _alarm_signal(event, prefix, catalog)
    else:
        raise InvalidSignal(
            f"not a quality signal: want a {ALARM_DETAIL_TYPE!r} event from {ALARM_SOURCE} or "
            f"{{{SIGNAL_KEY!r}: {{...}}}}, got {_shown(event)}"
        )
    if isinstance(parsed, Signal) and not catalog.get(parsed.model).quality_retraining:
        return Ignored(
            f"{parsed.model} does not take quality signals (qualityRetraining is off)",
            alarm_name=parsed.alarm_name,
            model=parsed.model,
        )
    return parsed


def request_for(signal: Signal) -> TrainingRequest:
    """The request a signal becomes (or would have): its id is derived from the signal, so
    every delivery of the signal is the same request (and the same SQS deduplication id)."""
    digest = hashlib.sha256(f"{signal.model}\n{signal.signal_id}".encode()).hexdigest()
    stamp = signal.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TrainingRequest(
        model=signal.model,
        request_id=REQUEST_PREFIX + digest[:REQUEST_HASH_CHARS],
        requested_by=REQUESTED_BY,
        reason=f"quality: {signal.source_description} at {stamp}"[:MAX_REASON_CHARS],
        trigger=TRIGGER,
    )
