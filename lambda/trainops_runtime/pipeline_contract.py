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

# Executions in these states still hold a training slot.
RUNNING_STATES = frozenset({"Executing", "Stopping"})
# ... and these free it.
END_STATES = frozenset({"Succeeded", "Failed", "Stopped"})


def hyperparameter_parameter(name: str) -> str:
    """Pipeline parameter name for a hyperparameter (SageMaker allows letters, digits, -, _)."""
    return HYPERPARAMETER_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", name)
