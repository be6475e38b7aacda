"""`StackConfig`: the whole `trainops:` namespace of one stack, composed of each feature's
config, with the rules that span features (a maintenance model must be a configured model; a
feature that alerts needs monitoring)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    PrivateAttr,
    model_validator,
)

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
from components.scheduled_retraining.config import ScheduledRetrainingConfig
from components.training_queue.config import (
    TrainingQueueConfig,
)


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

    @property
    def region(self) -> str:
        """The stack's AWS region (`aws:region`)."""
        return self._region
