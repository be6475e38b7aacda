"""The generated documentation: the stack-config reference and the architecture diagram.

`docs/configuration.md` embeds the config table (generated from the pydantic models) and
`README.md` the diagram (`trainops plan --stack prod --format mermaid`), each between its markers;
`trainops config-reference --update <file>` rewrites the sections a file holds, and a test fails
when either differs from what the code generates.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.config import StackConfig
from components.platform.config_types import NAMESPACE

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"
CONFIG_REFERENCE_FILE = "docs/configuration.md"  # holds the config table, relative to the project


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model, is_mapping): the config model a field holds, directly or as dict values."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and args:
        inner, _ = _nested_model(args[-1])
        return inner, inner is not None
    for arg in args:
        inner, mapping = _nested_model(arg)
        if inner is not None:
            return inner, mapping
    return None, False


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "see below"
    else:
        value = info.default
    if value is PydanticUndefined or value is None:
        return "unset"
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        nested, mapping = _nested_model(info.annotation)
        description = (
            (info.description or nested.__doc__ or "").strip().split("\n")[0]
            if nested
            else (info.description or "")
        )
        rows.append((key, _default(info), description))
        if nested is not None:
            rows.extend(_rows(nested, f"{key}.<name>." if mapping else f"{key}."))
    return rows


DIAGRAM_BEGIN = "<!-- diagram:begin -->"
DIAGRAM_END = "<!-- diagram:end -->"
DIAGRAM_STACK = "prod"  # the stack with every feature on
DIAGRAM_FILE = "README.md"  # holds the diagram, relative to the project


def section(text: str, begin: str, end: str) -> str:
    """The text between two markers."""
    if begin not in text or end not in text:
        raise ValueError(f"no {begin} ... {end} section")
    return text.split(begin, 1)[1].split(end, 1)[0].strip()


def replace_section(text: str, begin: str, end: str, content: str) -> str:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content}\n{end}{tail}"


def diagram() -> str:
    """The architecture diagram in `DIAGRAM_FILE`: `trainops plan --stack prod --format mermaid`."""
    from cli import offline, plan  # noqa: PLC0415 - runs the program; only when asked

    return f"```mermaid\n{plan.mermaid(offline.run_program(DIAGRAM_STACK))}\n```"


RUN_COSTS_BEGIN = "<!-- run-costs:begin -->"
RUN_COSTS_END = "<!-- run-costs:end -->"


def run_cost_table() -> str:
    """Markdown table of every example stack's models: what one run may cost at most, and the
    cap it is held to (`trainops plan` shows the same)."""
    from cli import offline, spend  # noqa: PLC0415 - reads the stack files; only when asked
    from components import config as config_module  # noqa: PLC0415
    from trainops_runtime import training_prices  # noqa: PLC0415

    lines = [
        f"List prices {training_prices.AS_OF}, us-east-1, on demand "
        f"([source]({training_prices.SOURCE.split()[0]})); training plus, with a gate, its "
        "evaluation job; volumes included.",
        "",
        "| Stack | Model | One run at most | Maximum cost | Cap |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for stack in offline.available_stacks():
        settings = config_module.parse(offline.stack_config(stack))
        for model, cost in spend.run_costs(settings).items():
            breakdown = cost["breakdown"].rsplit(" (list prices", 1)[0]
            maximum = f"${cost['maxCost']:,.2f}" if cost["maxCost"] is not None else "not priced"
            cap = f"${cost['cap']:,.2f}" if cost["cap"] is not None else "none"
            lines.append(f"| {stack} | {model} | {breakdown} | {maximum} | {cap} |")
    return "\n".join(lines)


def update_generated_sections(path: Path) -> bool:
    """Rewrites the generated sections `path` holds, found by their markers: the config table
    (in `CONFIG_REFERENCE_FILE`) and the diagram (in `DIAGRAM_FILE`). Returns whether anything
    changed; a file with neither section is an error."""
    text = path.read_text(encoding="utf-8")
    generators = (
        (BEGIN, END, config_reference),
        (DIAGRAM_BEGIN, DIAGRAM_END, diagram),
        (RUN_COSTS_BEGIN, RUN_COSTS_END, run_cost_table),
    )
    present = [(begin, end, generate) for begin, end, generate in generators if begin in text]
    if not present:
        raise ValueError(
            f"{path} has no generated section ({BEGIN} ... {END} or {DIAGRAM_BEGIN} ... "
            f"{DIAGRAM_END}); the config table is in {CONFIG_REFERENCE_FILE}, the diagram in "
            f"{DIAGRAM_FILE}"
        )
    updated = text
    for begin, end, generate in present:
        section(updated, begin, end)  # both markers, or a ValueError naming them
        updated = replace_section(updated, begin, end, generate())
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text


def config_reference() -> str:
    """Markdown table of every `trainops:` key, its default and what it does."""
    lines = ["| Key | Default | Description |", "| --- | --- | --- |"]
    lines += [
        f"| `{NAMESPACE}:{key}` | {default} | {description} |"
        for key, default, description in _rows(StackConfig, "")
    ]
    return "\n".join(lines)
