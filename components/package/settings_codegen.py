"""Generates `components/package/settings.py`: the stack config's pydantic models as the
TypedDicts the component package's Args are made of (the SDK's analyzer infers the schema from
plain annotations only), so the package's shapes and descriptions cannot drift from the stack
file's.

- One `TypedDict` (`total=False`) per config model reachable from `ROOTS`, `FooConfig` ->
  `FooSettings`, each defined before the classes that use it (no forward references).
- Keys are the field names, which the analyzer camel-cases into the stack file's keys (checked
  against every alias); `Required[...]` marks required fields.
- Types reduced to schema types: validated aliases to their base type, `X | None` to `X` (the key
  is optional), `datetime` to str, string `Literal`s to `StrEnum`s named after owner and field
  (`EvaluationComparison`), nested models to their `TypedDict`.
- Docstrings: a key's is the field's description and default as `docs/configuration.md` renders
  them (`cli.reference`); a class's, the first paragraph of the model's.

A field it cannot map fails generation, naming it. Regenerate with `REGENERATE`; a test fails
when the committed module differs from `render()`.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types
import typing
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pulumi.provider.experimental.util import camel_case
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.approval_deployment.config import ApprovalDeploymentConfig
from components.event_sourcing.config import EventSourcingConfig
from components.maintenance_window.config import MaintenanceWindowConfig
from components.monitoring.config import MonitoringConfig
from components.package import settings_source as source
from components.package.settings_source import UnmappableFieldError
from components.platform.foundation_config import AccessLogsConfig, ArtifactsConfig
from components.platform.model_config import EndpointConfig, ModelConfig
from components.platform.spend_config import SpendGuardrailsConfig
from components.quality_retraining.config import QualityRetrainingConfig
from components.scheduled_retraining.config import ScheduledRetrainingConfig
from components.training_queue.config import TrainingQueueConfig

# The models the package's Args are made of; every config model they hold is covered too.
ROOTS: tuple[type[BaseModel], ...] = (
    ModelConfig,
    MonitoringConfig,
    ScheduledRetrainingConfig,
    TrainingQueueConfig,
    MaintenanceWindowConfig,
    EventSourcingConfig,
    ArtifactsConfig,
    AccessLogsConfig,
    QualityRetrainingConfig,
    ApprovalDeploymentConfig,
    SpendGuardrailsConfig,
)

# The generated modules (relative to the project): a model's settings, reachable from
# `ModelConfig`, and the stack's features, which use none of them; two modules, so that each
# reads as one thing.
MODEL_SETTINGS_FILE = "components/package/model_settings.py"
SETTINGS_FILE = "components/package/settings.py"
MODULES = (MODEL_SETTINGS_FILE, SETTINGS_FILE)
REGENERATE = "trainops package --update"

# Keys that cannot be the field name: the analyzer camel-cases a key with Pulumi's
# `camel_case`, the models alias a field with pydantic's `to_camel`, and the two disagree on a
# digit followed by letters. The key here camel-cases (both ways) to the field's alias, the
# stack file's key; any other disagreement fails generation.
KEY_OVERRIDES: dict[tuple[type[BaseModel], str], str] = {
    # to_camel: errors5XxThreshold (the YAML key); camel_case of the field: errors5xxThreshold.
    (EndpointConfig, "errors_5xx_threshold"): "errors5_xx_threshold",
}


@dataclass(frozen=True)
class EnumSpec:
    """A generated `StrEnum`: the values of one `Literal` field."""

    name: str
    owner: str  # the TypedDict holding the key
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class KeySpec:
    """One key of a generated TypedDict: one field of its model."""

    key: str
    annotation: str  # the rendered type, `Required[...]` included
    docstring: str


@dataclass(frozen=True)
class SettingsSpec:
    """One generated TypedDict: one config model."""

    model: type[BaseModel]
    name: str
    docstring: str
    keys: tuple[KeySpec, ...]


@dataclass(frozen=True)
class Plan:
    """What `render` writes, in definition order."""

    enums: tuple[EnumSpec, ...]
    settings: tuple[SettingsSpec, ...]
    typing_names: tuple[str, ...]  # what the module imports from `typing`


# Which models, under which names.


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The config models an annotation holds: itself, or inside lists, maps and unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def covered_models() -> tuple[type[BaseModel], ...]:
    """Every config model reachable from `ROOTS`, each after the models its fields hold."""
    order: list[type[BaseModel]] = []
    visiting: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in order:
            return
        if model in visiting:
            cycle = " -> ".join(m.__name__ for m in [*visiting, model])
            raise UnmappableFieldError(
                f"{cycle}: a recursive config model needs forward references, which the "
                "analyzer resolves only in the component's module; not supported"
            )
        visiting.append(model)
        for info in model.model_fields.values():
            for nested in _models_in(info.annotation):
                visit(nested)
        visiting.pop()
        order.append(model)

    for root in ROOTS:
        visit(root)
    return tuple(order)


def _pascal(snake: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in snake.split("_"))


def _base_name(model: type[BaseModel]) -> str:
    return model.__name__.removesuffix("Config") + "Settings"


def settings_names() -> dict[type[BaseModel], str]:
    """Each covered model's TypedDict name: `FooConfig` -> `FooSettings`, `Foo` ->
    `FooSettings`; two models of the same name both get their module as a prefix
    (`components.monitoring.config` -> `Monitoring...`), so names are unique and do not depend
    on which model was found first."""
    models = covered_models()
    counts = Counter(_base_name(model) for model in models)
    names: dict[type[BaseModel], str] = {}
    for model in models:
        name = _base_name(model)
        if counts[name] > 1:
            parts = model.__module__.split(".")[1:]  # below `components`
            name = "".join(_pascal(part.removesuffix("config")) for part in parts) + name
        names[model] = name
    clashes = [name for name, count in Counter(names.values()).items() if count > 1]
    if clashes:
        raise UnmappableFieldError(f"two config models map to the TypedDict {clashes[0]}")
    return names


def settings_key(model: type[BaseModel], field: str) -> str:
    """The TypedDict key of a model's field: the field name, unless `KEY_OVERRIDES` says."""
    return KEY_OVERRIDES.get((model, field), field)


