"""A model's runs in money: the shape of its jobs, its cap, and the refusals config validation
makes before anything is deployed.

The same projection serves everywhere (`trainops_runtime.training_cost`): config validation and
`trainops plan`/`submit` build a `CostSpec` from the stack config here; the starters read the
same spec from the model catalog (`catalog_entry`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pulumi

from components.platform import iam
from components.platform.context import PlatformContext
from components.platform.model_config import ModelConfig
from components.platform.spend_config import SpendGuardrailsConfig, allows
from trainops_runtime.training_cost import (
    CostSpec,
    JobShape,
    Projection,
    UnknownPrice,
    over_cap,
    project,
    usd,
)


def training_shape(model: ModelConfig) -> JobShape:
    return JobShape(
        instance_type=model.instance_type,
        instance_count=model.instance_count,
        max_runtime_minutes=model.max_runtime_minutes,
        volume_gb=model.volume_size_gb,
    )


def evaluation_shape(model: ModelConfig) -> JobShape | None:
    """The gate's Processing job: one instance, its own runtime, the model's volume size."""
    gate = model.evaluation
    if gate is None:
        return None
    return JobShape(
        instance_type=gate.instance_type,
        instance_count=1,
        max_runtime_minutes=gate.max_runtime_minutes,
        volume_gb=model.volume_size_gb,
    )


def cap_of(model: ModelConfig, spend: SpendGuardrailsConfig) -> float | None:
    """The model's cap per run: its own `maxCostPerRun`, else the stack default (None: none)."""
    return model.max_cost_per_run if model.max_cost_per_run is not None else spend.max_cost_per_run


def projection(
    model: ModelConfig,
    region: str,
    *,
    instance_count: int | None = None,
    max_runtime_minutes: int | None = None,
) -> Projection:
    """A run's projected maximum, as configured or with a request's overrides of the training
    job; raises UnknownPrice."""
    training = replace(
        training_shape(model),
        instance_count=instance_count or model.instance_count,
        max_runtime_minutes=max_runtime_minutes or model.max_runtime_minutes,
    )
    return project(training, evaluation_shape(model), region)


def cost_spec(model: ModelConfig, spend: SpendGuardrailsConfig, region: str) -> CostSpec | None:
    """What the starters check a run against (None: the model has no cap)."""
    cap = cap_of(model, spend)
    if cap is None:
        return None
    return CostSpec(
        region=region,
        cap=cap,
        training=training_shape(model),
        evaluation=evaluation_shape(model),
    )


def catalog_entry(model: ModelConfig, spend: SpendGuardrailsConfig, region: str) -> dict[str, Any]:
    """The catalog's `cost` of a model with a cap (empty without one)."""
    spec = cost_spec(model, spend, region)
    return {"cost": spec.to_dict()} if spec else {}


def refusal_topic(platform: PlatformContext) -> pulumi.Input[str] | None:
    """Where a starter alerts a run refused over its cap: monitoring's warning topic, when the
    stack has monitoring and any model a cap (None: nothing to alert, or nowhere to)."""
    capped = any(cap_of(model, platform.spend) is not None for model in platform.models.values())
    if not capped or platform.alerts is None:
        return None
    return platform.alerts.warning_topic_arn


def refusal_statements(platform: PlatformContext) -> list[iam.Statement]:
    """Publishing those alerts (the topic is encrypted with the stack key)."""
    topic = refusal_topic(platform)
    if topic is None:
        return []
    return [
        iam.allow(["sns:Publish"], [topic], sid="AlertRefusedRuns"),
        iam.allow(["kms:GenerateDataKey"], [platform.key_arn], sid="EncryptRefusalAlerts"),
    ]


def instance_types_of(model: ModelConfig) -> Iterator[tuple[str, str]]:
    """Every instance type a model's config names, with its key."""
    yield "instanceType", model.instance_type
    if model.evaluation is not None:
        yield "evaluation.instanceType", model.evaluation.instance_type
    if model.endpoint is not None and model.endpoint.deploy:
        yield "endpoint.instanceType", model.endpoint.instance_type
    if model.bias_monitoring is not None:
        yield "biasMonitoring.instanceType", model.bias_monitoring.instance_type


def problems(
    models: Mapping[str, ModelConfig],
    spend: SpendGuardrailsConfig,
    region: str,
    other_instance_types: Mapping[str, str] | None = None,
) -> list[str]:
    """Every model whose configured run can never fit its cap, cannot be priced under a cap,
    or uses an instance type the stack does not allow (so does any of ``other_instance_types``,
    key -> type, beyond the models): `trainops:<key>: <problem>` lines."""
    found = [
        _not_allowed(f"trainops:{key}", instance_type, spend)
        for key, instance_type in sorted((other_instance_types or {}).items())
        if not allows(spend.allowed_instance_types, instance_type)
    ]
    for name, model in sorted(models.items()):
        key = f"trainops:models.{name}"
        for field, instance_type in instance_types_of(model):
            if not allows(spend.allowed_instance_types, instance_type):
                found.append(_not_allowed(f"{key}.{field}", instance_type, spend))
        cap = cap_of(model, spend)
        if cap is None:
            continue
        cap_key = (
            f"{key}.maxCostPerRun"
            if model.max_cost_per_run is not None
            else f"trainops:spendGuardrails.maxCostPerRun (for {name})"
        )
        try:
            run = projection(model, region)
        except UnknownPrice as unknown:
            found.append(f"{cap_key}: cannot enforce a cap: {unknown}")
            continue
        refusal = over_cap(run, cap)
        if refusal:
            found.append(
                f"{cap_key}: every run would be refused: {refusal}; raise the cap to at least "
                f"{usd(run.total)}, or shorten maxRuntimeMinutes or use fewer or smaller "
                "instances"
            )
    return found


def _not_allowed(key: str, instance_type: str, spend: SpendGuardrailsConfig) -> str:
    return (
        f"{key}: {instance_type} is not allowed in this stack (spendGuardrails."
        f"allowedInstanceTypes: {', '.join(spend.allowed_instance_types)}); use an allowed "
        "type, or allow it"
    )
