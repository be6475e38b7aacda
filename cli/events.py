"""`trainops history` and `trainops replay`: read and rebuild from a stack's event store.

Both use the Lambda package's own code (the store reader and the fold), so what an operator sees
is what the projector computes. Tables are found by their fixed names; AWS credentials needed.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from cli import offline
from components import config as config_module
from components.event_sourcing.component import events_table_name, read_model_table_name
from components.platform import naming
from trainops_runtime.adapters import event_store, read_model


def tables(stack: str) -> tuple[str, str, config_module.StackConfig]:
    settings = config_module.parse(offline.stack_config(stack))
    if not settings.event_sourcing.enabled:
        raise ValueError(f"stack {stack} has no event store (eventSourcing.enabled is false)")
    slug = naming.stack_slug(stack)
    return events_table_name(slug), read_model_table_name(slug), settings


def printable(value: Any) -> str:
    """``value`` as one line of inert text: producers write these fields, so a newline must not
    forge a history line, nor an ANSI escape or carriage return reach the operator's terminal.
    Control, format and unassigned characters (Unicode category C) and line/paragraph
    separators are shown escaped (``\\n``, ``\\x1b``, ``\\u2028``); a backslash is doubled so
    that an escape written by the producer cannot pass for one of these."""
    out = []
    for char in str(value):
        if char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp"):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


# Fields of a domain event's `data` worth a place on its history line.
DATA_SHOWN = ("status", "decision", "endpointConfig")


def _summary(event: dict[str, Any]) -> str:
    payload = event["payload"]
    parts = []
    for key in (
        "requestId",
        "attempt",
        "trigger",
        "currentPipelineExecutionStatus",
        "TrainingJobStatus",
        "status",
        "reason",
    ):
        if payload.get(key) not in (None, ""):
            parts.append(f"{key}={printable(payload[key])}")
    # which step of a deployment an event is (`ModelDeployed` started, completed or failed; an
    # approval deployed or refused), and its version's endpoint config
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    for key in DATA_SHOWN:
        if data.get(key) not in (None, ""):
            parts.append(f"{key}={printable(data[key])}")
    execution = payload.get("executionArn") or payload.get("pipelineExecutionArn")
    if execution:
        parts.append(f"execution={printable(str(execution).rsplit('/', 1)[-1])}")
    return " ".join(parts)


def history(stack: str, model: str, *, as_json: bool = False) -> str:
    """A model's events as a readable timeline (or JSON lines)."""
    events_table, _, settings = tables(stack)
    if model not in settings.models:
        raise ValueError(
            f"unknown model {model!r}; stack {stack} trains: {', '.join(sorted(settings.models))}"
        )
    events = list(event_store.read_stream(events_table, f"model#{model}"))
    if as_json:
        return "\n".join(json.dumps(event, sort_keys=True) for event in events)
    if not events:
        return f"no events recorded for {model} in {stack}"
    lines = [f"{model} ({stack}): {len(events)} events"]
    for event in events:
        time, kind = printable(event["time"]), printable(event["type"])
        lines.append(f"{event['version']:>5}  {time:<32} {kind:<58} {_summary(event)}")
    return "\n".join(lines)


def replay(stack: str, *, force: bool = False) -> dict[str, Any]:
    """Rebuilds the read model from the event store; returns a summary. Without ``force`` a
    state the projector took further meanwhile is kept (`newerKept`)."""
    events_table, read_table, _ = tables(stack)
    streams = list(event_store.streams(events_table))
    rebuilt = read_model.rebuild(events_table, read_table, streams, force=force)
    states = rebuilt.states
    return {
        "stack": stack,
        "streams": len(states),
        "models": sorted(name.split("#", 1)[1] for name in states if name.startswith("model#")),
        "events": sum(
            state["lastVersion"] for name, state in states.items() if name.startswith("model#")
        ),
        # streams the projector had already taken further while the replay ran: kept
        "newerKept": sorted(rebuilt.newer_kept),
    }
