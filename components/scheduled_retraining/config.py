"""`trainops:scheduledRetraining`: the schedule every model retrains on."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from components.platform.config_types import (
    ConfigModel,
    EmailSubscribers,
    ScheduleExpression,
    ScheduleTimeZone,
    ZonedDateTime,
    feature_switch,
)


class ScheduledRetrainingConfig(ConfigModel):
    """Retraining every model on a schedule (EventBridge Scheduler)."""

    enabled: bool = feature_switch("scheduled retraining")
    schedule: ScheduleExpression = Field(
        default="cron(0 6 * * ? *)",
        description="EventBridge Scheduler expression: `cron(...)`, `rate(...)` or `at(...)`.",
    )
    timezone: ScheduleTimeZone = "UTC"
    flexible_window_minutes: int = Field(
        default=0,
        ge=0,
        le=1440,
        description="Let Scheduler start up to this many minutes late to spread load (0: exact).",
    )
    start_date: ZonedDateTime | None = Field(
        default=None, description="No run before this time (ISO 8601, e.g. 2027-01-01T00:00:00Z)."
    )
    end_date: ZonedDateTime | None = Field(default=None, description="No run after this time.")
    only_when_new_data: bool = Field(
        default=False,
        description="Skip a run when nothing under trainingData changed since the last success.",
    )
    notifications: Literal["warning", "dedicated", "none"] = Field(
        default="warning",
        description="Where start/finish notices go: warning topic, a dedicated one, or none.",
    )
    notification_emails: EmailSubscribers = Field(
        default_factory=list, description="Subscribers of the dedicated topic."
    )
    max_event_age_minutes: int = Field(
        default=60, ge=1, le=1440, description="How late Scheduler may still deliver a tick."
    )
    retry_attempts: int = Field(
        default=5, ge=0, le=185, description="Scheduler's delivery retries before the DLQ."
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> ScheduledRetrainingConfig:
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("endDate must be after startDate")
        if self.notification_emails and self.notifications != "dedicated":
            raise ValueError("notificationEmails only apply with notifications: dedicated")
        return self
