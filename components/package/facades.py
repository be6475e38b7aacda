"""The trainops components as a Pulumi component package: thin facades with plain schema Args.

Each facade takes what the Pulumi SDK's analyzer can describe in a schema (strings, numbers,
lists, maps, nested input types, enums: `components.package.settings` mirrors the stack config's
models, `components.package.refs` the links between components), validates it with the stack
file's own rules, builds the `PlatformContext` `__main__.py` builds, and creates the same
component the Python program uses, as its only child and under the same name, so its resources
are the ones the Python program would create. Nothing is decided here that the components do
not decide themselves.

`package/__main__.py` hosts these classes (`component_provider_host`); `package/schema.json` is
the schema the analyzer infers from them (`trainops package --update`).

The annotations here are read at run time by the SDK's analyzer, so this module does not
use `from __future__ import annotations` (which would turn them into strings it cannot follow).
"""

from collections.abc import Mapping
from typing import Any, Required, TypedDict

import pulumi

from components.budgets.component import SpendBudgets as BudgetsComponent
from components.budgets.component import SpendBudgetsArgs
from components.monitoring.component import TrainingMonitor as MonitorComponent
from components.monitoring.component import TrainingMonitorArgs
from components.package import refs
from components.package.model_settings import ModelSettings
from components.package.settings import (
    AccessLogsSettings,
    ArtifactsSettings,
    BudgetsSettings,
    MonitoringSettings,
    SpendGuardrailsSettings,
)
from components.platform.foundation import Foundation, FoundationArgs
from components.training_pipeline.component import TrainingPipeline as PipelineComponent
from components.training_pipeline.component import TrainingPipelineArgs

PACKAGE = "trainops"


def token(component: type) -> str:
    """`trainops:index:<Class>`: the type the analyzer gives a component of the package."""
    return f"{PACKAGE}:index:{component.__name__}"


def enabled(settings: Any, shape: Any) -> dict[str, Any]:
    """A feature's settings as the stack config holds them, switched on."""
    return {**refs.plain(settings or {}, shape), "enabled": True}


def _monitoring(alerts: refs.AlertsRef | None) -> dict[str, Any]:
    """Monitoring as the other features' rules see it: on when its topics are given."""
    if alerts is None:
        return {"enabled": False}
    return {"enabled": True, "escalate": alerts.get("escalate", True)}


def _spend(spend: SpendGuardrailsSettings | None) -> dict[str, Any]:
    """The stack's cost caps and allowed types, as the features that start runs hold them. Its
    budgets are the SpendBudgets component's own settings, so they are left out here (their
    rules, such as needing the alert topics, are that component's)."""
    if not spend:
        return {}
    guardrails = refs.plain(spend, SpendGuardrailsSettings)
    return {"spendGuardrails": {k: v for k, v in guardrails.items() if k != "budgets"}}


def child(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent)


# ---- Platform ----------------------------------------------------------------------------------


class PlatformArgs(TypedDict, total=False):
    environment: Required[str]
    """Environment name used in names and tags (lowercase, max 16 characters)."""
    artifacts: ArtifactsSettings
    """The artifacts bucket."""
    access_logs: AccessLogsSettings
    """Where every bucket of the stack logs its requests."""
    budget_notifications: bool
    """AWS Budgets may publish to the stack's encrypted topics (budgets are on). Default: false."""


