"""Loading the stack config and reporting every problem at once: `load()` turns each pydantic
error into a ``trainops:<key path>: <problem> (got <value>)`` line of one `pulumi.RunError`
(Pulumi prints a RunError without a traceback); unknown keys list the valid ones."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
from pydantic import (
    BaseModel,
    ValidationError,
)

from components.config.stack import COMPOSED, StackConfig
from components.platform import spend
from components.platform.config_types import NAMESPACE, REGION


class ConfigError(ValueError):
    """Invalid stack config; ``problems`` holds one ``key: problem (got value)`` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid stack configuration:\n  "
            + "\n  ".join(problems)
            + "\nFix the keys above in Pulumi.<stack>.yaml (or with `pulumi config set --path`)."
        )


def _decode(value: Any) -> Any:
    """Config values arrive as strings, objects and lists JSON-encoded (as the CLI sends them)."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _model_at(path: Iterable[Any]) -> type[BaseModel] | None:
    """The config model class that sits at a key path, to list its valid keys."""
    model: type[BaseModel] | None = StackConfig
    for part in path:
        if model is None:
            return None
        field = next(
            (f for f in model.model_fields.values() if f.alias == part),
            None,
        )
        if field is None:
            # a dict key (model name) or list index: keep the model of the dict's values
            continue
        model = _field_model(field.annotation)
    return model


def _field_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _field_model(arg)
        if found is not None:
            return found
    return None


def _valid_keys(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    return ", ".join(sorted(f.alias or name for name, f in model.model_fields.items()))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format(error: Mapping[str, Any]) -> str:
    loc = [part for part in error["loc"] if part != "[key]"]
    path = ".".join(str(part) for part in loc)
    key = f"{NAMESPACE}:{path}" if path else NAMESPACE
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = _valid_keys(parent)
        return f"{key}: unknown key; valid keys are {valid} (got {_shown(error['input'])})"
    if kind == "missing":
        return f"{key}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:  # a rule across several keys: the message names them
        return f"{NAMESPACE}:{message}"
    if isinstance(error["input"], (dict, list)) and kind == "value_error":
        return f"{key}: {message}"  # a rule over an object: its keys are in the message
    return f"{key}: {message} (got {_shown(error['input'])})"


def parse(raw: Mapping[str, Any], *, composed: bool = False) -> StackConfig:
    """Validates a stack's config map (``"trainops:key" -> value``, as Pulumi passes it).

    Raises ConfigError listing every problem at once. ``composed``: the config of components a
    program composes from the component package (`components.config.stack.COMPOSED`).
    """
    data = {
        key.split(":", 1)[1]: _decode(value)
        for key, value in raw.items()
        if key.startswith(f"{NAMESPACE}:")
    }
    problems: list[str] = []
    region = raw.get("aws:region")
    if region is None:
        problems.append("aws:region: required key is missing; set it, e.g. `aws:region: us-east-1`")
    elif not isinstance(region, str) or not REGION.match(region):
        problems.append(
            f"aws:region: not an AWS region name such as us-east-1 (got {_shown(region)})"
        )
    try:
        config = StackConfig.model_validate(data, context={COMPOSED: composed})
    except ValidationError as error:
        problems.extend(_format(item) for item in error.errors())
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    # Rules that need the region (prices) as well as the whole config.
    notebook = config.event_sourcing.notebook
    problems.extend(
        spend.problems(
            config.models,
            config.spend_guardrails,
            str(region),
            {"eventSourcing.notebook.instanceType": notebook.instance_type}
            if config.event_sourcing.enabled and notebook.enabled
            else None,
        )
    )
    if problems:
        raise ConfigError(problems)
    config._region = str(region)
    return config


def current_config_map() -> dict[str, Any]:
    """Every config value of the running program, keyed ``namespace:key``.

    pulumi.Config only answers for keys you already know; to report unknown (misspelled) keys we
    need the whole map, which the language host passes in PULUMI_CONFIG (and tests/mocks set
    with `pulumi.runtime.set_all_config`).
    """
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415 - internal, read once

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def load() -> StackConfig:
    """Loads and validates the running stack's config; invalid config stops the program cleanly."""
    try:
        return parse(current_config_map())
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
