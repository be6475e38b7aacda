"""Function environments: one declaration (`trainops_runtime.settings`) for handlers and
components, checked against the handlers' code and enforced on every function built."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from cli import offline
from components.platform import iam
from components.platform.context import PlatformContext
from components.platform.lambda_function import LAMBDA_DIR, PythonFunction, PythonFunctionArgs
from trainops_runtime import catalog, settings

PACKAGE_DIR = LAMBDA_DIR / "trainops_runtime"


def _path(module: str) -> Path:
    """``module`` (dotted, relative to the package, e.g. `handlers.queue_worker`) on disk."""
    return PACKAGE_DIR.joinpath(*module.split(".")).with_suffix(".py")


def _module(name: str) -> ast.Module:
    return ast.parse(_path(name).read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> set[str]:
    """The trainops_runtime modules a module imports, however it names them."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
            "trainops_runtime"
        ):
            continue
        package = (node.module or "").removeprefix("trainops_runtime").lstrip(".")
        found.add(package)  # `from trainops_runtime.adapters.slots import X`
        # `from trainops_runtime[.adapters] import slots`
        found.update(".".join(filter(None, [package, alias.name])) for alias in node.names)
    return {name for name in found if name and _path(name).exists()}


def _variables_read(tree: ast.Module) -> set[str]:
    """Names of the `settings.X` variables a module refers to (under any alias of `settings`)."""
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "trainops_runtime"
        for alias in node.names
        if alias.name == "settings"
    }
    declared = {
        name for name, value in vars(settings).items() if isinstance(value, settings.Variable)
    }
    through_module = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and node.attr in declared
    }
    imported = {  # `from trainops_runtime.settings import SLOTS_TABLE`
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "trainops_runtime.settings"
        for alias in node.names
        if alias.name in declared
    }
    return through_module | imported


def reads(handler: str) -> set[str]:
    """Every variable ``handler``'s code may read: its own and its imports', transitively."""
    seen, todo, found = set(), [f"handlers.{handler}"], set()
    while todo:
        name = todo.pop()
        if name in seen or name == "settings":
            continue
        seen.add(name)
        tree = _module(name)
        found |= _variables_read(tree)
        todo.extend(_imports(tree))
    return {getattr(settings, name).name for name in found}


@pytest.mark.parametrize("handler", sorted(settings.HANDLERS))
def test_a_handler_declares_every_variable_its_code_reads(handler: str) -> None:
    declared = {variable.name for variable in settings.HANDLERS[handler].reads().all}
    assert reads(handler) - declared == set()


@pytest.mark.parametrize("handler", sorted(settings.HANDLERS))
def test_a_handler_reads_its_own_settings_class(handler: str) -> None:
    """The handler's code names its class (`XSettings.from_environment()`), so the class is
    what it reads, not a copy of it."""
    cls = settings.HANDLERS[handler]
    names = {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in ast.walk(_module(f"handlers.{handler}"))
        if isinstance(node, ast.Name | ast.Attribute)
    }
    assert cls.__name__ in names
    assert {other.__name__ for other in settings.HANDLERS.values()} & names == {cls.__name__}


def test_every_handler_module_is_declared() -> None:
    handlers = {
        path.stem
        for path in PACKAGE_DIR.rglob("*.py")
        if any(
            isinstance(node, ast.FunctionDef) and node.name == "handler"
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        )
    }
    assert handlers == set(settings.HANDLERS)


def test_the_reader_follows_imports() -> None:
    """The check above is only as good as its reader: every handler reads the stack's name
    through `observability` and the catalog's path through `catalog`, not in its own code."""
    assert {"TRAINOPS_STACK", "TRAINOPS_CATALOG_FILE"} <= reads("queue_worker")
    assert "TRAINOPS_CATALOG_FILE" not in reads("stop_maintenance")  # it loads no catalog


# What reads the environment itself: the settings classes, and the two variables every function
# has (the stack's name for metrics, the catalog's path for local runs).
READS_THE_ENVIRONMENT = {"settings", "observability", "catalog"}


