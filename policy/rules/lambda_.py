"""Lambda: runtime, explicit sizing, reserved concurrency, tracing, managed logs, and a failure
destination for asynchronous invocations."""

from __future__ import annotations

from typing import Any

from .common import (
    EVENT_TARGET,
    FUNCTION,
    INVOKE_CONFIG,
    SCHEDULE,
    customer_managed_key,
    has_failure_destination,
)
from .engine import Requirement, Resource, Rule, Stack, is_set, rule, unmet

SUPPORTED_PYTHON_RUNTIMES = frozenset({"python3.12", "python3.13", "python3.14"})


@rule("lambda-runtime", FUNCTION, source="cdk-nag AwsSolutions-L1; checkov CKV_AWS_363")
def lambda_runtime(resource: Resource, _: Stack) -> list[str]:
    """Lambda runs a supported Python runtime.

    A deprecated runtime gets no more security patches, and Lambda then stops creating and
    updating functions on it.
    """
    runtime = resource.props.get("runtime")
    if runtime not in SUPPORTED_PYTHON_RUNTIMES:
        supported = ", ".join(sorted(SUPPORTED_PYTHON_RUNTIMES))
        return [f"runtime {runtime!r} is not a supported Python runtime ({supported})"]
    return []


EXPLICIT_LIMITS: list[Requirement] = [
    (is_set(prop), f"Lambda {prop} is not set explicitly") for prop in ("memorySize", "timeout")
]


@rule("lambda-sizing", FUNCTION, source="AWS Well-Architected (explicit limits)")
def lambda_sizing(resource: Resource, stack: Stack) -> list[str]:
    """Lambda memory and timeout are explicit.

    The defaults (128 MB, 3 seconds) rarely fit a real handler: each function states its own.
    """
    return unmet(resource, stack, EXPLICIT_LIMITS)


@rule("lambda-concurrency", FUNCTION, source="checkov CKV_AWS_115")
def lambda_concurrency(resource: Resource, _: Stack) -> list[str]:
    """Lambda functions reserve (and so cap) their concurrency.

    A function without reserved concurrency may take the account's whole shared pool when
    events flood in (and run up cost); 0 would throttle every invocation. The provider
    reports -1 when none is reserved."""
    reserved = resource.props.get("reservedConcurrentExecutions")
    if isinstance(reserved, bool) or not isinstance(reserved, int | float) or reserved < 1:
        return [
            f"reserved concurrency is {reserved!r}: reserve at least 1 so that a flood of "
            "events cannot take the account's shared concurrency"
        ]
    return []


@rule("lambda-tracing", FUNCTION, source="checkov CKV_AWS_50")
def lambda_tracing(resource: Resource, _: Stack) -> list[str]:
    """Lambda X-Ray tracing is active.

    A trace follows one request through the queues, the functions and the AWS calls they make.
    """
    if resource.get("tracingConfig", "mode") != "Active":
        return ["X-Ray tracing is not active"]
    return []


@rule("lambda-logs", FUNCTION, source="checkov CKV_AWS_66 / CKV_AWS_158")
def lambda_logs(resource: Resource, stack: Stack) -> list[str]:
    """Lambda logs to a managed log group with retention and KMS.

    Left to Lambda, the group appears on the first invocation, outside the stack: unencrypted,
    and keeping every log forever.
    """
    group_name = (
        resource.get("loggingConfig", "logGroup") or f"/aws/lambda/{resource.props.get('name')}"
    )
    groups = stack.referencing("aws:cloudwatch/logGroup:LogGroup", "name", group_name)
    if not groups:
        return [f"no log group {group_name} with retention and KMS is managed for this function"]
    group = groups[0]
    problems = []
    if not group.props.get("retentionInDays"):
        problems.append(f"log group {group_name} keeps logs forever (set retentionInDays)")
    if not customer_managed_key(group.props.get("kmsKeyId")):
        problems.append(f"log group {group_name} is not encrypted with the stack key")
    return problems


def _invoked_arn(invoker: Resource) -> Any:
    if invoker.type == SCHEDULE:
        return invoker.get("target", "arn")
    return invoker.props.get("arn")


@rule(
    "lambda-async-failures",
    FUNCTION,
    source="AWS Lambda developer guide (asynchronous invocation destinations)",
    related="checkov CKV_AWS_116 (Lambda DLQ)",
)
def lambda_async_failures(resource: Resource, stack: Stack) -> list[str]:
    """Asynchronously invoked Lambdas have a failure destination.

    Lambda drops an asynchronous event (from a rule or schedule target) once its retries are
    used up, unless an on-failure destination keeps it.
    """
    arn = resource.props.get("arn")
    if not isinstance(arn, str) or not arn:
        return []
    if not stack.find((EVENT_TARGET, SCHEDULE), lambda invoker: _invoked_arn(invoker) == arn):
        return []
    refs = {ref for ref in (arn, resource.props.get("name")) if isinstance(ref, str) and ref}
    if stack.find(
        INVOKE_CONFIG,
        lambda config: (
            config.props.get("functionName") in refs and has_failure_destination(config, stack)
        ),
    ):
        return []
    return ["asynchronously invoked function has no on-failure destination"]


RULES: tuple[Rule, ...] = (
    lambda_runtime,
    lambda_sizing,
    lambda_concurrency,
    lambda_tracing,
    lambda_logs,
    lambda_async_failures,
)
