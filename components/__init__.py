"""trainops: reusable Pulumi components for operating model training on AWS."""

from components.approval_deployment.component import ApprovalDeployment, ApprovalDeploymentArgs
from components.config import ConfigError, StackConfig, load, parse
from components.event_sourcing.component import TrainingEventStore, TrainingEventStoreArgs
from components.maintenance_window.component import (
    MaintenanceWindowArgs,
    MaintenanceWindowRetraining,
)
from components.monitoring.component import TrainingMonitor, TrainingMonitorArgs
from components.platform.alarms import (
    AlertLadder,
    PlatformCriticalAlarm,
    PlatformCriticalAlarmArgs,
)
from components.platform.dashboard import (
    DashboardSources,
    OperationsDashboard,
    OperationsDashboardArgs,
)
from components.platform.foundation import Foundation, FoundationArgs
from components.platform.iam import AwsContext
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.training_slots import TrainingSlotsRef
from components.quality_retraining.component import QualityRetraining, QualityRetrainingArgs
from components.scheduled_retraining.component import ScheduledRetraining, ScheduledRetrainingArgs
from components.training_pipeline.component import TrainingPipeline, TrainingPipelineArgs
from components.training_queue.component import TrainingQueue, TrainingQueueArgs

__all__ = [
    "AlertLadder",
    "ApprovalDeployment",
    "ApprovalDeploymentArgs",
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
    "QualityRetraining",
    "QualityRetrainingArgs",
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
