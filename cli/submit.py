"""`trainops submit`: validate a training request locally and put it on a stack's queue.

Validation happens twice before anything is sent: the request itself (TrainingRequest), and
against the stack's config with the worker's own rule (`training.override_problem`: the model
exists, overridden hyperparameters are configured, a `--data` location lies under the model's
training data). A request the worker would dead-letter is refused here instead. The queue is
found by its fixed name, so no Pulumi CLI is needed, only AWS credentials.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import Any

from cli import offline
from components import config as config_module
from components.platform import naming
from trainops_runtime import training_request
from trainops_runtime.adapters import clients
from trainops_runtime.adapters.request_queue import enqueue, queue_name
from trainops_runtime.adapters.training import override_problem
from trainops_runtime.training_request import (
    InvalidRequest,
    TrainingRequest,
    new_request_id,
    parse,
)

SCHEMA_PATH = training_request.SCHEMA_PATH  # the contract producers validate against


def parse_params(items: Sequence[str]) -> dict[str, str]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"--param {item!r} must look like name=value")
        params[key] = value
    return params


def build_request(
    stack: str,
    model: str,
    *,
    data_uri: str | None = None,
    params: Sequence[str] = (),
    reason: str = "",
    requested_by: str | None = None,
    request_id: str | None = None,
) -> tuple[TrainingRequest, config_module.StackConfig]:
    """A validated request for ``model`` on ``stack`` (raises InvalidRequest or ConfigError)."""
    settings = config_module.parse(offline.stack_config(stack))
    if not settings.training_queue.enabled:
        raise InvalidRequest(
            f"stack {stack} has no training queue (trainingQueue.enabled is false)"
        )
    raw: dict[str, Any] = {
        "model": model,
        "requestId": request_id or new_request_id(),
        "requestedBy": requested_by or getpass.getuser(),
        "reason": reason,
        "hyperparameters": parse_params(params),
    }
    if data_uri:
        raw["dataUri"] = data_uri
    request = parse(raw)
    configured = settings.models.get(model)
    if configured is None:
        raise InvalidRequest(
            f"unknown model {model!r}; stack {stack} trains: {', '.join(sorted(settings.models))}"
        )
    problem = override_problem(
        request,
        training_data=configured.training_data,
        hyperparameters=configured.hyperparameters,
    )
    if problem:
        raise InvalidRequest(problem)
    return request, settings


def submit(request: TrainingRequest, stack: str, region: str) -> dict[str, str]:
    """Sends the request to the stack's training queue."""
    sqs = clients.client("sqs")
    name = queue_name(naming.stack_slug(stack))
    queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    message_id = enqueue(queue_url, request)
    return {
        "requestId": request.request_id,
        "messageId": message_id,
        "queue": name,
        "region": region,
    }
