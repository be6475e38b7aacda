"""Monitoring and escalation: alert topics, SageMaker failure rules, stall detection, host,
endpoint and bias alarms, Incident Manager (`component.TrainingMonitor`)."""

from components.monitoring.component import TrainingMonitor, TrainingMonitorArgs

__all__ = ["TrainingMonitor", "TrainingMonitorArgs"]
