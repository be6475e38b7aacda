"""The model catalog: which models exist and how to start their pipelines.

The Pulumi program writes it into each function's `TRAINOPS_MODELS` environment variable (JSON,
model name -> entry); handlers read it once per execution environment. It lets a handler reject
an unknown model or hyperparameter locally, with a clear reason, instead of learning it from a
SageMaker ValidationException.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

ENV_VAR = "TRAINOPS_MODELS"


class CatalogError(RuntimeError):
    """The function's environment does not describe the models (a deployment bug)."""


class UnknownModel(LookupError):
    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(
            f"unknown model {model!r}; this stack trains: {', '.join(known) or 'none'}"
        )
        self.model = model


@dataclass(frozen=True)
class CatalogEntry:
    """One model's pipeline and the inputs a request may override."""

    pipeline_name: str
    training_data: str
    max_runtime_minutes: int
    hyperparameters: tuple[str, ...] = ()
    max_wait_minutes: int | None = None

    @classmethod
    def from_dict(cls, model: str, raw: Any) -> CatalogEntry:
        if not isinstance(raw, dict):
            raise CatalogError(f"{ENV_VAR}: the entry of {model} is not an object")
        try:
            entry = cls(
                pipeline_name=str(raw["pipelineName"]),
                training_data=str(raw["trainingData"]),
                max_runtime_minutes=int(raw["maxRuntimeMinutes"]),
                hyperparameters=tuple(str(h) for h in raw.get("hyperparameters") or ()),
                max_wait_minutes=int(raw["maxWaitMinutes"]) if raw.get("maxWaitMinutes") else None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CatalogError(
                f"{ENV_VAR}: the entry of {model} is incomplete: {error!r}"
            ) from None
        return entry

    @property
    def longest_run_minutes(self) -> int:
        """How long one execution of this pipeline can hold a slot (runtime or spot wait)."""
        return max(self.max_runtime_minutes, self.max_wait_minutes or 0)


class ModelCatalog:
    """Model name -> CatalogEntry."""

    def __init__(self, entries: dict[str, CatalogEntry]) -> None:
        self.entries = dict(entries)

    @classmethod
    def from_json(cls, text: str) -> ModelCatalog:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise CatalogError(f"{ENV_VAR} is not a valid model catalog: {error}") from error
        if not isinstance(raw, dict):
            raise CatalogError(f"{ENV_VAR} is not a valid model catalog: not an object")
        return cls({name: CatalogEntry.from_dict(name, entry) for name, entry in raw.items()})

    def get(self, model: str) -> CatalogEntry:
        try:
            return self.entries[model]
        except KeyError:
            raise UnknownModel(model, sorted(self.entries)) from None

    @property
    def models(self) -> list[str]:
        return sorted(self.entries)

    def by_pipeline(self, pipeline_name: str) -> str | None:
        """The model whose pipeline is called ``pipeline_name``, if any."""
        return next((m for m, e in self.entries.items() if e.pipeline_name == pipeline_name), None)


@cache
def load() -> ModelCatalog:
    """The catalog from the environment (read once per execution environment)."""
    text = os.environ.get(ENV_VAR)
    if not text:
        raise CatalogError(f"{ENV_VAR} is not set; the function was deployed without a catalog")
    return ModelCatalog.from_json(text)