# Types the schema has as they are (datetime: RFC 3339 text, as the stack file holds it).
SCALARS: dict[Any, str] = {t: t.__name__ for t in (str, int, float, bool)} | {datetime: "str"}
SCALARS[Any] = "Any"


def _optional_inner(annotation: Any, model: type[BaseModel], field: str) -> Any:
    """`X` of `X | None`; any other union has no schema type."""
    inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if len(inner) != 1:
        raise UnmappableFieldError(
            f"{model.__name__}.{field}: {annotation} (schemas have no union types)"
        )
    return inner[0]


class _Planner:
    def __init__(self) -> None:
        self.names = settings_names()
        self.enums: list[EnumSpec] = []
        self.typing_names = {"TypedDict"}

    def type_of(self, annotation: Any, model: type[BaseModel], field: str) -> str:
        """The annotation reduced to schema types, as source."""
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is Annotated:  # validators and constraints: the base type
            return self.type_of(args[0], model, field)
        if origin in (typing.Union, types.UnionType):  # `X | None`: the key is simply optional
            return self.type_of(_optional_inner(annotation, model, field), model, field)
        if origin is Literal:
            return self.enum_of(args, model, field)
        if origin in (list, dict):
            return self.container_of(annotation, model, field)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.names[annotation]
        if annotation not in SCALARS:
            raise UnmappableFieldError(
                f"{model.__name__}.{field}: no schema type for {annotation!r}"
            )
        if annotation is Any:
            self.typing_names.add("Any")
        return SCALARS[annotation]

    def container_of(self, annotation: Any, model: type[BaseModel], field: str) -> str:
        """A list, or a map with string keys, of schema types."""
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is list and len(args) == 1:
            return f"list[{self.type_of(args[0], model, field)}]"
        key = self.type_of(args[0], model, field) if len(args) == 2 else None
        if key != "str":
            raise UnmappableFieldError(
                f"{model.__name__}.{field}: {annotation!r} (a map's keys must be strings)"
            )
        return f"dict[str, {self.type_of(args[1], model, field)}]"

    def enum_of(self, values: Sequence[Any], model: type[BaseModel], field: str) -> str:
        where = f"{model.__name__}.{field}"
        if not values or not all(isinstance(value, str) for value in values):
            raise UnmappableFieldError(f"{where}: only Literals of strings become enums")
        members = [source.member_name(value) for value in values]
        if len(set(members)) != len(members) or not all(
            member.isidentifier() and not member[0].isdigit() for member in members
        ):
            raise UnmappableFieldError(f"{where}: {values} make no distinct enum member names")
        owner = self.names[model]
        name = owner.removesuffix("Settings") + _pascal(field)
        self.enums.append(EnumSpec(name, owner, settings_key(model, field), tuple(values)))
        return name

    def key_of(self, model: type[BaseModel], field: str, info: FieldInfo) -> KeySpec:
        key = settings_key(model, field)
        alias = info.alias or field
        if camel_case(key) != alias:
            raise UnmappableFieldError(
                f"{model.__name__}.{field}: the analyzer would name it {camel_case(key)}, the "
                f"stack file names it {alias}; add the key whose camel_case is {alias} to "
                "KEY_OVERRIDES"
            )
        if key != field and camel_case(field) == alias:
            raise UnmappableFieldError(
                f"{model.__name__}.{field}: KEY_OVERRIDES names it {key}, but the field name "
                "camel-cases to its alias; remove the override"
            )
        annotation = self.type_of(info.annotation, model, field)
        if info.is_required():
            self.typing_names.add("Required")
            annotation = f"Required[{annotation}]"
        nested = next(_models_in(info.annotation), None)
        description = info.description or (summary(nested) if nested else "")
        if not description:
            raise UnmappableFieldError(f"{model.__name__}.{field}: the field has no description")
        default = default_text(info)
        docstring = f"{description} Default: {default}." if default else description
        return KeySpec(key, annotation, docstring)

    def plan(self) -> Plan:
        settings = [
            SettingsSpec(
                model,
                self.names[model],
                summary(model),
                tuple(
                    self.key_of(model, field, info) for field, info in model.model_fields.items()
                ),
            )
            for model in covered_models()
        ]
        stale = [
            f"{model.__name__}.{field}"
            for model, field in KEY_OVERRIDES
            if model not in self.names or field not in model.model_fields
        ]
        if stale:
            raise UnmappableFieldError(f"KEY_OVERRIDES names no covered field: {stale}")
        defined = [spec.name for spec in settings] + [enum.name for enum in self.enums]
        clashes = [name for name, count in Counter(defined).items() if count > 1]
        if clashes:
            raise UnmappableFieldError(f"two generated classes are named {clashes[0]}")
        return Plan(tuple(self.enums), tuple(settings), tuple(sorted(self.typing_names)))


