"""What one training run may cost at most, before it starts.

A run is the model's training job and, with an evaluation gate, its evaluation job. Each job's
maximum is its instances' on-demand price x instance count x its maximum runtime, plus its ML
storage volumes for that time (`training_prices`). It is an upper bound: SageMaker bills the
seconds a job runs, spot training bills less, and a run that stops early costs less. A model's
cap (`maxCostPerRun`) is compared with this bound, so a run that could cost more than the cap is
refused before anything is started: by the queue worker and the schedule tick (from the catalog),
and by `trainops submit` and config validation (from the stack config).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trainops_runtime import training_prices as prices

MINUTES_PER_HOUR = 60


class UnknownPrice(LookupError):
    """No list price for an instance type (or region): the projection cannot be made."""


@dataclass(frozen=True)
class JobShape:
    """What one SageMaker job may use: its instances, for how long, and their volumes."""

    instance_type: str
    instance_count: int
    max_runtime_minutes: int
    volume_gb: int

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> JobShape:
        return cls(
            instance_type=str(raw["instanceType"]),
            instance_count=int(raw["instanceCount"]),
            max_runtime_minutes=int(raw["maxRuntimeMinutes"]),
            volume_gb=int(raw["volumeGb"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "instanceType": self.instance_type,
            "instanceCount": self.instance_count,
            "maxRuntimeMinutes": self.max_runtime_minutes,
            "volumeGb": self.volume_gb,
        }


@dataclass(frozen=True)
class JobCost:
    name: str  # "training" or "evaluation"
    shape: JobShape
    hourly: float  # one instance's on-demand price
    compute: float
    storage: float

    @property
    def total(self) -> float:
        return self.compute + self.storage


@dataclass(frozen=True)
class Projection:
    """A run's projected maximum cost, job by job."""

    region: str
    jobs: tuple[JobCost, ...]

    @property
    def total(self) -> float:
        return round(sum(job.total for job in self.jobs), 2)

    def explain(self) -> str:
        """`training 2 x ml.g5.xlarge ($1.408/h) x 4 h with 50 GB each = $11.28 + evaluation
        ...`: how it adds up."""
        parts = [
            f"{job.name} {job.shape.instance_count} x {job.shape.instance_type} "
            f"(${job.hourly:.3f}/h) x {hours(job.shape.max_runtime_minutes)} with "
            f"{job.shape.volume_gb} GB each = {usd(job.total)}"
            for job in self.jobs
        ]
        return " + ".join(parts) + f" (list prices {self.region}, {prices.AS_OF})"


def hours(minutes: int) -> str:
    return f"{minutes / MINUTES_PER_HOUR:g} h"


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def hourly_price(instance_type: str, region: str) -> float:
    """One instance's on-demand price per hour; UnknownPrice names what is known."""
    table = prices.TRAINING_HOURLY.get(region)
    if table is None:
        raise UnknownPrice(
            f"no SageMaker list prices for region {region} (trainops knows "
            f"{', '.join(sorted(prices.TRAINING_HOURLY))}); add them to "
            "lambda/trainops_runtime/training_prices.py, or unset the cost caps"
        )
    price = table.get(instance_type)
    if price is None:
        raise UnknownPrice(
            f"no list price for {instance_type} in {region} (trainops prices "
            f"{len(table)} training instance types: see lambda/trainops_runtime/training_prices.py)"
        )
    return price


def job_cost(name: str, shape: JobShape, region: str) -> JobCost:
    hourly = hourly_price(shape.instance_type, region)
    running_hours = shape.max_runtime_minutes / MINUTES_PER_HOUR
    storage_hourly = prices.ML_STORAGE_GB_MONTH / prices.HOURS_PER_MONTH
    return JobCost(
        name=name,
        shape=shape,
        hourly=hourly,
        compute=hourly * shape.instance_count * running_hours,
        storage=storage_hourly * shape.volume_gb * shape.instance_count * running_hours,
    )


