"""What the functions read from their environment, declared once for both sides.

Each variable has one name and one default here: handlers read it through `Variable`, and the
components set it by the same object (`settings.DLQ_URL.name`), so neither can drift from the
other. `HANDLERS` says which variables each handler reads (its own and those of the modules it
uses) and which of them it cannot run without; `PythonFunction` refuses an environment that
sets one its handler does not read or leaves out one it requires, and `tests/test_settings.py`
checks the declaration against the code of each handler. An empty value is a value (only an
unset variable takes the default), as `os.environ` has it.

Standard library only: the Pulumi program imports this module too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True)
class Variable:
    """One environment variable a function reads."""

    name: str
    # What the handler uses when the variable is unset; None: nothing (optional features).
    default: str | None = None

    def read(self) -> str | None:
        """The value (empty if set empty), or the default when the variable is unset."""
        return os.environ.get(self.name, self.default)

    def require(self) -> str:
        """The value, or the default; a clear error naming the variable when it has neither."""
        value = self.read()
        if value is None:
            raise KeyError(self.name)  # as os.environ[...] says it
        return value


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
# The queue worker.
MAX_CONCURRENT_TRAININGS = Variable("TRAINOPS_MAX_CONCURRENT_TRAININGS")
DLQ_URL = Variable("TRAINOPS_DLQ_URL")
BACKOFF_BASE_SECONDS = Variable("TRAINOPS_BACKOFF_BASE_SECONDS", default="30")
BACKOFF_MAX_SECONDS = Variable("TRAINOPS_BACKOFF_MAX_SECONDS", default="900")
# The outcome handler.
MAX_ATTEMPTS = Variable("TRAINOPS_MAX_ATTEMPTS", default="3")
CRITICAL_TOPIC_ARN = Variable("TRAINOPS_CRITICAL_TOPIC_ARN")
SUCCESS_TOPIC_ARN = Variable("TRAINOPS_SUCCESS_TOPIC_ARN")
# The scheduled start.
NOTIFY_TOPIC_ARN = Variable("TRAINOPS_NOTIFY_TOPIC_ARN")
# The stall detector.
OVERRUN_FRACTION = Variable("TRAINOPS_OVERRUN_FRACTION", default="0.8")
STALLED_AFTER_MINUTES = Variable("TRAINOPS_STALLED_AFTER_MINUTES", default="60")
# The maintenance stopper.
MAINTENANCE_WINDOW_ID = Variable("TRAINOPS_MAINTENANCE_WINDOW_ID")
GUARD_ALARM_NAME = Variable("TRAINOPS_GUARD_ALARM_NAME")

_EVERY_FUNCTION = (STACK, CATALOG_FILE)


@dataclass(frozen=True)
class Reads:
    """The variables one handler reads: those it cannot run without, and the others."""

    required: tuple[Variable, ...] = ()
    optional: tuple[Variable, ...] = ()

    @property
    def all(self) -> tuple[Variable, ...]:
        return (*_EVERY_FUNCTION, *self.required, *self.optional)


# handler module -> what it reads (directly or through the modules it uses)
HANDLERS: Mapping[str, Reads] = {
    "queue_worker": Reads(
        required=(MAX_CONCURRENT_TRAININGS, DLQ_URL, TRAINING_QUEUE_URL, SLOTS_TABLE),
        optional=(BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS, EVENT_BUS),
    ),
    "training_outcome": Reads(
        optional=(
            MAX_ATTEMPTS,
            TRAINING_QUEUE_URL,
            CRITICAL_TOPIC_ARN,
            SUCCESS_TOPIC_ARN,
            SLOTS_TABLE,
            EVENT_BUS,
        ),
    ),
    "start_retraining": Reads(optional=(NOTIFY_TOPIC_ARN, SLOTS_TABLE, EVENT_BUS)),
    "stall_detector": Reads(optional=(OVERRUN_FRACTION, STALLED_AFTER_MINUTES, SLOTS_TABLE)),
    "slot_keeper": Reads(required=(SLOTS_TABLE,)),
    "stop_maintenance": Reads(required=(MAINTENANCE_WINDOW_ID, GUARD_ALARM_NAME)),
    "recorder": Reads(required=(EVENT_TABLE,)),
    "projector": Reads(required=(EVENT_TABLE, READ_MODEL_TABLE)),
}


def default_of(variable: Variable, kind: Callable[[str], _T]) -> _T:
    """``variable``'s default as ``kind``: the stack config's default for the setting it
    carries is this same value, so the two cannot drift."""
    if variable.default is None:
        raise ValueError(f"{variable.name} has no default")
    return kind(variable.default)


PREFIX = "TRAINOPS_"


def environment_problems(handler_module: str, names: set[str]) -> list[str]:
    """What is wrong with giving a function of ``handler_module`` the variables ``names``
    (only trainops' own, `TRAINOPS_*`, are checked): each problem as one sentence."""
    reads = HANDLERS.get(handler_module, Reads())  # e.g. a caller's own handler
    known = {variable.name for variable in reads.all}
    problems = [
        f"{name} is not read by {handler_module} (declare it in settings.HANDLERS, or drop it)"
        for name in sorted(names)
        if name.startswith(PREFIX) and name not in known
    ]
    problems += [
        f"{variable.name} is required by {handler_module} and not set"
        for variable in reads.required
        if variable.name not in names
    ]
    return problems
