"""The component package's TypedDicts (`components/package/settings.py`), generated from the
stack config's pydantic models: committed as generated, ruff-clean, one key per field with the
stack file's name and required flag, enums with the Literals' values, and a schema the Pulumi
SDK's analyzer infers with the same keys and descriptions as docs/configuration.md.

No `from __future__ import annotations` here: the analyzer reads the test component's
annotations as they are, and needs types, not strings.
"""

import inspect
import json
import subprocess
import sys
import typing
from enum import Enum
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, TypedDict

import pulumi
import pytest
from pulumi.provider.experimental.analyzer import Analyzer, PropertyType
from pulumi.provider.experimental.util import camel_case
from pydantic import BaseModel, Field
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from cli import offline, reference
from components import config as config_module
from components.package import model_settings, settings, settings_codegen
from components.package.model_settings import ModelSettings
from components.package.settings import TrainingQueueSettings
from components.platform.config_types import ConfigModel
from components.platform.model_config import ModelConfig

PROJECT_DIR = Path(__file__).resolve().parents[2]
COVERED = settings_codegen.covered_models()
NAMES = settings_codegen.settings_names()
GENERATED_MODULES = (model_settings, settings)


def _generated(name: str) -> Any:
    """A generated class, from whichever module holds it."""
    return next(getattr(m, name) for m in GENERATED_MODULES if hasattr(m, name))


def _defined() -> dict[str, Any]:
    """Every class the generated modules define (not import)."""
    return {
        name: value
        for module in GENERATED_MODULES
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    }


def _typed_dict(model: type[BaseModel]) -> Any:
    return _generated(NAMES[model])


def _fields() -> list[tuple[type[BaseModel], str, FieldInfo]]:
    return [(model, name, info) for model in COVERED for name, info in model.model_fields.items()]


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        values = _literal_values(arg)
        if values is not None:
            return values
    return None


def _enum_in(hint: Any) -> type[Enum] | None:
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    for arg in typing.get_args(hint):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


def _generated_enums() -> list[type[Enum]]:
    return [value for value in _defined().values() if issubclass(value, Enum)]


def _expected_docstring(info: FieldInfo) -> str:
    """The field's description and its default, as the config reference renders them."""
    nested, _ = reference._nested_model(info.annotation)
    description = info.description or (nested.__doc__ if nested else "") or ""
    default = reference._default(info)
    if default in {"required", "unset", "see below"}:
        return description
    return f"{description} Default: {default}."


def _summary(doc: str | None) -> str:
    return " ".join(inspect.cleandoc(doc or "").split("\n\n", 1)[0].split())


# ---------------------------------------------------------------------------------------------
# The committed module


@pytest.mark.parametrize("module", settings_codegen.MODULES)
def test_committed_module_is_what_the_generator_renders(module: str) -> None:
    committed = (PROJECT_DIR / module).read_text(encoding="utf-8")
    assert committed == settings_codegen.render(module), (
        f"{module} differs from the config models; regenerate it: {settings_codegen.REGENERATE}"
    )


def test_the_two_modules_split_the_models_between_them() -> None:
    """A model's settings in one module, the features' in the other, each defined once."""
    model_part = settings_codegen.render(settings_codegen.MODEL_SETTINGS_FILE)
    stack_part = settings_codegen.render(settings_codegen.SETTINGS_FILE)
    for name in NAMES.values():
        defined = [f"class {name}(" in part for part in (model_part, stack_part)]
        assert defined.count(True) == 1, name
    assert "class ModelSettings(" in model_part
    assert "class SpendGuardrailsSettings(" in stack_part


def _ruff(*args: str, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own ruff, on our own source
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", settings_codegen.SETTINGS_FILE],
        input=source,
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        check=False,
    )


def test_generated_module_is_ruff_formatted_and_clean() -> None:
    source = settings_codegen.render()
    formatted = _ruff("format", source=source)
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == source, "the generator's output is not as `ruff format` writes it"
    lint = _ruff("check", "--no-cache", source=source)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_update_writes_only_when_the_module_differs(tmp_path: Path) -> None:
    target = tmp_path / "settings.py"
    target.write_text("stale\n", encoding="utf-8")
    assert settings_codegen.update(target) is True
    assert target.read_text(encoding="utf-8") == settings_codegen.render()
    assert settings_codegen.update(target) is False
    assert settings_codegen.main(["--check", str(target)]) == 0


# ---------------------------------------------------------------------------------------------
# One TypedDict per model, one key per field


def test_every_listed_model_and_every_model_they_hold_is_covered() -> None:
    assert set(settings_codegen.ROOTS) <= set(COVERED)
    for model, name, info in _fields():
        nested, _ = reference._nested_model(info.annotation)
        if nested is not None:
            assert nested in COVERED, f"{model.__name__}.{name} holds {nested.__name__}"
            # defined before it is used: the analyzer needs no forward reference
            assert COVERED.index(nested) < COVERED.index(model)
    generated = {name for name, value in _defined().items() if typing.is_typeddict(value)}
    assert generated == set(NAMES.values())
    assert NAMES[ModelConfig] == "ModelSettings"


