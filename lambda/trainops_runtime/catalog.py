"""The model catalog: which models exist and how to start their pipelines.

The Pulumi program writes it into each function's `TRAINOPS_MODELS` environment variable (JSON,
model name -> entry); handlers read it once per execution environment. It lets a handler reject
an unknown model or hyperparameter locally, with a clear reason, instead of learning it from a
SageMaker ValidationException.
"""

from __future__ import annotations

import json
import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_VAR = "TRAINOPS_MODELS"


class CatalogEntry(BaseModel):
    """One model's pipeline and the inputs a request may override."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    pipeline_name: str = Field(alias="pipelineName")
    training_data: str = Field(alias="trainingData")
    hyperparameters: tuple[str, ...] = ()
    max_runtime_minutes: int = Field(alias="maxRuntimeMinutes")
    max_wait_minutes: int | None = Field(default=None, alias="maxWaitMinutes")

    @property
    def longest_run_minutes(self) -> int:
        """How long one execution of this pipeline can hold a slot (runtime or spot wait)."""
        return max(self.max_runtime_minutes, self.max_wait_minutes or 0)


class CatalogError(RuntimeError):
    """The function's environment does not describe the models (a deployment bug)."""


class UnknownModel(LookupError):
    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(
            f"unknown model {model!r}; this stack trains: {', '.join(known) or 'none'}"
        )
        self.model = model


class ModelCatalog:
    """Model name -> CatalogEntry."""

    def __init__(self, entries: dict[str, CatalogEntry]) -> None:
        self.entries = dict(entries)

    @classmethod
    def from_json(cls, text: str) -> ModelCatalog:
        try:
            raw = json.loads(text)
            return cls({name: CatalogEntry.model_validate(entry) for name, entry in raw.items()})
        except (json.JSONDecodeError, AttributeError, ValidationError) as error:
            raise CatalogError(f"{ENV_VAR} is not a valid model catalog: {error}") from error

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
