"""What a feature of the component package needs to know of the rest of the stack, as plain
schema types, and how it becomes the `PlatformContext` the Python program builds in
`__main__.py`.

A Pulumi program in another language composes the package's components itself: the `Platform`
component's outputs (key, artifacts bucket, access-log bucket) go into every feature's
`platform`, monitoring's topics into `alerts`, the event store's bus into `eventBus`. The
features' own settings and the models are validated by the very rules `pulumi preview` applies
to a stack file (`components.config.parse`): the facade writes them as that stack config, so a
mistake fails with the same `trainops:<key>: <problem>` line.

The annotations here are read at run time by the SDK's analyzer, so this module does not
use `from __future__ import annotations` (which would turn them into strings it cannot follow).
"""

import json
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws
from pydantic.alias_generators import to_camel

from components import config as config_module
from components.package.model_settings import ModelSettings
from components.platform import alarms, buckets, iam
from components.platform.context import EventBusRef, PlatformContext, Storage
from components.platform.sagemaker import ExecutionRole
from components.platform.training_slots import TrainingSlotsRef


class PlatformRef(TypedDict, total=False):
    """The stack's platform, from the Platform component's outputs."""

    environment: Required[str]
    """Environment name used in names and tags (lowercase, max 16 characters)."""
    key_arn: Required[pulumi.Input[str]]
    """The stack's KMS key (Platform.keyArn)."""
    artifacts_bucket_name: Required[pulumi.Input[str]]
    """The artifacts bucket (Platform.artifactsBucketName)."""
    artifacts_bucket_arn: Required[pulumi.Input[str]]
    """The artifacts bucket's ARN (Platform.artifactsBucketArn)."""
    access_logs_bucket: pulumi.Input[str]
    """Where buckets log their requests (Platform.accessLogsBucket); unset: CloudTrail data
    events."""
    log_retention_days: int
    """Retention of every log group the component creates. Default: 30."""
    powertools_layer_version: int
    """Version of AWS's published Powertools for AWS Lambda (Python) V3 layer. Default: 27."""


class AlertsRef(TypedDict, total=False):
    """Where alarms go: the TrainingMonitor component's topics and escalation."""

    warning_topic_arn: Required[pulumi.Input[str]]
    """TrainingMonitor.warningTopicArn."""
    critical_topic_arn: Required[pulumi.Input[str]]
    """TrainingMonitor.criticalTopicArn."""
    escalate_after_minutes: int
    """How long an alarm stands before its critical twin fires. Default: 30."""
    escalate: bool
    """Whether alarms get critical escalation twins. Default: true."""
    lambda_throttle_alarms: bool
    """Per-function Throttles alarms. Default: true."""


class TrainingBusRef(TypedDict):
    """The training event bus domain events go to: TrainingEventStore's bus."""

    name: pulumi.Input[str]
    """TrainingEventStore.eventBusName."""
    arn: pulumi.Input[str]
    """TrainingEventStore.eventBusArn."""


class TrainingQueueRef(TypedDict):
    """The training queue requests go to: TrainingQueue's outputs."""

    url: pulumi.Input[str]
    """TrainingQueue.queueUrl."""
    arn: pulumi.Input[str]
    """TrainingQueue.queueArn."""


class ExecutionRoleRef(TypedDict):
    """A model's SageMaker execution role: TrainingPipeline's outputs."""

    arn: pulumi.Input[str]
    """TrainingPipeline.executionRoleArn."""
    name: pulumi.Input[str]
    """TrainingPipeline.executionRoleName."""