class Platform(pulumi.ComponentResource):
    """The stack's KMS key, artifacts bucket and access logging, which every feature builds on."""

    key_arn: pulumi.Output[str]
    """The stack's KMS key."""
    artifacts_bucket_name: pulumi.Output[str]
    """The artifacts bucket (models, checkpoints, data capture, reports)."""
    artifacts_bucket_arn: pulumi.Output[str]
    """The artifacts bucket's ARN."""
    access_logs_bucket: pulumi.Output[str] | None
    """The bucket every bucket logs its requests to (none when CloudTrail records them)."""

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(token(Platform), name, None, opts)
        settings = refs.validated(
            environment=args["environment"],
            models={},
            features={
                "artifacts": refs.plain(args.get("artifacts") or {}, ArtifactsSettings),
                "accessLogs": refs.plain(args.get("access_logs") or {}, AccessLogsSettings),
            },
        )
        foundation = Foundation(
            name,
            FoundationArgs(
                ctx=refs.aws_context(settings.region),
                environment=settings.environment,
                noncurrent_version_days=settings.artifacts.noncurrent_version_days,
                access_log_destination=settings.access_logs.destination,
                access_log_retention_days=settings.access_logs.retention_days,
                budget_notifications=args.get("budget_notifications", False),
            ),
            opts=child(self),
        )
        self.key_arn = foundation.key_arn
        self.artifacts_bucket_name = foundation.artifacts_bucket_name
        self.artifacts_bucket_arn = foundation.artifacts_bucket_arn
        if foundation.access_log_bucket_name is not None:
            self.access_logs_bucket = foundation.access_log_bucket_name
        self.register_outputs(
            {
                "key_arn": self.key_arn,
                "artifacts_bucket_name": self.artifacts_bucket_name,
                "artifacts_bucket_arn": self.artifacts_bucket_arn,
            }
        )


# ---- TrainingPipeline --------------------------------------------------------------------------


class TrainingPipelineInputs(TypedDict, total=False):
    model_name: Required[str]
    """The model's name (lowercase, at most 32 characters)."""
    model: Required[ModelSettings]
    """The model to train."""
    platform: Required[refs.PlatformRef]
    """The stack's platform (the Platform component's outputs)."""
    spend_guardrails: SpendGuardrailsSettings
    """The stack's spend guardrails (the model's cost cap)."""


