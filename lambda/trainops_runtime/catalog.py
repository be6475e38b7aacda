"""The model catalog: which models exist and how to start their pipelines.

The Pulumi program writes it as `trainops_runtime/catalog.json` into the code archive of each
function that needs it (JSON, model name -> entry); handlers read it once per execution
environment. It lives in the code, not in environment variables, because Lambda allows 4 KB of
environment per function and a platform trains hundreds of models. It lets a handler reject an
unknown model or hyperparameter locally, with a clear reason, instead of learning it from a
SageMaker ValidationException.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainops_runtime import settings

if TYPE_CHECKING:
    from trainops_runtime.training_cost import CostSpec

# Where the program puts the catalog inside the code archive (next to this module).
FILE_NAME = "catalog.json"
ARCHIVE_PATH = f"trainops_runtime/{FILE_NAME}"
# Another location for the file (tests, local runs); unset in deployed functions.
PATH_ENV = settings.CATALOG_FILE.name


class CatalogError(RuntimeError):
    """The function's environment does not describe the models (a deployment bug)."""


class UnknownModel(LookupError):
    def __init__(self, model: str, known: list[str]) -> None:
        super().__init__(
            f"unknown model {model!r}; this stack trains: {', '.join(known) or 'none'}"
        )
        self.model = model


@dataclass(frozen=True)
class BlueGreen:
    """The blue/green policy of an approved version's deployment (`endpoint.blueGreen`)."""

    traffic_routing: str  # ALL_AT_ONCE | CANARY
    canary_size_percent: int
    wait_interval_seconds: int
    termination_wait_seconds: int
    maximum_execution_timeout_seconds: int


@dataclass(frozen=True)
class DataCapture:
    """Where the endpoint captures requests and responses (as the config Pulumi created does)."""

    destination: str  # s3://<artifacts>/data-capture/<model>
    sampling_percent: int
    kms_key_arn: str


@dataclass(frozen=True)
class ApprovedMetric:
    """Where a model with `evaluation.compareWithApproved` finds the metric its new versions must
    match or beat: the evaluation report of the newest approved version in its package group,
    read only from the model's own report prefix (the gate's Processing step writes there)."""

    package_group: str
    metric: str  # the JSON path in the report, as the Condition step reads it
    reports: str  # s3://<artifacts>/evaluation/<model>/

    @classmethod
    def from_dict(cls, raw: Any) -> ApprovedMetric:
        if not isinstance(raw, dict):
            raise TypeError("approvedMetric is not an object")
        return cls(
            package_group=str(raw["packageGroup"]),
            metric=str(raw["metric"]),
            reports=str(raw["reports"]),
        )


@dataclass(frozen=True)
class DeploymentSpec:
    """Where and how a model's approved versions are deployed (`endpoint.deployOnApproval`):
    what the deploy function needs to build each version's model and endpoint config and to
    update the endpoint, all of it fixed by the stack config."""

    package_group: str  # `trainops-<stack>--<model>`, also the base of the names it creates
    endpoint_name: str
    variant_name: str
    instance_type: str
    instance_count: int
    execution_role_arn: str  # the model's own SageMaker execution role
    volume_kms_key_arn: str | None  # None on instances with hardware-encrypted local storage
    data_capture: DataCapture | None
    blue_green: BlueGreen
    rollback_alarms: tuple[str, ...]  # the endpoint's deployment alarms, by name
    tags: tuple[tuple[str, str], ...]  # put on the models and endpoint configs it creates

    @classmethod
    def from_dict(cls, raw: Any) -> DeploymentSpec:
        """Raises KeyError, TypeError or ValueError on an incomplete entry (CatalogEntry names
        the model)."""
        if not isinstance(raw, dict):
            raise TypeError("deployment is not an object")
        capture = raw.get("dataCapture")
        blue_green = raw["blueGreen"]
        return cls(
            package_group=str(raw["packageGroup"]),
            endpoint_name=str(raw["endpointName"]),
            variant_name=str(raw["variantName"]),
            instance_type=str(raw["instanceType"]),
            instance_count=int(raw["instanceCount"]),
            execution_role_arn=str(raw["executionRoleArn"]),
            volume_kms_key_arn=str(raw["volumeKmsKeyArn"]) if raw.get("volumeKmsKeyArn") else None,
            data_capture=DataCapture(
                destination=str(capture["destination"]),
                sampling_percent=int(capture["samplingPercent"]),
                kms_key_arn=str(capture["kmsKeyArn"]),
            )
            if capture
            else None,
            blue_green=BlueGreen(
                traffic_routing=str(blue_green["trafficRouting"]),
                canary_size_percent=int(blue_green["canarySizePercent"]),
                wait_interval_seconds=int(blue_green["waitIntervalSeconds"]),
                termination_wait_seconds=int(blue_green["terminationWaitSeconds"]),
                maximum_execution_timeout_seconds=int(blue_green["maximumExecutionTimeoutSeconds"]),
            ),
            rollback_alarms=tuple(str(name) for name in raw["rollbackAlarms"]),
            tags=tuple(sorted((str(k), str(v)) for k, v in dict(raw.get("tags") or {}).items())),
        )


