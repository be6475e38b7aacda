"""Systems Manager quotas: the tasks of a maintenance window, the windows of an account."""

from __future__ import annotations

from .base import Quota, Service, Shared

SSM_QUOTAS = "https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm"
WINDOW = "aws:ssm/maintenanceWindow:MaintenanceWindow"
WINDOW_TASK = "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"

WINDOW_TASKS = Quota(
    "ssm-window-tasks",
    "the tasks of one maintenance window",
    20,
    "tasks",
    "spread the tasks over more windows",
    SSM_QUOTAS,
)
WINDOWS = Quota(
    "ssm-windows",
    "the maintenance windows of an account and region",
    50,
    "windows",
    "retrain fewer models in maintenance windows (maintenanceWindow.models), or raise the "
    "quota in Service Quotas",
    SSM_QUOTAS,
)

SERVICE = Service(
    quotas=(WINDOW_TASKS, WINDOWS),
    shared={
        WINDOW_TASK: Shared(
            WINDOW_TASKS.id, "windowId", subject=lambda window, _: f"window {window}"
        ),
        WINDOW: Shared(WINDOWS.id, None, subject=lambda stack, _: f"{stack} windows"),
    },
)