def test_every_field_is_a_key_with_its_required_flag() -> None:
    for model in COVERED:
        typed_dict = _typed_dict(model)
        keys = [settings_codegen.settings_key(model, name) for name in model.model_fields]
        assert list(typed_dict.__annotations__) == keys, model.__name__
        required = {
            settings_codegen.settings_key(model, name)
            for name, info in model.model_fields.items()
            if info.is_required()
        }
        assert typed_dict.__required_keys__ == required, model.__name__
        assert typed_dict.__optional_keys__ == set(keys) - required, model.__name__


def test_keys_camel_case_to_the_stack_files_keys() -> None:
    """The analyzer names a key `camel_case(key)`; the facades turn keys back into the stack
    file's with pydantic's `to_camel`: both must give the field's alias."""
    renamed = set()
    for model, name, info in _fields():
        key = settings_codegen.settings_key(model, name)
        assert camel_case(key) == info.alias, f"{model.__name__}.{name}"
        assert to_camel(key) == info.alias, f"{model.__name__}.{name}"
        if key != name:
            renamed.add((model, name))
    # a key differs from its field only where camel_case and to_camel disagree on the field
    assert renamed == set(settings_codegen.KEY_OVERRIDES)
    for model, name in renamed:
        assert camel_case(name) != model.model_fields[name].alias


def test_enums_carry_exactly_the_literals_values() -> None:
    enums_used: list[type[Enum]] = []
    for model, name, info in _fields():
        values = _literal_values(info.annotation)
        hints = typing.get_type_hints(_typed_dict(model), include_extras=True)
        enum = _enum_in(hints[settings_codegen.settings_key(model, name)])
        if values is None:
            assert enum is None, f"{model.__name__}.{name}"
            continue
        assert enum is not None, f"{model.__name__}.{name} is a Literal but has no enum"
        assert [member.value for member in enum] == list(values)
        assert all(isinstance(member, str) for member in enum)
        assert all(member.name == member.name.upper() for member in enum)
        enums_used.append(enum)
    assert sorted(enums_used, key=str) == sorted(_generated_enums(), key=str)  # one per field
    assert model_settings.EvaluationComparison.GREATER_THAN_OR_EQUAL_TO == "GreaterThanOrEqualTo"


def test_docstrings_are_the_config_references() -> None:
    for model in COVERED:
        assert _summary(_typed_dict(model).__doc__) == _summary(model.__doc__)


# ---------------------------------------------------------------------------------------------
# Round trip: a TypedDict value is stack config


def _unrequired(hint: Any) -> Any:
    while typing.get_origin(hint) in (Required, NotRequired):
        hint = typing.get_args(hint)[0]
    return hint


