"""`StackConfig`: the whole `trainops:` namespace of one stack, composed of each feature's
config, with the rules that span features (a maintenance model must be a configured model; a
feature that alerts needs monitoring; a model deployed on approval needs the feature that deploys
it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from components.approval_deployment.config import ApprovalDeploymentConfig
from components.event_sourcing.config import EventSourcingConfig
from components.maintenance_window.config import MaintenanceWindowConfig
from components.monitoring.config import MonitoringConfig
from components.platform.config_types import (
    ENVIRONMENT,
    ConfigModel,
    LogRetentionDays,
    ModelName,
    nested,
)
from components.platform.foundation_config import AccessLogsConfig, ArtifactsConfig
from components.platform.model_config import ModelConfig
from components.platform.spend_config import SpendGuardrailsConfig
from components.quality_retraining.config import QualityRetrainingConfig
from components.scheduled_retraining.config import ScheduledRetrainingConfig
from components.training_queue.config import (
    TrainingQueueConfig,
)

# Rules quality signal patterns may add to the default bus, beside the stack's own few.
MAX_QUALITY_PATTERN_RULES = 100
# Validation context of a stack a program composes from the component package: which features
# exist is decided by the components it creates, not by `enabled` keys, so the rules that tie a
# model's setting to another feature's switch do not apply.
COMPOSED = "composed"


def composed(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(COMPOSED))


class StackConfig(ConfigModel):
    """The whole `trainops:` namespace of one stack."""

    environment: Annotated[str, Field(pattern=ENVIRONMENT.pattern)] = Field(
        description="Environment name used in names and tags (lowercase, max 16 characters)."
    )
    models: dict[ModelName, ModelConfig] = Field(
        default_factory=dict, description="The models the platform trains, by name."
    )
    log_retention_days: LogRetentionDays = Field(
        default=30, description="Retention of every log group the stack creates."
    )
    powertools_layer_version: int = Field(
        default=27,
        ge=1,
        description="Version of AWS's published Powertools for AWS Lambda (Python) V3 layer.",
    )
    artifacts: ArtifactsConfig = nested(ArtifactsConfig)
    access_logs: AccessLogsConfig = nested(AccessLogsConfig)
    monitoring: MonitoringConfig = nested(MonitoringConfig)
    scheduled_retraining: ScheduledRetrainingConfig = nested(ScheduledRetrainingConfig)
    training_queue: TrainingQueueConfig = nested(TrainingQueueConfig)
    maintenance_window: MaintenanceWindowConfig = nested(MaintenanceWindowConfig)
    event_sourcing: EventSourcingConfig = nested(EventSourcingConfig)
    quality_retraining: QualityRetrainingConfig = nested(QualityRetrainingConfig)
    approval_deployment: ApprovalDeploymentConfig = nested(ApprovalDeploymentConfig)
    spend_guardrails: SpendGuardrailsConfig = nested(SpendGuardrailsConfig)

    _region: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _maintenance_models_exist(self) -> StackConfig:
        unknown = sorted(set(self.maintenance_window.models) - set(self.models))
        if unknown:
            raise ValueError(
                f"maintenanceWindow.models: {', '.join(unknown)} are not configured models; "
                f"known: {', '.join(sorted(self.models)) or 'none'}"
            )
        window = self.maintenance_window
        if (
            window.enabled
            and window.guard_with_critical_alarm
            and not (self.monitoring.enabled and self.monitoring.escalate)
        ):
            raise ValueError(
                "maintenanceWindow.guardWithCriticalAlarm: needs monitoring.enabled and "
                "monitoring.escalate (the platform-critical alarm summarises escalations)"
            )
        return self

    @model_validator(mode="after")
    def _notifications_need_their_topic(self) -> StackConfig:
        retraining = self.scheduled_retraining
        if (
            retraining.enabled
            and retraining.notifications == "warning"
            and not self.monitoring.enabled
        ):
            raise ValueError(
                "scheduledRetraining.notifications: 'warning' needs monitoring.enabled: true; "
                "enable monitoring, or use 'dedicated' or 'none'"
            )
        return self

    @model_validator(mode="after")
    def _quality_retraining_needs_the_queue_and_alerts(self) -> StackConfig:
        """Quality retrains go through the training queue, so deduplication, training slots,
        back-pressure and retries apply to them as to any request; a tripped circuit breaker
        must reach a person, so monitoring's critical topic must exist."""
        if not self.quality_retraining.enabled:
            return self
        if not self.training_queue.enabled:
            raise ValueError(
                "qualityRetraining: needs trainingQueue.enabled: true (quality retrains are "
                "queued requests); enable the training queue, or turn qualityRetraining off"
            )
        if not self.monitoring.enabled:
            raise ValueError(
                "qualityRetraining: needs monitoring.enabled: true (a tripped circuit breaker "
                "alerts the critical topic); enable monitoring, or turn qualityRetraining off"
            )
        patterns = sum(
            len(model.quality_retraining.event_patterns)
            for model in self.models.values()
            if model.quality_retraining.enabled
        )
        if patterns > MAX_QUALITY_PATTERN_RULES:
            raise ValueError(
                f"models.*.qualityRetraining.eventPatterns: {patterns} patterns, one rule each; "
                f"at most {MAX_QUALITY_PATTERN_RULES} per stack (EventBridge allows 300 rules "
                "per bus): alarm on the signal instead, named trainops-<stack>--<model>--quality*"
            )
        return self

    @model_validator(mode="after")
    def _approval_deployment_has_its_switch_and_alerts(self, info: ValidationInfo) -> StackConfig:
        """A model that opts into approval-driven deployment hands its endpoint's config to the
        deploy function, which exists only with the feature on; a rollback must reach a person,
        so monitoring's critical topic must exist (and its warning topic, which the rollback
        alarms notify). Composed (the package: a model's settings without the stack's other
        switches), only the tie to monitoring applies."""
        opted = sorted(
            name
            for name, model in self.models.items()
            if model.endpoint is not None and model.endpoint.deploy_on_approval
        )
        if opted and not self.approval_deployment.enabled and not composed(info):
            key = (
                f"models.{opted[0]}.endpoint.deployOnApproval"
                if len(opted) == 1
                else f"models.<name>.endpoint.deployOnApproval of {', '.join(opted)}"
            )
            raise ValueError(
                f"{key}: needs approvalDeployment.enabled: true (the feature that deploys "
                "approved versions); turn approvalDeployment on, or remove deployOnApproval"
            )
        if self.approval_deployment.enabled and not self.monitoring.enabled:
            raise ValueError(
                "approvalDeployment: needs monitoring.enabled: true (a rolled-back deployment "
                "alerts the critical topic, and the rollback alarms notify the warning topic); "
                "enable monitoring, or turn approvalDeployment off"
            )
        return self

    @model_validator(mode="after")
    def _budgets_have_their_switch_and_topics(self, info: ValidationInfo) -> StackConfig:
        """A model's `monthlyBudget` is a budget only with the feature that creates budgets on;
        budgets notify monitoring's warning and critical topics, so those must exist. Composed
        (the package), only the tie to monitoring applies."""
        budgets = self.spend_guardrails.budgets
        budgeted = sorted(
            name for name, model in self.models.items() if model.monthly_budget is not None
        )
        if budgeted and not budgets.enabled and not composed(info):
            key = (
                f"models.{budgeted[0]}.monthlyBudget"
                if len(budgeted) == 1
                else f"models.<name>.monthlyBudget of {', '.join(budgeted)}"
            )
            raise ValueError(
                f"{key}: needs spendGuardrails.budgets.enabled: true (the feature that creates "
                "the budgets); turn spendGuardrails.budgets on, or remove monthlyBudget"
            )
        if budgets.enabled and not self.monitoring.enabled:
            raise ValueError(
                "spendGuardrails.budgets: needs monitoring.enabled: true (budgets notify the "
                "warning and critical topics); enable monitoring, or turn "
                "spendGuardrails.budgets off"
            )
        return self

    @property
    def region(self) -> str:
        """The stack's AWS region (`aws:region`)."""
        return self._region
