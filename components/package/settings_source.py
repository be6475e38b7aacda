"""Python source as `ruff format` writes it, for the generated settings modules
(`settings_codegen` decides what they define; this module only spells it): string literals,
attribute and class docstrings, enum and TypedDict blocks."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.package.settings_codegen import EnumSpec, SettingsSpec

LINE_LENGTH = 100  # the project's (pyproject.toml [tool.ruff]): the output is ruff-formatted
INDENT = "    "


class UnmappableFieldError(TypeError):
    """A config field whose type or name has no schema equivalent."""


def member_name(value: str) -> str:
    """An enum member's name: the value in UPPER_SNAKE (`GreaterThanOrEqualTo` ->
    `GREATER_THAN_OR_EQUAL_TO`, `Post-Training` -> `POST_TRAINING`)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", value)
    return re.sub(r"[^0-9A-Za-z]+", "_", words).strip("_").upper()


def literal(text: str) -> str:
    """A one-line string literal, quoted as ruff quotes it: double quotes, unless the text holds
    more double quotes than single ones."""
    if not text.isprintable():
        raise UnmappableFieldError(f"unprintable characters in {text!r}")
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def triple_quotable(text: str) -> bool:
    return text.isprintable() and "\\" not in text and '"""' not in text and text[-1:] != '"'


def parts(text: str, width: int) -> list[str]:
    """The text split at spaces into pieces whose literals are at most `width` long."""
    words = text.split(" ")
    parts: list[str] = []
    current = words[0]
    for word in words[1:]:
        if len(literal(f"{current} {word} ")) <= width:
            current = f"{current} {word}"
        else:
            parts.append(f"{current} ")
            current = word
    return [*parts, current]


def attribute_docstring(text: str) -> list[str]:
    """A key's docstring: one triple-quoted line, one quoted line, or parenthesized pieces (an
    implicit concatenation: the analyzer reads it as one string, the text exactly)."""
    triple = f'{INDENT}"""{text}"""'
    if len(triple) <= LINE_LENGTH and triple_quotable(text):
        return [triple]
    single = f"{INDENT}{literal(text)}"
    if len(single) <= LINE_LENGTH:  # ruff joins pieces that fit on one line
        return [single]
    pieces = parts(text, LINE_LENGTH - 2 * len(INDENT))
    return [f"{INDENT}(", *(f"{INDENT * 2}{literal(piece)}" for piece in pieces), f"{INDENT})"]


def class_docstring(text: str) -> list[str]:
    if not triple_quotable(text):
        raise UnmappableFieldError(f"docstring {text!r} cannot be triple-quoted as it is")
    return textwrap.wrap(
        text,
        width=LINE_LENGTH - len('"""'),  # room for the closing quotes
        initial_indent=f'{INDENT}"""',
        subsequent_indent=INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )


def enum_block(spec: EnumSpec) -> list[str]:
    return [
        f"class {spec.name}(StrEnum):",
        f'{INDENT}"""Values of `{spec.owner}.{spec.key}`."""',
        "",
        *(f"{INDENT}{member_name(value)} = {literal(value)}" for value in spec.values),
    ]


def settings_block(spec: SettingsSpec) -> list[str]:
    docstring = class_docstring(spec.docstring)
    docstring[-1] += '"""'
    lines = [f"class {spec.name}(TypedDict, total=False):", *docstring, ""]
    for key in spec.keys:
        lines.append(f"{INDENT}{key.key}: {key.annotation}")
        lines.extend(attribute_docstring(key.docstring))
    return lines
