"""The SQS-fed training pipeline: FIFO request queue, worker, outcome handler, slot keeper
(`component.TrainingQueue`)."""

from components.training_queue.component import TrainingQueue, TrainingQueueArgs

__all__ = ["TrainingQueue", "TrainingQueueArgs"]