def project(training: JobShape, evaluation: JobShape | None, region: str) -> Projection:
    """The run's projected maximum: its training job, and its evaluation job if it has a gate."""
    jobs = [job_cost("training", training, region)]
    if evaluation is not None:
        jobs.append(job_cost("evaluation", evaluation, region))
    return Projection(region=region, jobs=tuple(jobs))


def over_cap(projection: Projection, cap: float | None) -> str | None:
    """Why the run may not start (None: it fits, or there is no cap)."""
    if cap is None or projection.total <= cap:
        return None
    return (
        f"projected maximum {usd(projection.total)} exceeds the cap of {usd(cap)} per run: "
        f"{projection.explain()}"
    )


@dataclass(frozen=True)
class CostSpec:
    """A model's runs as the catalog ships them to the starters: where they are priced, the
    cap, the configured training job and the evaluation job (with a gate)."""

    region: str
    cap: float
    training: JobShape
    evaluation: JobShape | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CostSpec:
        evaluation = raw.get("evaluation")
        return cls(
            region=str(raw["region"]),
            cap=float(raw["cap"]),
            training=JobShape.from_dict(raw["training"]),
            evaluation=JobShape.from_dict(evaluation) if evaluation else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "cap": self.cap,
            "training": self.training.to_dict(),
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
        }

    def projection(
        self, *, instance_count: int | None = None, max_runtime_minutes: int | None = None
    ) -> Projection:
        """The run's projected maximum, with a request's overrides of the training job."""
        training = JobShape(
            instance_type=self.training.instance_type,
            instance_count=instance_count or self.training.instance_count,
            max_runtime_minutes=max_runtime_minutes or self.training.max_runtime_minutes,
            volume_gb=self.training.volume_gb,
        )
        return project(training, self.evaluation, self.region)

    def refusal(
        self,
        model: str,
        *,
        instance_count: int | None = None,
        max_runtime_minutes: int | None = None,
    ) -> Refusal | None:
        """Why a run of ``model`` may not start under this cap (None: it fits)."""
        return cap_refusal(
            model, self, instance_count=instance_count, max_runtime_minutes=max_runtime_minutes
        )


@dataclass(frozen=True)
class Refusal:
    """A run that may not start: what it could cost, the cap, and why (for the event, the
    alert and the dead-letter reason)."""

    model: str
    projected: float | None  # None: the run could not be priced
    cap: float
    reason: str

    def data(self) -> dict[str, Any]:
        return {"projectedCost": self.projected, "costCap": self.cap}

    def alert(self) -> tuple[str, str]:
        """Subject and message of the alert naming the model, the projection and the cap."""
        projected = usd(self.projected) if self.projected is not None else "unpriced"
        return (
            f"trainops: a run of {self.model} was refused ({projected} over the "
            f"{usd(self.cap)} cap)",
            f"A training run of model {self.model} was refused before it started: {self.reason}."
            "\n\nNothing was started. If the run is needed, ask for fewer instances or a shorter "
            "runtime, or raise the model's maxCostPerRun in the stack config (a reviewed change)."
            "\nRunbook: docs/operations.md, Spend guardrails.",
        )


def cap_refusal(
    model: str,
    spec: CostSpec | None,
    *,
    instance_count: int | None = None,
    max_runtime_minutes: int | None = None,
) -> Refusal | None:
    """Why a run of ``model`` may not start (None: no cap, or it fits). A run that cannot be
    priced under a cap is refused too: a cap that cannot be checked is not held."""
    if spec is None:
        return None
    try:
        run = spec.projection(
            instance_count=instance_count, max_runtime_minutes=max_runtime_minutes
        )
    except UnknownPrice as unknown:
        return Refusal(model, None, spec.cap, f"cannot check the {usd(spec.cap)} cap: {unknown}")
    reason = over_cap(run, spec.cap)
    return Refusal(model, run.total, spec.cap, reason) if reason else None
