"""What the functions read from their environment, declared once for both sides.

Each variable has one name here (`Variable`), and each handler one settings class
(`QueueWorkerSettings`, ...) that says which variables it reads, which it cannot run without, and
the defaults of the others. The component builds the function's environment with that class
(`QueueWorkerSettings(dlq_url=queue.url, ...).environment()`), the handler reads it back with
the same class (`QueueWorkerSettings.from_environment()`), and the stack config takes its
defaults from it (`QueueWorkerSettings.default("backoff_base_seconds")`), so a name, a type or a
default cannot drift between the three. `PythonFunction` refuses settings of another handler's
class, and `tests/test_settings.py` checks that no code reads a variable its handler's class
does not declare (only the two every function has, the stack and the catalog path, are read
directly, by `observability` and `catalog`).
An empty value is a value (only an unset variable takes the default), as `os.environ` has it;
a required one must not be empty.

Standard library only: the Pulumi program imports this module too.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar, dataclass_transform

# Where the handler modules live; a settings class names one of them.
HANDLER_PACKAGE = "trainops_runtime.handlers"

# A resource name or ARN: `str` in the function; in the Pulumi program, whatever the component
# passes (an `Output[str]` of a resource created in the same run).
Text = TypeVar("Text")


@dataclass(frozen=True)
class Variable:
    """One environment variable a function reads."""

    name: str
    # What the handler uses when the variable is unset; None: nothing (optional features).
    default: str | None = None

    def read(self) -> str | None:
        """The value (empty if set empty), or the default when the variable is unset."""
        return os.environ.get(self.name, self.default)


# Every function (set by PythonFunction).
STACK = Variable("TRAINOPS_STACK", default="unknown")
# Test and local runs only: the model catalog's path (deployed code carries it beside itself).
CATALOG_FILE = Variable("TRAINOPS_CATALOG_FILE")
# Shared resources, set when their feature is on.
EVENT_BUS = Variable("TRAINOPS_EVENT_BUS")
SLOTS_TABLE = Variable("TRAINOPS_SLOTS_TABLE")
EVENT_TABLE = Variable("TRAINOPS_EVENT_TABLE")
READ_MODEL_TABLE = Variable("TRAINOPS_READ_MODEL_TABLE")
TRAINING_QUEUE_URL = Variable("TRAINOPS_TRAINING_QUEUE_URL")
CRITICAL_TOPIC_ARN = Variable("TRAINOPS_CRITICAL_TOPIC_ARN")
SUCCESS_TOPIC_ARN = Variable("TRAINOPS_SUCCESS_TOPIC_ARN")
NOTIFY_TOPIC_ARN = Variable("TRAINOPS_NOTIFY_TOPIC_ARN")
WARNING_TOPIC_ARN = Variable("TRAINOPS_WARNING_TOPIC_ARN")
# One handler's own (its settings class holds the default).
MAX_CONCURRENT_TRAININGS = Variable("TRAINOPS_MAX_CONCURRENT_TRAININGS")
DLQ_URL = Variable("TRAINOPS_DLQ_URL")
BACKOFF_BASE_SECONDS = Variable("TRAINOPS_BACKOFF_BASE_SECONDS")
BACKOFF_MAX_SECONDS = Variable("TRAINOPS_BACKOFF_MAX_SECONDS")
MAX_ATTEMPTS = Variable("TRAINOPS_MAX_ATTEMPTS")
OVERRUN_FRACTION = Variable("TRAINOPS_OVERRUN_FRACTION")
STALLED_AFTER_MINUTES = Variable("TRAINOPS_STALLED_AFTER_MINUTES")
MAINTENANCE_WINDOW_ID = Variable("TRAINOPS_MAINTENANCE_WINDOW_ID")
GUARD_ALARM_NAME = Variable("TRAINOPS_GUARD_ALARM_NAME")
QUALITY_LEDGER_TABLE = Variable("TRAINOPS_QUALITY_LEDGER_TABLE")
QUALITY_ALARM_PREFIX = Variable("TRAINOPS_QUALITY_ALARM_PREFIX")
COOLDOWN_MINUTES = Variable("TRAINOPS_COOLDOWN_MINUTES")
MAX_PER_DAY = Variable("TRAINOPS_MAX_PER_DAY")
DEPLOYMENT_LEDGER_TABLE = Variable("TRAINOPS_DEPLOYMENT_LEDGER_TABLE")

_EVERY_FUNCTION = (STACK, CATALOG_FILE)
_VARIABLE = "trainops.variable"


class SettingsError(RuntimeError):
    """A function's environment is not what its settings class declares (a deployment bug:
    the invocation fails loudly, and its Errors alarm fires)."""


def setting(variable: Variable, *, default: Any = dataclasses.MISSING) -> Any:
    """A settings field carried by ``variable``; without ``default`` the handler cannot run
    without it (`None` as the default: an optional feature, off when unset)."""
    return dataclasses.field(default=default, metadata={_VARIABLE: variable})


@dataclass(frozen=True)
class Reads:
    """The variables one handler reads: those it cannot run without, and the others."""

    required: tuple[Variable, ...] = ()
    optional: tuple[Variable, ...] = ()

    @property
    def all(self) -> tuple[Variable, ...]:
        return (*_EVERY_FUNCTION, *self.required, *self.optional)


@dataclass(frozen=True)
class _Declared:
    """One field of a settings class: its name, default (`dataclasses.MISSING`: required) and
    variable."""

    name: str
    default: Any
    variable: Variable


@dataclass_transform(frozen_default=True, field_specifiers=(setting,))
class HandlerSettings:
    """What one handler reads. A subclass names its handler module (``module=``), says whether
    the handler loads the model catalog (``reads_catalog=``, so that only those functions ship
    it), and declares each variable with `setting`; its instances are frozen, built from keyword
    arguments, and equal when their values are.

    Not a dataclass at run time (type checkers see one): making a dozen dataclasses cost 8 ms
    of every function's cold start, a twentieth of boto3's and Powertools' import."""

    module: ClassVar[str]
    reads_catalog: ClassVar[bool]
    _declared: ClassVar[tuple[_Declared, ...]] = ()

    def __init_subclass__(cls, *, module: str, reads_catalog: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.module = module
        cls.reads_catalog = reads_catalog
        declared = []
        for name, value in list(vars(cls).items()):
            if isinstance(value, dataclasses.Field) and _VARIABLE in value.metadata:
                declared.append(_Declared(name, value.default, value.metadata[_VARIABLE]))
                delattr(cls, name)
        cls._declared = (*cls._declared, *declared)

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - {field.name for field in self._declared})
        if unknown:
            raise TypeError(f"{type(self).__name__} has no setting {', '.join(unknown)}")
        for field in self._declared:
            if field.name in values:
                value = values[field.name]
            elif field.default is not dataclasses.MISSING:
                value = field.default
            else:
                raise TypeError(f"{type(self).__name__} needs {field.name}")
            object.__setattr__(self, field.name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, field.name) for field in self._declared)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{field.name}={getattr(self, field.name)!r}" for field in self._declared)
        return f"{type(self).__name__}({shown})"

    @classmethod
    def handler(cls) -> str:
        """The Lambda handler this class configures (the function's entry point)."""
        return f"{HANDLER_PACKAGE}.{cls.module}.handler"

    @classmethod
    def reads(cls) -> Reads:
        required = tuple(f.variable for f in cls._declared if f.default is dataclasses.MISSING)
        optional = tuple(f.variable for f in cls._declared if f.default is not dataclasses.MISSING)
        return Reads(required=required, optional=optional)

    @classmethod
    def default(cls, name: str) -> Any:
        """Field ``name``'s default (what the stack config defaults the setting to)."""
        for f in cls._declared:
            if f.name == name and f.default is not dataclasses.MISSING:
                return f.default
        raise KeyError(f"{cls.__name__}.{name} has no default")

    def environment(self) -> dict[str, Any]:
        """The function's variables: numbers as text, unset (None) fields left out."""
        return {
            f.variable.name: str(value) if isinstance(value, int | float) else value
            for f in self._declared
            if (value := getattr(self, f.name)) is not None
        }

    @classmethod
    def from_environment(cls) -> Self:
        """The settings this function was given; `SettingsError` names a variable that is
        required and unset, or not of its field's type."""
        kinds = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in cls._declared:
            variable = f.variable
            raw = os.environ.get(variable.name)
            required = f.default is dataclasses.MISSING
            if raw is None or (required and not raw):
                if required:
                    state = "not set" if raw is None else "empty"
                    raise SettingsError(
                        f"{cls.module} is misconfigured: {variable.name} is {state}"
                    )
                continue
            kind = kinds[f.name]
            try:
                values[f.name] = kind(raw) if kind in (int, float) else raw
            except ValueError:
                raise SettingsError(
                    f"{cls.module} is misconfigured: {variable.name}={raw!r} is not "
                    f"a{'n' if kind is int else ''} {kind.__name__}"
                ) from None
        return cls(**values)


