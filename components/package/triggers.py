"""The package's features that start and record training: scheduled retraining, the training
queue, maintenance-window retraining and the event store (facades, as in `facades`).

The annotations here are read at run time by the SDK's analyzer, so this module does not
use `from __future__ import annotations` (which would turn them into strings it cannot follow).
"""

from typing import Required, TypedDict

import pulumi

from components.event_sourcing.component import TrainingEventStore as EventStoreComponent
from components.event_sourcing.component import TrainingEventStoreArgs
from components.maintenance_window.component import MaintenanceWindowArgs
from components.maintenance_window.component import (
    MaintenanceWindowRetraining as MaintenanceWindowComponent,
)
from components.package.facades import (
    StackRef,
    child,
    feature_platform,
    feature_settings,
    token,
)
from components.package.settings import (
    EventSourcingSettings,
    MaintenanceWindowSettings,
    ScheduledRetrainingSettings,
    TrainingQueueSettings,
)
from components.scheduled_retraining.component import (
    ScheduledRetraining as ScheduledRetrainingComponent,
)
from components.scheduled_retraining.component import ScheduledRetrainingArgs
from components.training_queue.component import TrainingQueue as QueueComponent
from components.training_queue.component import TrainingQueueArgs


class ScheduledRetrainingInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to."""
    config: ScheduledRetrainingSettings
    """Scheduled retraining's settings (`trainops:scheduledRetraining`)."""


class ScheduledRetraining(pulumi.ComponentResource):
    """One EventBridge Scheduler schedule per model; a tick never overlaps a training of its
    model and never starts twice."""

    schedule_group_name: pulumi.Output[str]
    """The schedule group."""
    function_name: pulumi.Output[str]
    """The function each tick invokes."""

    def __init__(
        self,
        name: str,
        args: ScheduledRetrainingInputs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(token(ScheduledRetraining), name, None, opts)
        settings = feature_settings(
            args["stack"], "scheduledRetraining", args.get("config"), ScheduledRetrainingSettings
        )
        retraining = ScheduledRetrainingComponent(
            name,
            ScheduledRetrainingArgs(
                config=settings.scheduled_retraining,
                platform=feature_platform(args["stack"], settings),
            ),
            opts=child(self),
        )
        self.schedule_group_name = retraining.schedule_group_name
        self.function_name = retraining.function_name
        self.register_outputs({"schedule_group_name": self.schedule_group_name})


class TrainingQueueInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to."""
    config: TrainingQueueSettings
    """The training queue's settings (`trainops:trainingQueue`)."""
    keep_slots: bool
    """Run the queue's own slot keeper: true without a TrainingMonitor. Default: false."""


class TrainingQueue(pulumi.ComponentResource):
    """A FIFO queue of training requests and the worker that starts them with back-pressure."""

    queue_url: pulumi.Output[str]
    """Where producers send TrainingRequests."""
    queue_arn: pulumi.Output[str]
    """The queue's ARN."""
    dead_letter_queue_url: pulumi.Output[str]
    """Rejected requests, each with its reason."""
    training_slots_table: pulumi.Output[str]
    """The slot ledger: which models train now."""

    def __init__(
        self, name: str, args: TrainingQueueInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(token(TrainingQueue), name, None, opts)
        settings = feature_settings(
            args["stack"], "trainingQueue", args.get("config"), TrainingQueueSettings
        )
        queue = QueueComponent(
            name,
            TrainingQueueArgs(
                config=settings.training_queue,
                platform=feature_platform(args["stack"], settings, training_slots=True),
                keep_slots=args.get("keep_slots", False),
            ),
            opts=child(self),
        )
        self.queue_url = queue.queue_url
        self.queue_arn = queue.queue_arn
        self.dead_letter_queue_url = queue.dead_letter_queue_url
        self.training_slots_table = pulumi.Output.from_input(queue.training_slots_table)
        self.register_outputs({"queue_url": self.queue_url})


class MaintenanceWindowRetrainingInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to."""
    config: MaintenanceWindowSettings
    """Maintenance-window retraining's settings (`trainops:maintenanceWindow`)."""
    guard_alarm_name: str
    """An alarm whose ALARM state stops running retraining (with guardWithCriticalAlarm)."""


class MaintenanceWindowRetraining(pulumi.ComponentResource):
    """Retraining on the team's own hosts (by tag) in an SSM maintenance window."""

    window_id: pulumi.Output[str]
    """The maintenance window."""
    instance_policy_arn: pulumi.Output[str]
    """Attach to the hosts' instance role: what the retraining command may do."""

    def __init__(
        self,
        name: str,
        args: MaintenanceWindowRetrainingInputs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(token(MaintenanceWindowRetraining), name, None, opts)
        settings = feature_settings(
            args["stack"], "maintenanceWindow", args.get("config"), MaintenanceWindowSettings
        )
        window = MaintenanceWindowComponent(
            name,
            MaintenanceWindowArgs(
                config=settings.maintenance_window,
                platform=feature_platform(args["stack"], settings),
                guard_alarm_name=args.get("guard_alarm_name"),
            ),
            opts=child(self),
        )
        self.window_id = window.window_id
        self.instance_policy_arn = window.instance_policy_arn
        self.register_outputs({"window_id": self.window_id})


class TrainingEventStoreInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to."""
    config: EventSourcingSettings
    """Event sourcing's settings (`trainops:eventSourcing`)."""


class TrainingEventStore(pulumi.ComponentResource):
    """The training event bus and archive, the append-only event store, its projections."""

    event_bus_name: pulumi.Output[str]
    """The training bus (for the other components' `eventBus`)."""
    event_bus_arn: pulumi.Output[str]
    """The training bus's ARN."""
    events_table_name: pulumi.Output[str]
    """The event store."""
    read_model_table_name: pulumi.Output[str]
    """The read model."""

    def __init__(
        self,
        name: str,
        args: TrainingEventStoreInputs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(token(TrainingEventStore), name, None, opts)
        settings = feature_settings(
            args["stack"], "eventSourcing", args.get("config"), EventSourcingSettings
        )
        store = EventStoreComponent(
            name,
            TrainingEventStoreArgs(
                config=settings.event_sourcing, platform=feature_platform(args["stack"], settings)
            ),
            opts=child(self),
        )
        self.event_bus_name = pulumi.Output.from_input(store.bus.name)
        self.event_bus_arn = pulumi.Output.from_input(store.bus.arn)
        self.events_table_name = store.events_table_name
        self.read_model_table_name = store.read_model_table_name
        self.register_outputs({"event_bus_name": self.event_bus_name})


COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (
    ScheduledRetraining,
    TrainingQueue,
    MaintenanceWindowRetraining,
    TrainingEventStore,
)