def _environment_reads(tree: ast.Module) -> set[str]:
    """What a module reads from the environment itself: `<Variable>.read()` calls (by the
    variable's name in `settings`), and `os.environ` / `os.getenv` as "os.environ"."""
    declared = {
        name for name, value in vars(settings).items() if isinstance(value, settings.Variable)
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            found.add("os.environ")
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "read"
        ):
            continue
        target = node.func.value
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in declared:
            found.add(name)
    return found


def test_nothing_else_reads_the_environment() -> None:
    """Adapters and domain code get tables, queues, topics and the bus from their handler's
    settings: outside `settings` itself, only `observability` (the stack's name, for metrics)
    and `catalog` (the catalog's path, for local runs) read the environment, each its one
    variable every function has."""
    readers = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if found := _environment_reads(ast.parse(path.read_text(encoding="utf-8"))):
            readers[module] = found
    readers.pop("settings")
    assert readers == {"observability": {"STACK"}, "catalog": {"CATALOG_FILE"}}


def test_settings_go_out_as_the_environment_and_come_back(monkeypatch) -> None:
    """What a component builds is what its handler reads: numbers as text and back, unset
    optional fields left out, and the defaults of the fields not given."""
    sent = settings.QueueWorkerSettings(
        max_concurrent_trainings=4, dlq_url="dlq", training_queue_url="queue", slots_table="t"
    )
    environment = sent.environment()
    assert environment == {
        "TRAINOPS_MAX_CONCURRENT_TRAININGS": "4",
        "TRAINOPS_DLQ_URL": "dlq",
        "TRAINOPS_TRAINING_QUEUE_URL": "queue",
        "TRAINOPS_SLOTS_TABLE": "t",
        "TRAINOPS_BACKOFF_BASE_SECONDS": "30",
        "TRAINOPS_BACKOFF_MAX_SECONDS": "900",
    }
    for name in list(os.environ):
        if name.startswith(settings.PREFIX):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert settings.QueueWorkerSettings[str].from_environment() == sent
    monkeypatch.delenv("TRAINOPS_BACKOFF_BASE_SECONDS")
    assert settings.QueueWorkerSettings[str].from_environment().backoff_base_seconds == 30
    monkeypatch.setenv("TRAINOPS_OVERRUN_FRACTION", "0.5")
    assert settings.StallDetectorSettings[str].from_environment().overrun_fraction == 0.5


def test_a_required_variable_unset_is_named(monkeypatch) -> None:
    monkeypatch.setenv("TRAINOPS_MAINTENANCE_WINDOW_ID", "mw-1")
    monkeypatch.delenv("TRAINOPS_GUARD_ALARM_NAME", raising=False)
    with pytest.raises(
        settings.SettingsError,
        match="stop_maintenance is misconfigured: TRAINOPS_GUARD_ALARM_NAME is not set",
    ):
        settings.StopMaintenanceSettings[str].from_environment()


def test_an_empty_value_is_a_value_as_os_environ_has_it(monkeypatch) -> None:
    """Only an unset variable takes the default: an empty one is what the handler gets, so a
    misconfigured number still fails loudly instead of quietly becoming the default."""
    monkeypatch.setenv("TRAINOPS_MAX_ATTEMPTS", "")
    with pytest.raises(settings.SettingsError, match="TRAINOPS_MAX_ATTEMPTS='' is not an int"):
        settings.TrainingOutcomeSettings[str].from_environment()
    monkeypatch.setenv("TRAINOPS_SLOTS_TABLE", "")
    monkeypatch.setenv("TRAINOPS_MAX_ATTEMPTS", "2")
    assert settings.TrainingOutcomeSettings[str].from_environment().slots_table == ""


def test_a_required_variable_set_empty_is_named(monkeypatch) -> None:
    """A required table or URL set to nothing fails here, by name, rather than deep inside
    botocore; an optional one set empty means the feature is off."""
    monkeypatch.setenv("TRAINOPS_EVENT_TABLE", "")
    with pytest.raises(settings.SettingsError, match="TRAINOPS_EVENT_TABLE is empty"):
        settings.RecorderSettings[str].from_environment()
    monkeypatch.setenv("TRAINOPS_NOTIFY_TOPIC_ARN", "")
    assert settings.StartRetrainingSettings[str].from_environment().notify_topic_arn == ""


