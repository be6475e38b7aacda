"""The contract between a trainops pipeline definition and the code that starts it.

`components/training_pipeline/definition.py` declares these parameters when it generates each
model's pipeline; the runtime library sets them on every execution. Both import the names from
here, so they cannot drift apart.
"""

from __future__ import annotations

import re

TRAINING_DATA_URI = "TrainingDataUri"
INSTANCE_TYPE = "InstanceType"
INSTANCE_COUNT = "InstanceCount"
MAX_RUNTIME_SECONDS = "MaxRuntimeSeconds"
REQUEST_ID = "RequestId"
ATTEMPT = "Attempt"
HYPERPARAMETER_PREFIX = "Hp-"
# A model with `evaluation.compareWithApproved`: the metric of its currently approved model
# package, which the new model must match or beat. Its default is the threshold, so an execution
# started without it is gated by the threshold alone.
APPROVED_METRIC_VALUE = "ApprovedMetricValue"

# The evaluation gate's Fail step ends a run whose model missed the threshold with this message
# (the step's FailureReason), in a fixed form the outcome handler recognizes (`completion`):
#   trainops-gate-failed metric=<JSON path> value=<value> threshold=<threshold>[ approved=<value>]
GATE_FAILED_MARKER = "trainops-gate-failed"

# Executions in these states still hold a training slot.
RUNNING_STATES = frozenset({"Executing", "Stopping"})
# ... and these free it.
END_STATES = frozenset({"Succeeded", "Failed", "Stopped"})


def hyperparameter_parameter(name: str) -> str:
    """Pipeline parameter name for a hyperparameter (SageMaker allows letters, digits, -, _)."""
    return HYPERPARAMETER_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", name)