class QueueWorkerSettings(
    HandlerSettings, Generic[Text], module="queue_worker", reads_catalog=True
):
    max_concurrent_trainings: int = setting(MAX_CONCURRENT_TRAININGS)
    dlq_url: Text = setting(DLQ_URL)
    training_queue_url: Text = setting(TRAINING_QUEUE_URL)
    slots_table: Text = setting(SLOTS_TABLE)
    backoff_base_seconds: int = setting(BACKOFF_BASE_SECONDS, default=30)
    backoff_max_seconds: int = setting(BACKOFF_MAX_SECONDS, default=900)
    event_bus: Text | None = setting(EVENT_BUS, default=None)
    # where a run refused over its cost cap is alerted (None: no monitoring, no alert)
    warning_topic_arn: Text | None = setting(WARNING_TOPIC_ARN, default=None)


class TrainingOutcomeSettings(
    HandlerSettings, Generic[Text], module="training_outcome", reads_catalog=True
):
    max_attempts: int = setting(MAX_ATTEMPTS, default=3)
    # None: no queue to retry through (a failure is final)
    training_queue_url: Text | None = setting(TRAINING_QUEUE_URL, default=None)
    critical_topic_arn: Text | None = setting(CRITICAL_TOPIC_ARN, default=None)
    success_topic_arn: Text | None = setting(SUCCESS_TOPIC_ARN, default=None)
    slots_table: Text | None = setting(SLOTS_TABLE, default=None)
    event_bus: Text | None = setting(EVENT_BUS, default=None)