def test_required_and_optional_follow_the_defaults() -> None:
    reads_ = settings.TrainingOutcomeSettings.reads()
    assert reads_.required == ()
    assert settings.SlotKeeperSettings.reads().required == (settings.SLOTS_TABLE,)
    assert settings.QueueWorkerSettings.default("backoff_max_seconds") == 900
    with pytest.raises(KeyError, match="dlq_url has no default"):
        settings.QueueWorkerSettings.default("dlq_url")


def test_the_stack_config_defaults_are_the_handlers() -> None:
    """One default: the config models take theirs from the settings classes."""
    from components.monitoring.config import MonitoringConfig
    from components.training_queue.config import TrainingQueueConfig

    queue = TrainingQueueConfig(enabled=True)
    assert queue.backoff_base_seconds == settings.QueueWorkerSettings.default(
        "backoff_base_seconds"
    )
    assert queue.max_attempts == settings.TrainingOutcomeSettings.default("max_attempts")
    monitoring = MonitoringConfig()
    assert monitoring.overrun_fraction == settings.StallDetectorSettings.default("overrun_fraction")


CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="us-east-1")


def _build(
    handler: str,
    environment: dict[str, str] | None = None,
    handler_settings: settings.HandlerSettings | None = None,
) -> None:
    environment = environment or {}

    def program() -> None:
        PythonFunction(
            "f",
            PythonFunctionArgs(
                handler=f"trainops_runtime.handlers.{handler}.handler",
                description="f",
                platform=PlatformContext(
                    ctx=CTX,
                    key_arn="arn:aws:kms:us-east-1:1:key/k",
                    log_retention_days=7,
                    powertools_layer_version=27,
                ),
                memory_mb=128,
                timeout_seconds=10,
                reserved_concurrency=1,
                settings=handler_settings,
                environment=environment,
            ),
        )

    offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)


def test_a_function_is_refused_trainops_variables_outside_its_settings() -> None:
    with pytest.raises(Exception, match="TRAINOPS_DLQ_URL: trainops' own variables come from"):
        _build("slot_keeper", {"TRAINOPS_DLQ_URL": "https://queue", "MY_OWN": "x"})


def test_a_function_is_refused_without_a_variable_its_handler_requires() -> None:
    with pytest.raises(
        Exception, match="TRAINOPS_GUARD_ALARM_NAME is required by stop_maintenance"
    ):
        _build("stop_maintenance")


def test_a_function_is_refused_another_handlers_settings() -> None:
    with pytest.raises(Exception, match="are recorder's settings, not projector's"):
        _build("projector", handler_settings=settings.RecorderSettings(event_table="events"))


def test_every_function_of_both_stacks_gets_what_its_handler_reads() -> None:
    for stack in ("dev", "prod"):
        functions = offline.run_program(stack).of_type("aws:lambda/function:Function")
        assert len(functions) >= 5
        for function in functions:
            module = function.inputs["handler"].rsplit(".", 1)[0].split(".")[-1]
            names = set(function.inputs["environment"]["variables"])
            assert settings.environment_problems(module, names) == [], function.name
            shipped = catalog.ARCHIVE_PATH in function.inputs["code"].assets
            assert shipped is settings.HANDLERS[module].reads_catalog, function.name


@pytest.mark.parametrize("handler", sorted(settings.HANDLERS))
def test_a_handler_is_shipped_the_catalog_exactly_when_it_loads_it(handler: str) -> None:
    loads = "catalog" in _imports(_module(f"handlers.{handler}"))
    assert settings.HANDLERS[handler].reads_catalog is loads


def test_a_settings_class_names_its_handler() -> None:
    assert settings.ProjectorSettings.handler() == "trainops_runtime.handlers.projector.handler"
    function = PythonFunctionArgs(
        description="f",
        platform=PlatformContext(
            ctx=CTX, key_arn="k", log_retention_days=7, powertools_layer_version=27
        ),
        memory_mb=128,
        timeout_seconds=10,
        reserved_concurrency=1,
    )
    with pytest.raises(ValueError, match="needs a handler, or settings whose class names one"):
        function.entry_point()
