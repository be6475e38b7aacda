"""Project layout and dependency contract (one source of truth for what gets installed)."""

from __future__ import annotations

import re
import tomllib

import yaml

from cli import offline

ROOT = offline.PROJECT_DIR


def test_pulumi_project_uses_pip_toolchain_and_venv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "trainops"
    assert project["description"]
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }


def test_requirements_txt_installs_the_project_itself() -> None:
    """Pulumi's pip toolchain reads requirements.txt; it defers to pyproject.toml."""
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["-e ."]


def test_dependencies_are_pinned_by_compatible_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[<>=~\[]", d)[0]: d for d in project["dependencies"]}
    assert runtime["pulumi"].endswith("<4")
    assert runtime["pulumi-aws"] == "pulumi-aws>=7.0,<8"
    assert runtime["pulumi-aws-native"] == "pulumi-aws-native>=1.0,<2"
    assert runtime["pydantic"].endswith("<3")
    # the program imports the Lambda package's contract modules, so what they import is runtime
    assert {"boto3", "fastjsonschema", "pyyaml"} <= runtime.keys()
    dev = {re.split(r"[<>=~\[]", d)[0] for d in project["optional-dependencies"]["dev"]}
    assert {"pytest", "moto", "aws-lambda-powertools", "ruff", "pyright"} <= dev
    for dependency in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        assert re.search(r">=|~=", dependency), f"{dependency} has no lower bound"


def test_no_lock_file_records_download_urls() -> None:
    for name in ("requirements.lock", "poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock"):
        assert not (ROOT / name).exists(), name


def test_ci_runs_the_handler_tests_on_the_lambda_runtime_python() -> None:
    """The functions run `RUNTIME`; CI runs their code's tests on that Python too, so bumping
    the runtime without bumping the CI interpreter (or the reverse) fails here."""
    from components.platform.lambda_function import RUNTIME

    makefile = (ROOT / "Makefile").read_text()
    (python,) = re.findall(r"^LAMBDA_RUNTIME := (\S+)$", makefile, flags=re.MULTILINE)
    assert python == RUNTIME  # "python3.13" names both the runtime and the interpreter
    (tests,) = re.findall(r"^LAMBDA_TESTS \?= (.+)$", makefile, flags=re.MULTILINE)
    assert {"tests/handlers", "tests/e2e"} <= set(tests.split())
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test-lambda-runtime\b", ci, flags=re.MULTILINE)
    assert "rm -rf .venv .venv-lambda" in ci  # a clean install every run


def _make_commands(*targets: str) -> set[str]:
    """The commands of some Makefile targets, as run from the project root."""
    commands, current = set(), None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace():
            current = line.split(":", 1)[0]
        elif line.startswith("\t") and current in targets:
            commands.add(line.strip().replace("$(BIN)/", ".venv/bin/"))
    return commands


def test_the_pre_commit_hooks_are_the_ci_checks() -> None:
    """`.pre-commit-config.yaml` runs what `make lint typecheck workflows` runs (CI's checks),
    no more and no less, so a commit that passes its hooks passes those CI steps."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    entries = {
        re.sub(r"^bash -c '(.*)'$", r"\1", hook["entry"])
        for repo in config["repos"]
        for hook in repo["hooks"]
    }
    make = _make_commands("lint", "typecheck", "workflows")
    validate = ".venv/bin/pre-commit validate-config .pre-commit-config.yaml"
    assert validate in make  # `make lint` checks the hooks file itself
    assert entries == make - {validate}
