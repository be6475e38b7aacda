"""trainops: reusable Pulumi components for operating model training on AWS."""

from components.alarms import AlertLadder, PlatformCriticalAlarm, PlatformCriticalAlarmArgs
from components.config import ConfigError, StackConfig, load, parse
from components.dashboard import DashboardSources, OperationsDashboard, OperationsDashboardArgs
from components.event_sourcing import TrainingEventStore, TrainingEventStoreArgs
from components.foundation import Foundation, FoundationArgs
from components.iam import AwsContext
from components.lambda_function import PythonFunction, PythonFunctionArgs
from components.maintenance_window import MaintenanceWindowArgs, MaintenanceWindowRetraining
from components.monitoring import TrainingMonitor, TrainingMonitorArgs
from components.scheduled_retraining import ScheduledRetraining, ScheduledRetrainingArgs
from components.training_pipeline import TrainingPipeline, TrainingPipelineArgs
from components.training_queue import TrainingQueue, TrainingQueueArgs
from components.training_slots import TrainingSlotsRef

__all__ = [
    "AlertLadder",
    "AwsContext",
    "ConfigError",
    "DashboardSources",
    "Foundation",
    "FoundationArgs",
    "MaintenanceWindowArgs",
    "MaintenanceWindowRetraining",
    "OperationsDashboard",
    "OperationsDashboardArgs",
    "PlatformCriticalAlarm",
    "PlatformCriticalAlarmArgs",
    "PythonFunction",
    "PythonFunctionArgs",
    "ScheduledRetraining",
    "ScheduledRetrainingArgs",
    "StackConfig",
    "TrainingEventStore",
    "TrainingEventStoreArgs",
    "TrainingMonitor",
    "TrainingMonitorArgs",
    "TrainingPipeline",
    "TrainingPipelineArgs",
    "TrainingQueue",
    "TrainingQueueArgs",
    "TrainingSlotsRef",
    "load",
    "parse",
]
