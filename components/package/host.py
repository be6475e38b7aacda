"""What the component package is: its name, version and components, its schema, and serving it.

The version is the project's (`pyproject.toml`); the schema is what the SDK's analyzer infers
from the facades' annotations, exactly as the provider serves it (`schema()`), committed as
`package/schema.json` so a change to the package's interface shows in review, and so
tests/package keeps code and committed schema equal.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pulumi

from components.package import facades, loop, triggers

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCHEMA_FILE = PROJECT_DIR / "package" / "schema.json"
COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (
    *facades.COMPONENTS,
    *triggers.COMPONENTS,
    *loop.COMPONENTS,
)


def version() -> str:
    """The package version: the project's."""
    with (PROJECT_DIR / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def schema() -> dict[str, Any]:
    """The package schema the provider serves for these components."""
    from pulumi.provider.experimental.component import ComponentProvider  # noqa: PLC0415

    provider = ComponentProvider(list(COMPONENTS), facades.PACKAGE, version=version())
    return json.loads(provider.schema)  # type: ignore[attr-defined]


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def update(path: Path = SCHEMA_FILE) -> bool:
    """Writes the schema when it changed; returns whether it did."""
    text = schema_text()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def serve() -> None:
    """Runs the provider (Pulumi starts it with the engine's address as arguments)."""
    from pulumi.provider.experimental import component_provider_host  # noqa: PLC0415

    component_provider_host(list(COMPONENTS), facades.PACKAGE, version=version())