def summary(model: type[BaseModel]) -> str:
    """The first paragraph of a model's docstring, on one line (as `config_types.nested`)."""
    text = " ".join(inspect.cleandoc(model.__doc__ or "").split("\n\n", 1)[0].split())
    if not text:
        raise UnmappableFieldError(f"{model.__name__}: the model has no docstring")
    return text


def default_text(info: FieldInfo) -> str | None:
    """A field's default as `cli.reference` renders it in `docs/configuration.md` (a value in
    backticks), or None where the reference shows none: required, unset (None), or a nested
    model, whose keys carry their own defaults."""
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if value is PydanticUndefined or value is None or isinstance(value, BaseModel):
        return None
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


# Source, formatted as `ruff format` formats it.

HEADER = f'''"""The trainops stack config as TypedDicts: the Args shapes of the component package
({{part}}).

Generated by `components/package/settings_codegen.py` from the pydantic config models; do not
edit. Regenerate with

    {REGENERATE}

One `TypedDict` per config model, named `<Model>Settings`. Keys are the models' field names
(but for the generator's `KEY_OVERRIDES`), which Pulumi's analyzer camel-cases into the schema's
keys, the stack file's; `Required[...]` marks the keys the stack file requires. Each key's
docstring is its description in docs/configuration.md. Validation (patterns, bounds, rules
across fields) stays with the models: a value with camelCase keys and enum values validates
with them.
"""'''


