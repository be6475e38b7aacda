"""Starting and counting pipeline executions: the act every trigger shares.

`start_training` maps a TrainingRequest onto the model's pipeline parameters and starts one
execution with a `ClientRequestToken` derived from the request id and attempt: SageMaker
completes an idempotent call at most once, so a redelivered request returns the execution the
first delivery started. A redelivery that already holds its model's slot (``resume``) first
looks for that execution by its display name and starts nothing when it is listed: the start's
parameters may differ from the first delivery's (a gate's approved metric is read again, and a
version approved meanwhile changes it), and what SageMaker does with a token it has seen and other
parameters is not documented. `running_executions` answers "is this model (or the platform) busy?"
for the overlap and back-pressure checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import pipeline_contract as contract
from trainops_runtime.adapters import clients
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import start_failed
from trainops_runtime.training_request import InvalidRequest, TrainingRequest
from trainops_runtime.training_slots import RunningExecution

# An execution cannot hold a slot longer than its longest run; older ones are not looked at.
HORIZON_SLACK = timedelta(hours=24)
PAGE_SIZE = 100


def override_problem(
    request: TrainingRequest,
    *,
    training_data: str,
    hyperparameters: Iterable[str],
    max_runtime_minutes: int,
) -> str | None:
    """Why the request's overrides cannot run for its model (None when they can): the rule the
    worker applies before starting, and `trainops submit` before sending."""
    if (
        request.max_runtime_minutes is not None
        and request.max_runtime_minutes > max_runtime_minutes
    ):
        # A run may hold the model's training slot for the configured runtime, no longer.
        return (
            f"maxRuntimeMinutes {request.max_runtime_minutes} is longer than {request.model}'s "
            f"configured {max_runtime_minutes}; ask for at most that, or raise the model's "
            "maxRuntimeMinutes in the stack config"
        )
    unknown = sorted(set(request.hyperparameters) - set(hyperparameters))
    if unknown:
        allowed = ", ".join(sorted(hyperparameters)) or "none"
        return (
            f"hyperparameters {', '.join(unknown)} are not configured for {request.model} "
            f"(overridable: {allowed})"
        )
    if request.data_uri and not request.data_uri.startswith(training_data):
        # The model's execution role reads only the configured prefix: anything else would be
        # accepted here and fail inside the training job.
        return (
            f"dataUri {request.data_uri} is outside {request.model}'s training data; "
            f"use a location under {training_data}"
        )
    return None


def pipeline_parameters(request: TrainingRequest, entry: CatalogEntry) -> list[dict[str, str]]:
    """The request as pipeline parameters (values are strings, as SageMaker expects)."""
    problem = override_problem(
        request,
        training_data=entry.training_data,
        hyperparameters=entry.hyperparameters,
        max_runtime_minutes=entry.max_runtime_minutes,
    )
    if problem:
        raise InvalidRequest(problem)
    parameters = {
        contract.REQUEST_ID: request.request_id,
        contract.ATTEMPT: str(request.attempt),
    }
    if request.data_uri:
        parameters[contract.TRAINING_DATA_URI] = request.data_uri
    if request.instance_count is not None:
        parameters[contract.INSTANCE_COUNT] = str(request.instance_count)
    if request.max_runtime_minutes is not None:
        parameters[contract.MAX_RUNTIME_SECONDS] = str(request.max_runtime_minutes * 60)
    for name, value in request.hyperparameters.items():
        parameters[contract.hyperparameter_parameter(name)] = value
    return [{"Name": name, "Value": value} for name, value in sorted(parameters.items())]


def start_training(
    request: TrainingRequest, catalog: ModelCatalog, *, trigger: str, resume: bool = False
) -> str:
    """Starts (at most once) the execution for this request; returns its ARN.

    ``resume``: an earlier delivery may have started it; when SageMaker lists it, its ARN is
    returned without a second start. Raises InvalidRequest before any AWS call when the model or
    an override is unknown, and `StartFailed` (retryable or not, and whether the execution may
    exist after all) when SageMaker does not start it, or when the approved version's metric a
    gate compares with cannot be read.
    """
    entry = catalog.get(request.model)
    parameters = pipeline_parameters(request, entry)  # an invalid request fails before AWS calls
    if resume:
        try:
            started = started_execution(request, entry, trigger=trigger)
        except (ClientError, BotoCoreError) as error:
            raise start_failed(error) from error
        if started is not None:
            return started
    comparison = None
    if entry.approved_metric:
        # imported here: only a gate that compares with the approved version needs it, and
        # every start path (the worker, the tick) pays for what it imports at a cold start
        from trainops_runtime.adapters.approved_metric import approved_comparison  # noqa: PLC0415

        comparison = approved_comparison(entry.approved_metric)
    if comparison and comparison.value is not None:
        parameters.append({"Name": contract.APPROVED_METRIC_VALUE, "Value": repr(comparison.value)})
    gate = f"; gate {comparison.detail}" if comparison else ""
    try:
        response = clients.client("sagemaker").start_pipeline_execution(
            PipelineName=entry.pipeline_name,
            PipelineExecutionDisplayName=request.execution_display_name(trigger),
            PipelineExecutionDescription=(
                f"{trigger}: {request.reason or 'no reason given'} (request "
                f"{request.request_id}, attempt {request.attempt}, by {request.requested_by}){gate}"
            )[:3072],
            PipelineParameters=parameters,
            ClientRequestToken=request.idempotency_token(),
        )
    except (ClientError, BotoCoreError) as error:
        raise start_failed(error) from error
    return str(response["PipelineExecutionArn"])


def _recent_executions(entry: CatalogEntry, now: datetime | None) -> Iterator[dict[str, Any]]:
    """The pipeline's executions created within its longest possible run (plus a day), newest
    first: one ListPipelineExecutions call in the common case, paging only past 100 of them."""
    now = now or datetime.now(UTC)
    created_after = now - timedelta(minutes=entry.longest_run_minutes) - HORIZON_SLACK
    request: dict[str, Any] = {
        "PipelineName": entry.pipeline_name,
        "CreatedAfter": created_after,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": PAGE_SIZE,
    }
    sagemaker = clients.client("sagemaker")
    while True:
        page = sagemaker.list_pipeline_executions(**request)
        yield from page.get("PipelineExecutionSummaries", [])
        token = page.get("NextToken")
        if not token:
            return
        request["NextToken"] = token


def started_execution(
    request: TrainingRequest, entry: CatalogEntry, *, trigger: str, now: datetime | None = None
) -> str | None:
    """The execution an earlier delivery of ``request`` started, in any state (None: none is
    listed). Its display name carries the request's token, so it names this request alone."""
    name = request.execution_display_name(trigger)
    return next(
        (
            str(summary["PipelineExecutionArn"])
            for summary in _recent_executions(entry, now)
            if summary.get("PipelineExecutionDisplayName") == name
        ),
        None,
    )