def plain(value: Any, shape: Any = None) -> Any:
    """Package input as stack config, following ``shape`` (the input's TypedDict): a typed
    dict's keys camel-cased as the schema and the YAML write them, a map's keys (model names,
    hyperparameters, event-pattern fields) kept, enum members as their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the engine sends every number as a float; the stack file has 365
    shape = _unwrapped(shape)
    if typing.is_typeddict(shape) and isinstance(value, Mapping):
        hints = typing.get_type_hints(shape)
        return {to_camel(str(key)): plain(item, hints.get(key)) for key, item in value.items()}
    # a map keeps its keys, a list its order; untyped (`Any`) values are taken as given
    item_shape = typing.get_args(shape)[-1] if typing.get_origin(shape) in (dict, list) else None
    if isinstance(value, Mapping):
        return {key: plain(item, item_shape) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, item_shape) for item in value]
    return value


def _unwrapped(shape: Any) -> Any:
    """``X`` of ``X | None`` (an optional key's type)."""
    arguments = [a for a in typing.get_args(shape) if a is not type(None)]
    if typing.get_origin(shape) in (typing.Union, types.UnionType) and len(arguments) == 1:
        return arguments[0]
    return shape


def models_config(models: Mapping[str, Any]) -> dict[str, Any]:
    """The models as `trainops:models` holds them."""
    return plain(dict(models), dict[str, ModelSettings])


def validated(
    *,
    environment: str,
    models: Mapping[str, Any],
    features: Mapping[str, Any],
) -> config_module.StackConfig:
    """The stack config these inputs amount to, validated with the stack file's rules; raises
    `ConfigError` with the same `trainops:<key>: <problem>` lines `pulumi preview` prints.

    ``features`` maps a stack-config key (`trainingQueue`, `monitoring`, ...) to its camelCase
    settings; a feature the component does not create is written as switched off."""
    region = aws.get_region().region
    return config_module.parse(_raw(region, environment, models, features), composed=True)


def _raw(
    region: str, environment: str, models: Mapping[str, Any], features: Mapping[str, Any]
) -> dict[str, Any]:
    """A stack's config map, as Pulumi passes it to the program."""
    return {
        "aws:region": region,
        "trainops:environment": environment,
        "trainops:models": json.dumps(models_config(models)),
        **{f"trainops:{key}": json.dumps(value) for key, value in features.items()},
    }


def aws_context(region: str) -> iam.AwsContext:
    """Where the stack runs: the account and partition asked of the provider as `__main__.py`
    asks them, in ``region`` (the provider's, which `validated` reads once)."""
    identity = aws.get_caller_identity()
    partition = aws.get_partition()
    return iam.AwsContext(
        account_id=identity.account_id,
        region=region,
        partition=partition.partition,
        dns_suffix=partition.dns_suffix,
    )


def execution_roles(
    roles: Mapping[str, ExecutionRoleRef], models: Mapping[str, Any]
) -> dict[str, ExecutionRole]:
    """Each model's execution role as the pipelines give it to `__main__.py`'s features; every
    model of the stack needs one (a clear error, not a KeyError deep in a component)."""
    missing = sorted(set(models) - set(roles))
    if missing:
        raise ValueError(
            f"executionRoles: no role for model {', '.join(missing)}; give each model of "
            "stack.models its TrainingPipeline's executionRoleArn and executionRoleName"
        )
    return {
        model: ExecutionRole(arn=role["arn"], name=role["name"]) for model, role in roles.items()
    }


def platform_context(
    ref: PlatformRef,
    settings: config_module.StackConfig,
    *,
    alerts: AlertsRef | None = None,
    event_bus: TrainingBusRef | None = None,
    training_slots: bool = False,
) -> PlatformContext:
    """The context `__main__.py` builds, from the package's plain inputs."""
    from components.training_pipeline.component import catalog_entry  # noqa: PLC0415

    ctx = aws_context(settings.region)
    platform = PlatformContext(
        ctx=ctx,
        environment=ref["environment"],
        key_arn=ref["key_arn"],
        storage=Storage(
            artifacts_bucket_name=ref["artifacts_bucket_name"],
            artifacts_bucket_arn=ref["artifacts_bucket_arn"],
            access_logs=buckets.AccessLogs(target_bucket=ref.get("access_logs_bucket")),
        ),
        # integers arrive as floats over the wire (the SDK's input mapping keeps them so)
        log_retention_days=int(ref.get("log_retention_days", 30)),
        powertools_layer_version=int(ref.get("powertools_layer_version", 27)),
        models=settings.models,
        training_slots=TrainingSlotsRef.for_stack(ctx) if training_slots else None,
        spend=settings.spend_guardrails,
    )
    platform = platform.with_catalog(
        {name: catalog_entry(name, model, platform) for name, model in settings.models.items()}
    )
    if alerts is not None:
        platform = platform.with_alerts(
            alarms.AlertLadder(
                warning_topic_arn=alerts["warning_topic_arn"],
                critical_topic_arn=alerts["critical_topic_arn"],
                escalate_after_minutes=int(alerts.get("escalate_after_minutes", 30)),
                escalate=alerts.get("escalate", True),
                lambda_throttle_alarms=alerts.get("lambda_throttle_alarms", True),
            )
        )
    if event_bus is not None:
        platform = platform.with_event_bus(
            EventBusRef(name=event_bus["name"], arn=event_bus["arn"])
        )
    return platform