class StartRetrainingSettings(
    HandlerSettings, Generic[Text], module="start_retraining", reads_catalog=True
):
    notify_topic_arn: Text | None = setting(NOTIFY_TOPIC_ARN, default=None)
    # None: no training queue; a tick asks SageMaker what runs instead
    slots_table: Text | None = setting(SLOTS_TABLE, default=None)
    event_bus: Text | None = setting(EVENT_BUS, default=None)
    # where a tick refused over its cost cap is alerted (None: no monitoring, no alert)
    warning_topic_arn: Text | None = setting(WARNING_TOPIC_ARN, default=None)


class StallDetectorSettings(
    HandlerSettings, Generic[Text], module="stall_detector", reads_catalog=True
):
    overrun_fraction: float = setting(OVERRUN_FRACTION, default=0.8)
    stalled_after_minutes: int = setting(STALLED_AFTER_MINUTES, default=60)
    slots_table: Text | None = setting(SLOTS_TABLE, default=None)


class SlotKeeperSettings(HandlerSettings, Generic[Text], module="slot_keeper", reads_catalog=True):
    slots_table: Text = setting(SLOTS_TABLE)


class StopMaintenanceSettings(HandlerSettings, Generic[Text], module="stop_maintenance"):
    maintenance_window_id: Text = setting(MAINTENANCE_WINDOW_ID)
    guard_alarm_name: Text = setting(GUARD_ALARM_NAME)


class RecorderSettings(HandlerSettings, Generic[Text], module="recorder", reads_catalog=True):
    event_table: Text = setting(EVENT_TABLE)


class ProjectorSettings(HandlerSettings, Generic[Text], module="projector"):
    event_table: Text = setting(EVENT_TABLE)
    read_model_table: Text = setting(READ_MODEL_TABLE)


class QualityTriggerSettings(
    HandlerSettings, Generic[Text], module="quality_trigger", reads_catalog=True
):
    training_queue_url: Text = setting(TRAINING_QUEUE_URL)
    # model -> its cooldown and today's count of quality retrains (one item per model)
    ledger_table: Text = setting(QUALITY_LEDGER_TABLE)
    # `trainops-<stack>--`: a quality alarm is named `<prefix><model>--quality...`
    alarm_prefix: Text = setting(QUALITY_ALARM_PREFIX)
    cooldown_minutes: int = setting(COOLDOWN_MINUTES, default=360)
    max_per_day: int = setting(MAX_PER_DAY, default=3)
    # where a tripped circuit breaker alerts
    critical_topic_arn: Text | None = setting(CRITICAL_TOPIC_ARN, default=None)
    event_bus: Text | None = setting(EVENT_BUS, default=None)


class DeployApprovedSettings(
    HandlerSettings, Generic[Text], module="deploy_approved", reads_catalog=True
):
    # model -> the deployment in flight (or the last one): what an endpoint's state change is
    # measured against (one item per model)
    ledger_table: Text = setting(DEPLOYMENT_LEDGER_TABLE)
    # where a rolled-back or failed deployment alerts
    critical_topic_arn: Text | None = setting(CRITICAL_TOPIC_ARN, default=None)
    event_bus: Text | None = setting(EVENT_BUS, default=None)


# handler module -> its settings class
HANDLERS: Mapping[str, type[HandlerSettings]] = {
    cls.module: cls for cls in HandlerSettings.__subclasses__()
}
if len(HANDLERS) != len(HandlerSettings.__subclasses__()):  # two classes for one handler
    raise TypeError(f"one settings class per handler: {HandlerSettings.__subclasses__()}")

PREFIX = "TRAINOPS_"


def environment_problems(handler_module: str, names: set[str]) -> list[str]:
    """What is wrong with giving a function of ``handler_module`` the variables ``names``
    (only trainops' own, `TRAINOPS_*`, are checked): each problem as one sentence."""
    declared = HANDLERS.get(handler_module)
    reads = declared.reads() if declared else Reads()  # e.g. a caller's own handler
    known = {variable.name for variable in reads.all}
    problems = [
        f"{name} is not read by {handler_module} (declare it in its settings class, or drop it)"
        for name in sorted(names)
        if name.startswith(PREFIX) and name not in known
    ]
    problems += [
        f"{variable.name} is required by {handler_module} and not set"
        for variable in reads.required
        if variable.name not in names
    ]
    return problems