def plan() -> Plan:
    """What the generated module defines; fails naming any field it cannot map."""
    return _Planner().plan()


def _model_part() -> set[type[BaseModel]]:
    """The models `MODEL_SETTINGS_FILE` holds: `ModelConfig` and every model it holds."""
    found: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel]) -> None:
        if model not in found:
            found.add(model)
            for info in model.model_fields.values():
                for nested in _models_in(info.annotation):
                    visit(nested)

    visit(ModelConfig)
    return found


PARTS = {
    MODEL_SETTINGS_FILE: "a model's settings, `trainops:models.<name>`",
    SETTINGS_FILE: "the features' and the platform's settings",
}


def render(module: str = SETTINGS_FILE) -> str:
    """The source of one generated module (`MODULES`)."""
    spec = plan()
    in_model = _model_part()
    wanted = module == MODEL_SETTINGS_FILE
    settings = [s for s in spec.settings if (s.model in in_model) == wanted]
    owners = {s.name for s in settings}
    enums = [e for e in spec.enums if e.owner in owners]
    annotations = " ".join(key.annotation for s in settings for key in s.keys)
    typing_names = [
        n for n in spec.typing_names if n == "TypedDict" or re.search(rf"\b{n}\b", annotations)
    ]
    imports = ["from enum import StrEnum"] if enums else []
    imports.append(f"from typing import {', '.join(typing_names)}")
    if not wanted:  # the features' settings naming a model's (none today)
        used = sorted(
            s.name
            for s in spec.settings
            if s.model in in_model and re.search(rf"\b{s.name}\b", annotations)
        )
        if used:
            imports.append(f"\nfrom components.package.model_settings import {', '.join(used)}")
    blocks = [source.enum_block(enum) for enum in enums]
    blocks += [source.settings_block(s) for s in settings]
    body = "\n\n\n".join("\n".join(block) for block in blocks)
    header = HEADER.replace("{part}", PARTS[module])
    return f"{header}\n\n" + "\n".join(imports) + f"\n\n\n{body}\n"


def update(path: Path, module: str = SETTINGS_FILE) -> bool:
    """Writes `render(module)` to `path` when it differs; returns whether it did."""
    text = render(module)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def _module_of(path: Path) -> str:
    """The generated module a path stands for, by its file name (settings.py by default)."""
    return next((m for m in MODULES if Path(m).name == path.name), SETTINGS_FILE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.package.settings_codegen",
        description="Generate the component package's TypedDicts from the stack config models "
        "(prints the module without an option).",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--update", type=Path, metavar="FILE", help=f"rewrite FILE ({SETTINGS_FILE})"
    )
    action.add_argument(
        "--check", type=Path, metavar="FILE", help="exit 1 when FILE differs from the output"
    )
    options = parser.parse_args(argv)
    if options.update is not None:
        changed = update(options.update, _module_of(options.update))
        print(f"{options.update}: {'updated' if changed else 'up to date'}")
        return 0
    if options.check is not None:
        current = options.check.read_text(encoding="utf-8") if options.check.is_file() else ""
        if current != render(_module_of(options.check)):
            print(f"{options.check} is out of date; run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
