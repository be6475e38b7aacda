"""Event sourcing of the training workflow: bus, archive, event store, projections, replay
(`component.TrainingEventStore`), and the optional analysis notebook (`notebook`)."""

from components.event_sourcing.component import TrainingEventStore, TrainingEventStoreArgs

__all__ = ["TrainingEventStore", "TrainingEventStoreArgs"]
