"""The layout is the architecture: imports only go down, from a feature to the platform tier.

`components/platform/` holds the building blocks and what every feature shares; each feature
is a package beside it (`components/monitoring/`, `components/training_queue/`, ...), with its
own part of the stack config; `components/config/` composes those parts into the stack's
config. A feature that imported another would couple two things users toggle separately, the
platform tier importing a feature would make every feature depend on that one, and a feature
reading the whole stack config would depend on every other feature's. These tests read the imports
of every module (statically, so a lazy import inside a function counts too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cli import offline

COMPONENTS = offline.PROJECT_DIR / "components"
PLATFORM = "platform"
STACK_CONFIG = "config"  # above the features: it imports each feature's config
# The component package's facades: above the features too (each facade creates one feature's
# component), and nothing below imports them.
PACKAGE = "package"


def feature_packages() -> list[str]:
    return sorted(
        path.name
        for path in COMPONENTS.iterdir()
        if path.is_dir()
        and (path / "__init__.py").exists()
        and path.name not in (PLATFORM, STACK_CONFIG, PACKAGE)
    )


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Every `components.*` module ``path`` (a module of ``package``) imports, however it is
    written."""
    if package is None:
        package = ".".join(path.relative_to(offline.PROJECT_DIR).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module != "components":
                found.add(module)
            # `from components import monitoring` imports the package `components.monitoring`;
            # `from components import TrainingQueue` imports `components` itself, whose
            # __init__ imports every feature
            found.update(
                f"{module}.{alias.name}"
                if module != "components" or _is_package(alias.name)
                else "components"
                for alias in node.names
            )
    return {name for name in found if name.split(".")[0] == "components"}


def _is_package(name: str) -> bool:
    return (COMPONENTS / name / "__init__.py").exists()


ROOT = "components (every feature)"


def tier_of(module: str) -> str | None:
    """The package directly under `components` that ``module`` belongs to; ROOT for the
    `components` package itself (its __init__ imports every feature)."""
    parts = module.split(".")
    if len(parts) < 2:
        return ROOT if parts == ["components"] else None
    return parts[1] if _is_package(parts[1]) else ROOT


def modules_of(package: str) -> list[Path]:
    return sorted((COMPONENTS / package).rglob("*.py"))


def test_there_are_feature_packages_and_a_platform_tier() -> None:
    assert (COMPONENTS / PLATFORM / "__init__.py").exists()
    assert {
        "event_sourcing",
        "maintenance_window",
        "monitoring",
        "scheduled_retraining",
        "training_pipeline",
        "training_queue",
    } <= set(feature_packages())
    assert (COMPONENTS / STACK_CONFIG / "__init__.py").exists()
    # nothing loose beside them: every module is in a tier
    assert {path.stem for path in COMPONENTS.glob("*.py")} == {"__init__"}


@pytest.mark.parametrize("feature", feature_packages())
def test_a_feature_imports_no_other_feature(feature: str) -> None:
    crossings = {
        f"{path.relative_to(offline.PROJECT_DIR)} imports {module}"
        for path in modules_of(feature)
        for module in imported_modules(path)
        if tier_of(module) not in (None, PLATFORM, feature)
    }
    assert crossings == set()


def test_the_platform_tier_imports_no_feature() -> None:
    upward = {
        f"{path.relative_to(offline.PROJECT_DIR)} imports {module}"
        for path in modules_of(PLATFORM)
        for module in imported_modules(path)
        if tier_of(module) not in (None, PLATFORM)
    }
    assert upward == set()


def test_nothing_below_the_package_facades_imports_them() -> None:
    """The component package sits on top: the program, the features, the platform and the stack
    config never depend on it."""
    below = [*feature_packages(), PLATFORM, STACK_CONFIG]
    upward = {
        f"{path.relative_to(offline.PROJECT_DIR)} imports {module}"
        for tier in below
        for path in modules_of(tier)
        for module in imported_modules(path)
        if tier_of(module) == PACKAGE
    }
    assert upward == set()


def test_the_import_reader_sees_every_form_of_a_crossing(tmp_path: Path) -> None:
    """The check above is only as good as its reader: each form of import is seen."""
    module = tmp_path / "probe.py"  # read as if it were components/monitoring/probe.py
    module.write_text(
        "import components.training_queue.component\n"
        "from components import event_sourcing\n"
        "from ..scheduled_retraining import component\n"
        "from components import TrainingEventStore\n"
        "def later():\n"
        "    from components.maintenance_window.specs import x\n",
        encoding="utf-8",
    )
    imported = imported_modules(module, package="components.monitoring")
    crossings = {tier_of(name) for name in imported} - {None, "monitoring"}
    assert crossings == {
        "training_queue",
        "event_sourcing",
        "scheduled_retraining",
        "maintenance_window",
        ROOT,
    }


RUNTIME = offline.PROJECT_DIR / "lambda" / "trainops_runtime"


def _runtime_imports(path: Path) -> set[str]:
    """The `trainops_runtime` layers (`handlers`, `adapters`, or the top-level domain code)
    a runtime module imports."""
    layers: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trainops_runtime"):
            parts = (node.module or "").split(".")
            names = [alias.name for alias in node.names]
            if len(parts) > 1:
                layers.add(parts[1] if parts[1] in ("handlers", "adapters") else "domain")
            else:
                layers.update(n if n in ("handlers", "adapters") else "domain" for n in names)
    return layers


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("domain", {"domain"}),  # pure: no AWS calls, no handlers
        ("adapters", {"domain", "adapters"}),
        ("handlers", {"domain", "adapters", "handlers"}),
    ],
)
def test_the_lambda_package_imports_only_downward(layer: str, allowed: set[str]) -> None:
    modules = (
        sorted(RUNTIME.glob("*.py"))
        if layer == "domain"
        else sorted((RUNTIME / layer).glob("*.py"))
    )
    assert modules
    upward = {
        f"{path.relative_to(RUNTIME)} imports {imported}"
        for path in modules
        for imported in _runtime_imports(path) - allowed
    }
    assert upward == set()


def _client_calls(path: Path) -> list[str]:
    """Where a module calls `clients.client(...)`, except to hand Powertools its client
    (`boto3_client=`: handler wiring, not an AWS call of the handler's own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    handed = {
        id(keyword.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "boto3_client"
    }
    return [
        f"{path.relative_to(RUNTIME)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "clients"
        and id(node) not in handed
    ]


def test_only_adapters_call_aws() -> None:
    """Handlers wire Powertools around domain code and adapters; the domain code is pure."""
    calls = [call for path in sorted(RUNTIME.rglob("*.py")) for call in _client_calls(path)]
    assert calls  # the adapters do
    assert [call for call in calls if not call.startswith("adapters/")] == []


# A module that outgrows this does more than one thing: split it by what it decides.
MAX_MODULE_LINES = 500


def test_no_module_outside_the_tests_is_over_500_lines() -> None:
    project = offline.PROJECT_DIR
    sources = [
        path
        for path in project.rglob("*.py")
        if not any(
            part == "tests" or part.startswith(".") for part in path.relative_to(project).parts
        )
    ]
    assert len(sources) > 50  # the walk found the project
    sizes = {
        str(path.relative_to(project)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sources
    }
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}