class TrainingPipeline(pulumi.ComponentResource):
    """One model's SageMaker pipeline, execution role and (with registerModel) package group."""

    pipeline_name: pulumi.Output[str]
    """The SageMaker pipeline's name."""
    pipeline_arn: pulumi.Output[str]
    """The SageMaker pipeline's ARN."""
    execution_role_arn: pulumi.Output[str]
    """The model's SageMaker execution role (for TrainingMonitor.executionRoles)."""
    execution_role_name: pulumi.Output[str]
    """The execution role's name."""

    def __init__(
        self, name: str, args: TrainingPipelineInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(token(TrainingPipeline), name, None, opts)
        model_name = args["model_name"]
        settings = refs.validated(
            environment=args["platform"]["environment"],
            models={model_name: args["model"]},
            features=_spend(args.get("spend_guardrails")),
        )
        platform = refs.platform_context(args["platform"], settings)
        pipeline = PipelineComponent(
            name,
            TrainingPipelineArgs(
                model_name=model_name, model=settings.models[model_name], platform=platform
            ),
            opts=child(self),
        )
        self.pipeline_name = pulumi.Output.from_input(pipeline.pipeline_name)
        self.pipeline_arn = pipeline.pipeline_arn
        self.execution_role_arn = pulumi.Output.from_input(pipeline.execution_role.arn)
        self.execution_role_name = pulumi.Output.from_input(pipeline.execution_role.name)
        self.register_outputs(
            {"pipeline_name": self.pipeline_name, "pipeline_arn": self.pipeline_arn}
        )


class StackRef(TypedDict, total=False):
    """The stack a feature belongs to: its platform, models and the other components it uses."""

    platform: Required[refs.PlatformRef]
    """The stack's platform (the Platform component's outputs)."""
    models: Required[dict[str, ModelSettings]]
    """The stack's models, by name."""
    alerts: refs.AlertsRef
    """Where alarms go (TrainingMonitor's topics); unset: no alarms."""
    event_bus: refs.TrainingBusRef
    """Where domain events go (TrainingEventStore's bus); unset: none are published."""
    spend_guardrails: SpendGuardrailsSettings
    """The stack's spend guardrails (cost caps the starters hold runs to)."""
    training_slots: bool
    """The stack has a TrainingQueue, whose slot ledger the others claim and keep."""


# ---- TrainingMonitor ---------------------------------------------------------------------------


class TrainingMonitorInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to (its alerts are this component's own)."""
    config: MonitoringSettings
    """Monitoring's settings (`trainops:monitoring`)."""
    execution_roles: Required[dict[str, refs.ExecutionRoleRef]]
    """Each model's execution role (TrainingPipeline outputs), by model name."""


class TrainingMonitor(pulumi.ComponentResource):
    """Alert topics, failure rules, the stall check, endpoint, bias and Lambda alarms."""

    warning_topic_arn: pulumi.Output[str]
    """The warning topic (for the other components' `alerts`)."""
    critical_topic_arn: pulumi.Output[str]
    """The critical topic (for the other components' `alerts`)."""

    def __init__(
        self, name: str, args: TrainingMonitorInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(token(TrainingMonitor), name, None, opts)
        stack = args["stack"]
        settings = refs.validated(
            environment=stack["platform"]["environment"],
            models=stack["models"],
            features={
                "monitoring": enabled(args.get("config"), MonitoringSettings),
                **_spend(stack.get("spend_guardrails")),
            },
        )
        monitor = MonitorComponent(
            name,
            TrainingMonitorArgs(
                config=settings.monitoring,
                platform=feature_platform(stack, settings),
                execution_roles=refs.execution_roles(args["execution_roles"], settings.models),
            ),
            opts=child(self),
        )
        self.warning_topic_arn = monitor.warning_topic_arn
        self.critical_topic_arn = monitor.critical_topic_arn
        self.register_outputs(
            {
                "warning_topic_arn": self.warning_topic_arn,
                "critical_topic_arn": self.critical_topic_arn,
            }
        )


# ---- the features that start and record training -----------------------------------------------


def feature_settings(
    stack: StackRef,
    key: str,
    config: Any,
    shape: Any,
    *,
    implied: Mapping[str, Any] | None = None,
) -> Any:
    """The stack config a feature's inputs amount to, validated (`refs.validated`): its own
    settings switched on, monitoring on when alerts are given, the spend guardrails, and what
    the feature's references imply (``implied``: a queue reference is `trainingQueue` on)."""
    features = {
        key: enabled(config, shape),
        "monitoring": _monitoring(stack.get("alerts")),
        **_spend(stack.get("spend_guardrails")),
        **(implied or {}),
    }
    return refs.validated(
        environment=stack["platform"]["environment"],
        models=stack["models"],
        features=features,
    )


def feature_platform(stack: StackRef, settings: Any, *, training_slots: bool = False) -> Any:
    """The platform context of a feature of ``stack`` (``training_slots``: the feature is the
    queue, which creates the slot ledger)."""
    return refs.platform_context(
        stack["platform"],
        settings,
        alerts=stack.get("alerts"),
        event_bus=stack.get("event_bus"),
        training_slots=training_slots or stack.get("training_slots", False),
    )


# ---- SpendBudgets ------------------------------------------------------------------------------


class SpendBudgetsInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to (its alerts are required: the budgets notify them)."""
    config: BudgetsSettings
    """The budgets (`trainops:spendGuardrails.budgets`); stack.spendGuardrails.budgets is unused."""


class SpendBudgets(pulumi.ComponentResource):
    """A monthly AWS cost budget per model with monthlyBudget and one for the stack, notifying
    the alert topics (the Platform needs budgetNotifications)."""

    model_budget_names: pulumi.Output[dict[str, str]]
    """Each budgeted model's budget, by model name."""
    stack_budget_name: pulumi.Output[str] | None
    """The stack's budget (unset without stackMonthlyLimit)."""

    def __init__(
        self, name: str, args: SpendBudgetsInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(token(SpendBudgets), name, None, opts)
        stack = args["stack"]
        monitoring = _monitoring(stack.get("alerts"))
        guardrails = refs.plain(stack.get("spend_guardrails") or {}, SpendGuardrailsSettings)
        settings = refs.validated(
            environment=stack["platform"]["environment"],
            models=stack["models"],
            features={
                "monitoring": monitoring,
                "spendGuardrails": {
                    **guardrails,
                    "budgets": enabled(args.get("config"), BudgetsSettings),
                },
            },
        )
        budgets = BudgetsComponent(
            name,
            SpendBudgetsArgs(platform=feature_platform(stack, settings)),
            opts=child(self),
        )
        self.model_budget_names = pulumi.Output.from_input(budgets.model_budget_names)
        if budgets.stack_budget_name is not None:
            self.stack_budget_name = pulumi.Output.from_input(budgets.stack_budget_name)
        self.register_outputs({"model_budget_names": self.model_budget_names})


COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (
    Platform,
    TrainingPipeline,
    TrainingMonitor,
    SpendBudgets,
)
