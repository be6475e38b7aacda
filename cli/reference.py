"""The stack-config reference, generated from the pydantic models so it can never drift.

The README embeds this table between markers; a test fails when they differ.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.config import NAMESPACE, StackConfig

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"


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
    """The README's architecture diagram: `trainops plan --stack prod --format mermaid`."""
    from cli import offline, plan  # noqa: PLC0415 - runs the program; only when asked

    return f"```mermaid\n{plan.mermaid(offline.run_program(DIAGRAM_STACK))}\n```"


def update_readme(path: Path, *, with_diagram: bool = True) -> bool:
    """Rewrites the generated sections of the README; returns whether anything changed."""
    text = path.read_text(encoding="utf-8")
    updated = replace_section(text, BEGIN, END, config_reference())
    if with_diagram:
        updated = replace_section(updated, DIAGRAM_BEGIN, DIAGRAM_END, diagram())
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
