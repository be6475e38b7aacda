"""`trainops submit`: validate a training request locally and put it on a stack's queue.

Validation happens twice before anything is sent: the request itself (TrainingRequest), and
against the stack's config with the worker's own rule (`training.override_problem`: the model
exists, overridden hyperparameters are configured, a `--data` location lies under the model's
training data, the run fits the model's cost cap). A request the worker would dead-letter is
refused here instead, and the run's projected maximum cost is shown. The queue is
found by its fixed name, so no Pulumi CLI is needed, only AWS credentials.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import Any

from cli import offline
from components import config as config_module
from components.platform import naming, spend
from trainops_runtime import training_request
from trainops_runtime.adapters import clients
from trainops_runtime.adapters.request_queue import enqueue, queue_name
from trainops_runtime.adapters.training import override_problem
from trainops_runtime.training_cost import UnknownPrice, cap_refusal, usd
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
    instance_count: int | None = None,
    max_runtime_minutes: int | None = None,
) -> tuple[TrainingRequest, config_module.StackConfig]:
    """A validated request for ``model`` on ``stack`` (raises InvalidRequest or ConfigError),
    refused here, with the same words, when the worker would refuse it over its cost cap."""
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
    if instance_count is not None:
        raw["instanceCount"] = instance_count
    if max_runtime_minutes is not None:
        raw["maxRuntimeMinutes"] = max_runtime_minutes
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
        max_runtime_minutes=configured.max_runtime_minutes,
    )
    if problem:
        raise InvalidRequest(problem)
    refusal = cap_refusal(
        model,
        spend.cost_spec(configured, settings.spend_guardrails, settings.region),
        instance_count=request.instance_count,
        max_runtime_minutes=request.max_runtime_minutes,
    )
    if refusal:
        raise InvalidRequest(refusal.reason)
    return request, settings


def projection_line(request: TrainingRequest, settings: config_module.StackConfig) -> str:
    """What the request's run may cost at most, and its model's cap, in one line."""
    model = settings.models[request.model]
    cap = spend.cap_of(model, settings.spend_guardrails)
    try:
        run = spend.projection(
            model,
            settings.region,
            instance_count=request.instance_count,
            max_runtime_minutes=request.max_runtime_minutes,
        )
    except UnknownPrice as unknown:
        return f"maximum cost: not priced ({unknown})"
    capped = f" (cap {usd(cap)})" if cap is not None else " (no cap)"
    return f"maximum cost: {usd(run.total)}{capped}: {run.explain()}"


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
