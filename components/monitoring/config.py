"""`trainops:monitoring`: alert topics, subscribers, escalation, host alarms and Incident
Manager."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    model_validator,
)

from components.platform.config_types import (
    SLACK_ID,
    ConfigModel,
    Email,
    EmailSubscribers,
    GraceMinutes,
    HttpsUrl,
    RuleScheduleExpression,
    feature_switch,
    nested,
)
from trainops_runtime.settings import StallDetectorSettings


class SlackConfig(ConfigModel):
    """A Slack channel that receives the alert topics through AWS Chatbot."""

    workspace_id: str = Field(pattern=SLACK_ID.pattern, description="Slack workspace (team) ID.")
    channel_id: str = Field(pattern=SLACK_ID.pattern, description="Slack channel ID.")


# A host's disk or memory use, in percent, at which its alarm fires (above 0: at 0 every host
# would alarm).
UsePercent = Annotated[float, Field(gt=0, le=100)]


class HostAlarmsConfig(ConfigModel):
    """Training-host alarm thresholds (Metrics Insights over all training jobs)."""

    disk_percent: UsePercent = Field(default=90, description="Disk use that alarms.")
    memory_percent: UsePercent = Field(default=90, description="Memory use that alarms.")
    gpu_idle_percent: float = Field(
        default=5, ge=0, lt=100, description="GPU use below which a GPU host counts as idle."
    )
    gpu_idle_minutes: int = Field(
        default=30,
        ge=5,
        le=175,
        description="Minutes a GPU host may idle before it alarms (Metrics Insights alarms see "
        "at most 3 hours).",
    )


# SSM Contacts `Stage.DurationInMinutes`: 0-30 (API reference, SSM Contacts Stage).
SSM_CONTACTS_STAGE_MAX = 30


class IncidentContact(ConfigModel):
    """A person Incident Manager engages, by e-mail."""

    alias: str = Field(pattern=r"^[a-z0-9_-]{1,255}$", description="Contact alias.")
    name: str = Field(min_length=1, max_length=255, description="Display name.")
    email: Email = Field(description="Where engagements go.")


class IncidentManagerConfig(ConfigModel):
    """Optional Incident Manager escalation of critical alarms."""

    enabled: bool = Field(default=False, description="Engage Incident Manager on critical alarms.")
    contacts: list[IncidentContact] = Field(
        default_factory=list, max_length=10, description="Engaged in order, one per stage."
    )
    create_replication_set: bool = Field(
        default=False,
        description="Create the account's Incident Manager replication set (once per account).",
    )
    stage_minutes: int | None = Field(
        default=None,
        ge=1,
        le=SSM_CONTACTS_STAGE_MAX,
        description="Minutes each contact has to engage before the next one is engaged "
        "(SSM Contacts allows at most 30; default: escalateAfterMinutes, capped at 30).",
    )

    @model_validator(mode="after")
    def _contacts_when_enabled(self) -> IncidentManagerConfig:
        if self.enabled and not self.contacts:
            raise ValueError("contacts: at least one contact is required when enabled")
        return self

    def stage_minutes_for(self, escalate_after_minutes: int) -> int:
        """The escalation plan's stage duration: configured, or the alarm escalation delay
        within what SSM Contacts accepts."""
        if self.stage_minutes is not None:
            return self.stage_minutes
        return min(escalate_after_minutes, SSM_CONTACTS_STAGE_MAX)


class MonitoringConfig(ConfigModel):
    """Alert topics, alarms, escalation, bias monitoring and the dashboard."""

    enabled: bool = feature_switch("monitoring")
    alert_emails: EmailSubscribers = Field(
        default_factory=list, description="E-mail subscribers of the alert topics."
    )
    alert_webhooks: list[HttpsUrl] = Field(
        default_factory=list,
        max_length=10,
        description="HTTPS endpoints (paging tools) subscribed to the critical topic.",
    )
    slack: SlackConfig | None = Field(
        default=None, description="Slack channel for both topics through AWS Chatbot."
    )
    escalate_after_minutes: GraceMinutes = Field(
        default=30,
        description="Minutes an alarm may stay in ALARM before it escalates to `critical`.",
    )
    escalate: bool = Field(
        default=True,
        description="Create escalation twins (off: alarms notify `warning` only, half the bill).",
    )
    lambda_throttle_alarms: bool = Field(
        default=True,
        description="A Throttles alarm per Lambda function, beside its Errors alarm.",
    )
    stall_check_schedule: RuleScheduleExpression = Field(
        default="rate(5 minutes)", description="How often running jobs are checked for stalls."
    )
    overrun_fraction: float = Field(
        default=StallDetectorSettings.default("overrun_fraction"),
        gt=0,
        le=1,
        description="Share of maxRuntimeMinutes after which a running job counts as overrunning.",
    )
    stalled_after_minutes: GraceMinutes = Field(
        default=StallDetectorSettings.default("stalled_after_minutes"),
        description="Minutes without progress before a job counts as stalled: no secondary-status "
        "change, or, while training, no log output.",
    )
    host_alarms: HostAlarmsConfig = nested(HostAlarmsConfig)
    incident_manager: IncidentManagerConfig = nested(IncidentManagerConfig)
    dashboard: bool = Field(default=True, description="Create the operations dashboard.")
