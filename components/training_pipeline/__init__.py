"""One SageMaker pipeline and its execution role per model (`component.TrainingPipeline`), and
the pipeline definition it runs (`definition`)."""

from components.training_pipeline.component import TrainingPipeline, TrainingPipelineArgs

__all__ = ["TrainingPipeline", "TrainingPipelineArgs"]
