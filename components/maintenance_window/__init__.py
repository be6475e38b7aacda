"""SSM maintenance-window retraining on tagged instances (`component.MaintenanceWindowRetraining`),
and the pure specs of its window, tasks and document (`specs`)."""

from components.maintenance_window.component import (
    MaintenanceWindowArgs,
    MaintenanceWindowRetraining,
)

__all__ = ["MaintenanceWindowArgs", "MaintenanceWindowRetraining"]
