"""trainops: reusable Pulumi components for operating model training on AWS."""

from components.config import ConfigError, StackConfig, load, parse
from components.foundation import Foundation, FoundationArgs
from components.iam import AwsContext
from components.lambda_function import PythonFunction, PythonFunctionArgs
from components.training_pipeline import TrainingPipeline, TrainingPipelineArgs

__all__ = [
    "AwsContext",
    "ConfigError",
    "Foundation",
    "FoundationArgs",
    "PythonFunction",
    "PythonFunctionArgs",
    "StackConfig",
    "TrainingPipeline",
    "TrainingPipelineArgs",
    "load",
    "parse",
]
