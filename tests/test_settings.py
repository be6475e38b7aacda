"""Function environments: one declaration (`trainops_runtime.settings`) for handlers and
components, checked against the handlers' code and enforced on every function built."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cli import offline
from components.platform import iam
from components.platform.context import PlatformContext
from components.platform.lambda_function import LAMBDA_DIR, PythonFunction, PythonFunctionArgs
from trainops_runtime import settings

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
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and node.attr in declared
    }


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
    declared = {variable.name for variable in settings.HANDLERS[handler].all}
    assert reads(handler) - declared == set()


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
    """The check above is only as good as its reader: the queue worker reads the slot table
    through `slots` and the bus through `domain_events`, neither in its own code."""
    assert {"TRAINOPS_SLOTS_TABLE", "TRAINOPS_EVENT_BUS"} <= reads("queue_worker")
    # and sees the worker's own reads, made under an alias of the module
    assert "TRAINOPS_DLQ_URL" in reads("queue_worker")


def test_a_default_is_used_when_unset_and_a_required_variable_is_named(monkeypatch) -> None:
    monkeypatch.delenv(settings.BACKOFF_BASE_SECONDS.name, raising=False)
    assert settings.BACKOFF_BASE_SECONDS.require() == "30"
    monkeypatch.setenv(settings.BACKOFF_BASE_SECONDS.name, "7")
    assert settings.BACKOFF_BASE_SECONDS.require() == "7"
    monkeypatch.delenv(settings.DLQ_URL.name, raising=False)
    with pytest.raises(KeyError, match="TRAINOPS_DLQ_URL"):
        settings.DLQ_URL.require()


def test_an_empty_value_is_a_value_as_os_environ_has_it(monkeypatch) -> None:
    """Only an unset variable takes the default: an empty one is what the handler gets, so a
    misconfigured number still fails loudly instead of quietly becoming the default."""
    monkeypatch.setenv(settings.MAX_ATTEMPTS.name, "")
    assert settings.MAX_ATTEMPTS.read() == ""
    with pytest.raises(ValueError, match="invalid literal"):
        int(settings.MAX_ATTEMPTS.require())
    monkeypatch.setenv(settings.DLQ_URL.name, "")
    assert settings.DLQ_URL.require() == ""


CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="us-east-1")


def _build(handler: str, environment: dict[str, str]) -> None:
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
                environment=environment,
            ),
        )

    offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)


def test_a_function_is_refused_a_variable_its_handler_does_not_read() -> None:
    with pytest.raises(Exception, match="TRAINOPS_DLQ_URL is not read by slot_keeper"):
        _build("slot_keeper", {"TRAINOPS_DLQ_URL": "https://queue"})


def test_a_function_is_refused_without_a_variable_its_handler_requires() -> None:
    with pytest.raises(
        Exception, match="TRAINOPS_GUARD_ALARM_NAME is required by stop_maintenance"
    ):
        _build("stop_maintenance", {"TRAINOPS_MAINTENANCE_WINDOW_ID": "mw-1"})


def test_every_function_of_both_stacks_gets_what_its_handler_reads() -> None:
    for stack in ("dev", "prod"):
        functions = offline.run_program(stack).of_type("aws:lambda/function:Function")
        assert len(functions) >= 5
        for function in functions:
            module = function.inputs["handler"].rsplit(".", 1)[0].split(".")[-1]
            names = set(function.inputs["environment"]["variables"])
            assert settings.environment_problems(module, names) == [], function.name