@dataclass(frozen=True)
class CatalogEntry:
    """One model's pipeline and the inputs a request may override."""

    pipeline_name: str
    training_data: str
    max_runtime_minutes: int
    hyperparameters: tuple[str, ...] = ()
    max_wait_minutes: int | None = None
    # Scheduled ticks of this model skip when nothing under its training data changed.
    only_when_new_data: bool = False
    # The model takes quality signals: its degraded-quality alarms and events retrain it.
    quality_retraining: bool = False
    # The model's approved versions are deployed to its endpoint (the deploy function's catalog).
    deployment: DeploymentSpec | None = None
    # The gate also compares with the approved version's metric (the starters look it up).
    approved_metric: ApprovedMetric | None = None
    # The model's cap per run and the shape of its runs (None: no cap).
    cost: CostSpec | None = None

    @classmethod
    def from_dict(cls, model: str, raw: Any) -> CatalogEntry:
        if not isinstance(raw, dict):
            raise CatalogError(f"{FILE_NAME}: the entry of {model} is not an object")
        try:
            entry = cls(
                pipeline_name=str(raw["pipelineName"]),
                training_data=str(raw["trainingData"]),
                max_runtime_minutes=int(raw["maxRuntimeMinutes"]),
                hyperparameters=tuple(str(h) for h in raw.get("hyperparameters") or ()),
                max_wait_minutes=int(raw["maxWaitMinutes"]) if raw.get("maxWaitMinutes") else None,
                only_when_new_data=bool(raw.get("onlyWhenNewData", False)),
                quality_retraining=bool(raw.get("qualityRetraining", False)),
                deployment=DeploymentSpec.from_dict(raw["deployment"])
                if raw.get("deployment")
                else None,
                approved_metric=ApprovedMetric.from_dict(raw["approvedMetric"])
                if raw.get("approvedMetric")
                else None,
                cost=_cost(raw["cost"]) if raw.get("cost") else None,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CatalogError(
                f"{FILE_NAME}: the entry of {model} is incomplete: {error!r}"
            ) from None
        return entry

    @property
    def longest_run_minutes(self) -> int:
        """How long one execution of this pipeline can hold a slot (runtime or spot wait)."""
        return max(self.max_runtime_minutes, self.max_wait_minutes or 0)


def _cost(raw: Any) -> CostSpec:
    """A capped model's cost spec. Imported only when a model has a cap: every handler loads
    the catalog at a cold start, and most stacks' functions never price a run."""
    from trainops_runtime.training_cost import CostSpec  # noqa: PLC0415

    return CostSpec.from_dict(raw)


class ModelCatalog:
    """Model name -> CatalogEntry."""

    def __init__(self, entries: dict[str, CatalogEntry]) -> None:
        self.entries = dict(entries)
        # Events name the pipeline; with hundreds of models a scan per event would add up.
        self._pipelines = {e.pipeline_name.lower(): m for m, e in self.entries.items()}
        # Approvals name the package group, endpoint state changes the endpoint.
        deployed = {m: e.deployment for m, e in self.entries.items() if e.deployment}
        self._package_groups = {d.package_group.lower(): m for m, d in deployed.items()}
        self._endpoints = {d.endpoint_name.lower(): m for m, d in deployed.items()}

    @classmethod
    def from_json(cls, text: str) -> ModelCatalog:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise CatalogError(f"{FILE_NAME} is not a valid model catalog: {error}") from error
        if not isinstance(raw, dict):
            raise CatalogError(f"{FILE_NAME} is not a valid model catalog: not an object")
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
        """The model whose pipeline is called ``pipeline_name``, if any (SageMaker writes names
        in lower case inside ARNs and events; trainops names are lower case already)."""
        return self._pipelines.get(pipeline_name.lower())

    def by_package_group(self, group: str) -> str | None:
        """The model whose approved versions in ``group`` are deployed, if any."""
        return self._package_groups.get(group.lower())

    @property
    def deploying(self) -> list[str]:
        """The models whose approved versions are deployed to their endpoints."""
        return sorted(self._endpoints.values())

    def by_endpoint(self, endpoint_name: str) -> str | None:
        """The model whose approved versions ``endpoint_name`` serves, if any."""
        return self._endpoints.get(endpoint_name.lower())


def catalog_path() -> Path:
    """The catalog file: beside this module in the deployed code, or ``$TRAINOPS_CATALOG_FILE``."""
    configured = settings.CATALOG_FILE.read()
    return Path(configured) if configured else Path(__file__).with_name(FILE_NAME)


@cache
def load() -> ModelCatalog:
    """The catalog from the function's code (read once per execution environment)."""
    path = catalog_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(
            f"{path} does not exist; the function was deployed without a model catalog"
        ) from None
    return ModelCatalog.from_json(text)
