"""Scheduled retraining: one EventBridge Scheduler schedule per model and the function that
starts it safely (`component.ScheduledRetraining`)."""

from components.scheduled_retraining.component import ScheduledRetraining, ScheduledRetrainingArgs

__all__ = ["ScheduledRetraining", "ScheduledRetrainingArgs"]