def _from_stack(value: Any, hint: Any) -> Any:
    """Stack config (camelCase keys, strings) as the TypedDict's value (snake_case keys, enum
    members); map keys (model names, hyperparameters, event patterns) stay as they are."""
    hint = _unrequired(hint)
    if typing.is_typeddict(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        keys = {camel_case(key): key for key in hints}
        return {keys[alias]: _from_stack(item, hints[keys[alias]]) for alias, item in value.items()}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return [_from_stack(item, args[0]) for item in value]
    if origin is dict:
        return {key: _from_stack(item, args[1]) for key, item in value.items()}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    return value


def _to_stack(value: Any, hint: Any) -> Any:
    """The TypedDict's value with camelCase keys, as the analyzer names them."""
    hint = _unrequired(hint)
    if typing.is_typeddict(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        return {camel_case(key): _to_stack(item, hints[key]) for key, item in value.items()}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return [_to_stack(item, args[0]) for item in value]
    if origin is dict:
        return {key: _to_stack(item, args[1]) for key, item in value.items()}
    return value


def test_prod_churn_round_trips_through_model_settings() -> None:
    stack = offline.stack_config("prod")
    churn = json.loads(stack["trainops:models"])["churn"]
    value: ModelSettings = _from_stack(churn, ModelSettings)
    assert value["instance_type"] == "ml.m5.2xlarge"
    assert value["register_model"] == {"enabled": True}
    assert value["hyperparameters"] == {"epochs": "40", "learning_rate": "0.05"}
    assert value["evaluation"]["held_out_data"] == "s3://example-ml-data/churn/holdout/"
    assert value["endpoint"]["blue_green"]["traffic_routing"] is (
        model_settings.BlueGreenTrafficRouting.ALL_AT_ONCE
    )
    validated = ModelConfig.model_validate(_to_stack(value, ModelSettings))
    assert validated == config_module.parse(stack).models["churn"]


# ---------------------------------------------------------------------------------------------
# The analyzer


class TinyArgs(TypedDict):
    model: ModelSettings
    """One model."""
    queue: TrainingQueueSettings
    """The training queue."""


class TinyPackage(pulumi.ComponentResource):
    """A component whose Args are generated settings."""

    def __init__(
        self, name: str, args: TinyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:index:TinyPackage", name, {}, opts)


class EverySettingArgs(TypedDict, total=False):
    model: ModelSettings
    monitoring: settings.MonitoringSettings
    scheduled_retraining: settings.ScheduledRetrainingSettings
    training_queue: TrainingQueueSettings
    maintenance_window: settings.MaintenanceWindowSettings
    event_sourcing: settings.EventSourcingSettings
    artifacts: settings.ArtifactsSettings
    access_logs: settings.AccessLogsSettings
    quality_retraining: settings.QualityRetrainingSettings
    approval_deployment: settings.ApprovalDeploymentSettings
    spend_guardrails: settings.SpendGuardrailsSettings


class EverySetting(pulumi.ComponentResource):
    """A component that takes every root config as Args."""

    def __init__(
        self, name: str, args: EverySettingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:index:EverySetting", name, {}, opts)


def test_the_analyzer_infers_the_model_settings() -> None:
    result = Analyzer("trainops").analyze([TinyPackage])
    component = result["component_definitions"]["TinyPackage"]
    assert component.inputs["model"].ref == "#/types/trainops:index:ModelSettings"
    assert component.inputs["queue"].ref == "#/types/trainops:index:TrainingQueueSettings"

    types = result["type_definitions"]
    model = types["ModelSettings"]
    assert model.description == ModelSettings.__doc__
    properties = model.properties
    assert properties["instanceType"].type is PropertyType.STRING
    assert properties["instanceType"].optional is True
    assert properties["instanceType"].description == (
        "SageMaker training instance type (`ml.*`). Default: `ml.m5.xlarge`."
    )
    assert properties["image"].optional is False
    assert properties["maxRuntimeMinutes"].type is PropertyType.INTEGER
    assert properties["maxRuntimeMinutes"].description == (
        "Hard stop for one training job (SageMaker allows up to 28 days). Default: `240`."
    )
    assert properties["registerModel"].ref == "#/types/trainops:index:RegisterModelSettings"
    assert properties["registerModel"].description == (
        "Registration of each trained model in a SageMaker Model Package Group."
    )
    assert properties["hyperparameters"].additional_properties is not None
    assert properties["hyperparameters"].additional_properties.type is PropertyType.STRING
    event_patterns = types["QualityRetrainingModelSettings"].properties["eventPatterns"]
    assert event_patterns.items is not None
    assert event_patterns.items.additional_properties is not None
    assert event_patterns.items.additional_properties.ref == "pulumi.json#/Any"
    assert "errors5XxThreshold" in types["EndpointSettings"].properties

    comparison = types["EvaluationSettings"].properties["comparison"]
    assert comparison.ref == "#/types/trainops:index:EvaluationComparison"
    enum = types["EvaluationComparison"]
    assert enum.type is PropertyType.STRING
    assert enum.enum is not None
    assert [(value.name, value.value) for value in enum.enum] == [
        ("GREATER_THAN_OR_EQUAL_TO", "GreaterThanOrEqualTo"),
        ("LESS_THAN_OR_EQUAL_TO", "LessThanOrEqualTo"),
    ]
    assert types["TrainingQueueSettings"].properties["maxConcurrentTrainings"].description == (
        "Pipeline executions allowed to run at once across the platform. Default: `4`."
    )


def test_the_analyzer_schema_has_every_key_flag_and_description_of_the_stack_file() -> None:
    types = Analyzer("trainops").analyze([EverySetting])["type_definitions"]
    for model in COVERED:
        definition = types[NAMES[model]]
        assert definition.type is PropertyType.OBJECT
        assert definition.description == _typed_dict(model).__doc__
        properties = definition.properties
        assert set(properties) == {info.alias for info in model.model_fields.values()}
        for name, info in model.model_fields.items():
            assert info.alias is not None
            prop = properties[info.alias]
            where = f"{model.__name__}.{name}"
            assert prop.optional is (not info.is_required()), where
            assert prop.description == _expected_docstring(info), where
            assert definition.properties_mapping[info.alias] == settings_codegen.settings_key(
                model, name
            )
    for enum in _generated_enums():
        definition = types[enum.__name__]
        assert definition.enum is not None
        assert [item.value for item in definition.enum] == [member.value for member in enum]


# ---------------------------------------------------------------------------------------------
# Generation fails loudly


class _BadAliasConfig(ConfigModel):
    """A model whose alias the analyzer could not produce."""

    retries: int = Field(default=1, alias="retryCount", description="Retries.")


class _UnionConfig(ConfigModel):
    """A model with a field no schema type describes."""

    size: int | str = Field(default=1, description="A number or a name.")


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        (_BadAliasConfig, "the stack file names it retryCount"),
        (_UnionConfig, "schemas have no union types"),
    ],
)
def test_generation_fails_on_a_field_it_cannot_map(
    monkeypatch: pytest.MonkeyPatch, model: type[BaseModel], problem: str
) -> None:
    monkeypatch.setattr(settings_codegen, "ROOTS", (model,))
    with pytest.raises(settings_codegen.UnmappableFieldError, match=problem):
        settings_codegen.render()