def running_executions(
    model: str, catalog: ModelCatalog, *, now: datetime | None = None
) -> list[RunningExecution]:
    """The model's executions that still hold a slot, newest first."""
    return [
        RunningExecution(
            model=model,
            execution_arn=summary["PipelineExecutionArn"],
            status=summary["PipelineExecutionStatus"],
            started=summary.get("StartTime"),
            display_name=summary.get("PipelineExecutionDisplayName", ""),
        )
        for summary in _recent_executions(catalog.get(model), now)
        if summary.get("PipelineExecutionStatus") in contract.RUNNING_STATES
    ]


def running_across(
    models: Iterable[str], catalog: ModelCatalog, *, now: datetime | None = None
) -> list[RunningExecution]:
    """Running executions of several models (the platform-wide back-pressure check)."""
    found: list[RunningExecution] = []
    for model in models:
        found += running_executions(model, catalog, now=now)
    return found


def last_success_started(model: str, catalog: ModelCatalog) -> datetime | None:
    """When the model's most recent successful execution started (None if it never succeeded).

    Executions are listed newest first; paging stops at the first success.
    """
    entry = catalog.get(model)
    request: dict[str, Any] = {
        "PipelineName": entry.pipeline_name,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": PAGE_SIZE,
    }
    sagemaker = clients.client("sagemaker")
    while True:
        page = sagemaker.list_pipeline_executions(**request)
        for summary in page.get("PipelineExecutionSummaries", []):
            if summary.get("PipelineExecutionStatus") == "Succeeded":
                started = summary.get("StartTime")
                return started if isinstance(started, datetime) else None
        token = page.get("NextToken")
        if not token:
            return None
        request["NextToken"] = token


def pipeline_execution_status(execution_arn: str) -> str:
    """SageMaker's current status of one execution (a listing may be minutes old)."""
    return str(
        clients.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=execution_arn)[
            "PipelineExecutionStatus"
        ]
    )


def running_training_jobs(execution_arn: str) -> list[str]:
    """Names of the training jobs this execution is currently running."""
    sagemaker = clients.client("sagemaker")
    names: list[str] = []
    request: dict[str, Any] = {"PipelineExecutionArn": execution_arn, "SortOrder": "Descending"}
    while True:
        page = sagemaker.list_pipeline_execution_steps(**request)
        for step in page.get("PipelineExecutionSteps", []):
            job_arn = step.get("Metadata", {}).get("TrainingJob", {}).get("Arn")
            if job_arn and step.get("StepStatus") in ("Executing", "Starting"):
                names.append(job_arn.rsplit("/", 1)[-1])
        if not page.get("NextToken"):
            return names
        request["NextToken"] = page["NextToken"]


def describe_training_job(name: str) -> dict[str, Any]:
    return dict(clients.client("sagemaker").describe_training_job(TrainingJobName=name))


def failure_reason(execution_arn: str) -> str:
    """The execution's failure reason plus those of its failed steps (where the cause is)."""
    sagemaker = clients.client("sagemaker")
    reasons = []
    execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    if execution.get("FailureReason"):
        reasons.append(str(execution["FailureReason"]))
    request: dict[str, Any] = {"PipelineExecutionArn": execution_arn}
    while True:
        page = sagemaker.list_pipeline_execution_steps(**request)
        for step in page.get("PipelineExecutionSteps", []):
            if step.get("StepStatus") == "Failed" and step.get("FailureReason"):
                reasons.append(f"{step.get('StepName', 'step')}: {step['FailureReason']}")
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    return "; ".join(reasons) or "no failure reason reported"


def execution_parameters(execution_arn: str) -> dict[str, str]:
    sagemaker = clients.client("sagemaker")
    parameters: dict[str, str] = {}
    request: dict[str, Any] = {"PipelineExecutionArn": execution_arn}
    while True:
        page = sagemaker.list_pipeline_parameters_for_execution(**request)
        parameters.update({p["Name"]: p["Value"] for p in page.get("PipelineParameters", [])})
        if not page.get("NextToken"):
            return parameters
        request["NextToken"] = page["NextToken"]
