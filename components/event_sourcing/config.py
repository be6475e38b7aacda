"""`trainops:eventSourcing`: the training bus, archive, event store, projections and the
optional notebook."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    model_validator,
)

from components.platform.config_types import (
    INSTANCE_TYPE,
    ConfigModel,
    GraceMinutes,
    LifecycleDays,
    feature_switch,
    nested,
)


class NotebookConfig(ConfigModel):
    """Optional, hardened SageMaker notebook for exploring runs and events."""

    enabled: bool = Field(default=False, description="Create the notebook instance.")
    instance_type: str = Field(
        default="ml.t3.medium", pattern=INSTANCE_TYPE.pattern, description="Notebook instance type."
    )
    volume_size_gb: int = Field(default=20, ge=5, le=16384, description="Notebook volume size.")
    idle_minutes: GraceMinutes = Field(
        default=60, description="Stop the notebook after this long without activity."
    )
    subnet_id: str | None = Field(
        default=None,
        pattern=r"^subnet-[0-9a-f]{8,17}$",
        description="Run in this VPC subnet, without direct internet access.",
    )
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list, max_length=5, description="Security groups (required with subnetId)."
    )

    @model_validator(mode="after")
    def _security_groups_with_subnet(self) -> NotebookConfig:
        if self.subnet_id and not self.security_group_ids:
            raise ValueError("securityGroupIds are required when subnetId is set")
        return self


class EventSourcingConfig(ConfigModel):
    """Event bus, archive, event store, projections and replay."""

    enabled: bool = feature_switch("event-sourcing")
    archive_retention_days: int = Field(
        default=365,
        ge=0,
        le=36500,
        description="Days the EventBridge archive keeps events (0 keeps them forever).",
    )
    immutable: bool = Field(
        default=False, description="S3 Object Lock on the raw-event bucket (audit trail)."
    )
    immutable_retention_days: int = Field(
        default=365, ge=1, le=36500, description="Object Lock retention of raw events."
    )
    raw_events_noncurrent_days: LifecycleDays = Field(
        default=365, description="Days replaced raw-event versions are kept."
    )
    protect: bool | None = Field(
        default=None,
        description="Pulumi `protect` on tables and bucket (default: on when environment is prod).",
    )
    projector_max_record_age_seconds: int = Field(
        default=3600,
        ge=60,
        le=604800,
        description="Older stream records go to the projector's failure queue.",
    )
    notebook: NotebookConfig = nested(NotebookConfig)
