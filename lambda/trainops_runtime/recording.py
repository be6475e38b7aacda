"""Which facts the event store records, and the streams each belongs to (the recorder's rules).

Pure: an EventBridge event in, a `StoredEvent` out (or `MalformedEvent`, which the recorder lets
Lambda retry and then dead-letter: nothing is dropped silently). The handler
(`handlers/recorder.py`) appends the result with the `event_store` adapter; what each source
maps to is described there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trainops_runtime import domain_events
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.projection import (
    PIPELINE_STATUS,
    RUN_COMMAND_STATUS,
    TRAINING_JOB_STATE,
    moment,
)
from trainops_runtime.training_request import MODEL_NAME


@dataclass(frozen=True)
class StoredEvent:
    """One fact, as the recorder derived it from an EventBridge event."""

    event_id: str
    type: str
    source: str
    time: str
    model: str | None
    streams: tuple[str, ...]
    payload: dict[str, Any]
    replayed: bool = False


REQUIRED_DOMAIN_FIELDS = ("eventId", "type", "model", "requestId", "attempt", "trigger")
# Domain event fields and the type each must have (the publisher's contract, domain_events).
DOMAIN_FIELD_TYPES: dict[str, type] = {
    "eventId": str,
    "type": str,
    "model": str,
    "requestId": str,
    "attempt": int,
    "trigger": str,
    "executionArn": str,
    "occurredAt": str,
    "reason": str,
}
MODEL = re.compile(MODEL_NAME)


class MalformedEvent(ValueError):
    """An event the store cannot record as it is: retried, then dead-lettered, never dropped."""


def _execution_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _tag(tags: Any, key: str) -> str | None:
    """A tag from either documented shape of `detail.Tags` (map, or list of Key/Value)."""
    if isinstance(tags, dict):
        value = tags.get(key)
        return str(value) if value else None
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and tag.get("Key") == key:
                return str(tag.get("Value"))
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(detail: dict[str, Any], name: str, what: str) -> str:
    """A string field of an AWS event's detail, or MalformedEvent naming it."""
    value = detail.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{what}: {name} must be a non-empty string, got {_kind(value)}")
    return value


def _check_domain_types(detail: dict[str, Any]) -> None:
    """Every known field has its type (a list where a string belongs would otherwise surface as
    an AttributeError, or end up inside a stream name), and the model is a model name."""
    for name, wanted in DOMAIN_FIELD_TYPES.items():
        if name not in detail or (detail[name] is None and name not in REQUIRED_DOMAIN_FIELDS):
            continue
        value = detail[name]
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise MalformedEvent(
                f"domain event field {name} must be {wanted.__name__}, got {_kind(value)}"
            )
    if not MODEL.match(detail["model"]):
        raise MalformedEvent(f"domain event model {detail['model'][:80]!r} is not a model name")
    occurred = detail.get("occurredAt")
    if occurred is not None and moment(occurred) is None:
        # the read model orders by this time: an unreadable one would lose to every other
        raise MalformedEvent(f"domain event occurredAt {occurred[:40]!r} is not an ISO 8601 time")


def _domain(event: dict[str, Any], detail: dict[str, Any]) -> StoredEvent:
    missing = [name for name in REQUIRED_DOMAIN_FIELDS if name not in detail]
    if missing:
        raise MalformedEvent(f"domain event without {', '.join(missing)}")
    _check_domain_types(detail)
    if (
        detail["type"] != event.get("detail-type")
        or detail["type"] not in domain_events.EVENT_TYPES
    ):
        raise MalformedEvent(
            f"detail-type {event.get('detail-type')!r} does not match a known type"
        )
    streams = [f"model#{detail['model']}"]
    if detail.get("executionArn"):
        streams.append(f"run#{_execution_id(detail['executionArn'])}")
    return StoredEvent(
        event_id=str(detail["eventId"]),
        type=detail["type"],
        source=event["source"],
        time=str(detail.get("occurredAt") or event.get("time")),
        model=str(detail["model"]),
        streams=tuple(streams),
        payload=detail,
        replayed="replay-name" in event,
    )


def _sagemaker(event: dict[str, Any], detail: dict[str, Any], catalog: ModelCatalog) -> StoredEvent:
    kind = event.get("detail-type")
    if kind == PIPELINE_STATUS:
        what = "pipeline status change"
        pipeline_arn = _text(detail, "pipelineArn", what)
        run = _execution_id(_text(detail, "pipelineExecutionArn", what))
        if ":pipeline/" not in pipeline_arn:
            raise MalformedEvent(
                f"{what}: pipelineArn {pipeline_arn[:200]!r} is not a pipeline ARN"
            )
        pipeline = pipeline_arn.rsplit(":pipeline/", 1)[1].split("/", 1)[0]
        model = catalog.by_pipeline(pipeline)
        if model is None:
            raise MalformedEvent(f"pipeline {pipeline} is not one of this stack's")
        streams = (f"model#{model}", f"run#{run}")
    elif kind == TRAINING_JOB_STATE:
        name = _text(detail, "TrainingJobName", "training job state change")
        model = _tag(detail.get("Tags"), "trainops:model")
        if model is not None and model not in catalog.models:
            # a job tagged by hand, or for another stack: its own stream only, never a
            # model stream named after whatever the tag says
            model = None
        streams = (*([f"model#{model}"] if model else []), f"job#{name}")
    else:
        raise MalformedEvent(f"unexpected SageMaker event {kind!r}")
    return StoredEvent(
        event_id=str(event["id"]),
        type=str(kind),
        source=event["source"],
        time=str(event.get("time")),
        model=model,
        streams=streams,
        payload=detail,
        replayed="replay-name" in event,
    )


def command_models(parameters: Any, catalog: ModelCatalog) -> list[str]:
    """This stack's models a retraining command names: its `models` parameter (space-separated;
    `modelName` in commands from before tasks could share models)."""
    if not isinstance(parameters, dict):
        return []
    values = parameters.get("models") or parameters.get("modelName") or []
    names = [name for value in values if isinstance(value, str) for name in value.split()]
    known = set(catalog.models)
    return list(dict.fromkeys(name for name in names if name in known))


def _ssm(event: dict[str, Any], detail: dict[str, Any], catalog: ModelCatalog) -> StoredEvent:
    if event.get("detail-type") != RUN_COMMAND_STATUS:
        raise MalformedEvent(f"unexpected Systems Manager event {event.get('detail-type')!r}")
    _text(detail, "document-name", "Run Command status change")
    models = command_models(detail.get("parameters"), catalog)
    return StoredEvent(
        event_id=str(event["id"]),
        type=RUN_COMMAND_STATUS,
        source=event["source"],
        time=str(event.get("time")),
        model=models[0] if len(models) == 1 else None,
        streams=(
            *(f"model#{model}" for model in models),
            f"maintenance#{detail['document-name']}",
        ),
        payload=detail,
        replayed="replay-name" in event,
    )


def to_stored(event: dict[str, Any], catalog: ModelCatalog) -> StoredEvent:
    """Validates an EventBridge event and says where it is stored."""
    if (
        not isinstance(event, dict)
        or not event.get("id")
        or not isinstance(event.get("detail"), dict)
    ):
        raise MalformedEvent("not an EventBridge event with an id and a detail object")
    source = event.get("source")
    if source == domain_events.SOURCE:
        return _domain(event, event["detail"])
    if source == "aws.sagemaker":
        return _sagemaker(event, event["detail"], catalog)
    if source == "aws.ssm":
        return _ssm(event, event["detail"], catalog)
    raise MalformedEvent(f"events from {source!r} are not recorded here")
