"""`trainops:trainingQueue`: the FIFO request queue, its worker and back-pressure."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import (
    Field,
    model_validator,
)

from components.platform.config_types import ConfigModel, feature_switch
from components.platform.model_config import ModelConfig
from trainops_runtime.settings import QueueWorkerSettings, TrainingOutcomeSettings

# SQS keeps a message at most 14 days: the longest a request can wait, so the longest
# `oldestMessageAlarmMinutes`, configured or derived, that could ever alarm.
OLDEST_MESSAGE_ALARM_MAX_MINUTES = 14 * 24 * 60


class TrainingQueueConfig(ConfigModel):
    """Training requests through an SQS FIFO queue, with back-pressure."""

    enabled: bool = feature_switch("training queue")
    max_concurrent_trainings: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Pipeline executions allowed to run at once across the platform.",
    )
    max_attempts: int = Field(
        default=TrainingOutcomeSettings.default("max_attempts"),
        ge=1,
        le=10,
        description="Attempts per request before it fails for good.",
    )
    batch_size: int = Field(default=5, ge=1, le=10, description="Messages per worker invocation.")
    worker_concurrency: int = Field(
        default=2, ge=2, le=50, description="Worker invocations at once (SQS maximum concurrency)."
    )
    worker_timeout_seconds: int = Field(
        default=60, ge=10, le=900, description="Worker timeout; visibility timeout is 6x this."
    )
    max_receive_count: int | None = Field(
        default=None,
        ge=5,
        le=1000,
        description="Receives before the DLQ; waiting for capacity or for the model's running "
        "training spends receives too (default: as many as fit in retentionDays at "
        "backoffMaxSeconds, so a waiting request reaches the DLQ before SQS would expire it).",
    )
    backoff_base_seconds: int = Field(
        default=QueueWorkerSettings.default("backoff_base_seconds"),
        ge=1,
        le=900,
        description="First delay before a deferred message returns.",
    )
    backoff_max_seconds: int = Field(
        default=QueueWorkerSettings.default("backoff_max_seconds"),
        ge=1,
        le=36000,
        description="Longest delay between two deliveries (SQS keeps a received message "
        "invisible for at most 12 hours in all).",
    )
    retention_days: int = Field(
        default=4, ge=1, le=13, description="How long requests wait (the DLQ keeps 14 days)."
    )
    oldest_message_alarm_minutes: int | None = Field(
        default=None,
        ge=5,
        le=OLDEST_MESSAGE_ALARM_MAX_MINUTES,
        description="Age of the oldest waiting request that alarms (default: the longest run of "
        "any model plus an hour, at least 120: a request may wait for its model's training).",
    )
    notify_success: bool = Field(
        default=False, description="Also notify the warning topic when a training succeeds."
    )

    @model_validator(mode="after")
    def _backoff_in_order(self) -> TrainingQueueConfig:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoffMaxSeconds must be at least backoffBaseSeconds")
        if self.max_receive_count is not None and (
            self.max_receive_count * self.backoff_max_seconds > self.retention_seconds
        ):
            raise ValueError(
                f"maxReceiveCount ({self.max_receive_count}) x backoffMaxSeconds "
                f"({self.backoff_max_seconds}) is longer than retentionDays "
                f"({self.retention_days}): a waiting request would expire in the queue before "
                "reaching the DLQ; lower maxReceiveCount or raise retentionDays"
            )
        return self

    def oldest_request_alarm_minutes(self, models: Mapping[str, ModelConfig]) -> int:
        """`oldestMessageAlarmMinutes`, or the longest run of any of ``models`` plus an hour (at
        least 120): one model trains one request at a time, so the next may wait that long
        without anything being wrong."""
        if self.oldest_message_alarm_minutes is not None:
            return self.oldest_message_alarm_minutes
        longest = max(
            (
                max(m.max_runtime_minutes, m.spot_max_wait_minutes if m.spot.enabled else 0)
                for m in models.values()
            ),
            default=0,
        )
        return min(OLDEST_MESSAGE_ALARM_MAX_MINUTES, max(120, longest + 60))

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 24 * 3600

    @property
    def effective_max_receive_count(self) -> int:
        """Configured, or as many receives as fit in 90 % of the retention at the longest
        backoff: a request that keeps waiting is dead-lettered (and alarms) before it expires."""
        if self.max_receive_count is not None:
            return self.max_receive_count
        return max(5, min(1000, int(0.9 * self.retention_seconds / self.backoff_max_seconds)))
