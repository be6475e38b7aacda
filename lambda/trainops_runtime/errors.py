"""Which AWS errors are worth retrying.

Retryable: throttling, capacity and service-side faults; the same call can succeed later.
Permanent: validation errors, missing resources, access denied; repeating the call cannot help,
so the request goes to a dead-letter queue with the reason instead of being retried forever.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    DataNotFoundError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
    UnknownServiceError,
)

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ResourceLimitExceeded",  # SageMaker: account quota or capacity reached
        "CapacityError",
        "InsufficientCapacityError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "InternalError",
        "ConflictException",  # e.g. the pipeline is being updated by a deployment
    }
)
PERMANENT_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "ResourceNotFound",
        "ResourceNotFoundException",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "InvalidParameterValue",
        "InvalidParameterException",
        "MissingParameter",
    }
)
TRANSIENT_CLIENT_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
# botocore's own errors that say the call itself (or the function's set-up) is wrong: the same
# call fails the same way every time. Other BotoCoreErrors (HTTP, credential refresh) are retried.
PERMANENT_CLIENT_ERRORS = (
    ParamValidationError,
    NoRegionError,
    NoCredentialsError,
    UnknownServiceError,
    DataNotFoundError,
)


class RetryableError(RuntimeError):
    """Raised to make the caller (Lambda async retry, SQS redelivery) try again later."""


class StartFailed(Exception):
    """The start call failed: AWS's error ``code`` and the ``detail``; whether trying again can
    help (``retryable``) and whether the execution may exist after all (``may_have_started``: a
    5xx or a timeout, after which only a start with the same token tells)."""

    def __init__(self, code: str, detail: str, *, retryable: bool, may_have_started: bool) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = f"{code}: {detail}"
        self.retryable = retryable
        self.may_have_started = may_have_started


def start_failed(error: ClientError | BotoCoreError) -> StartFailed:
    """What a failed start call means for the caller (`StartFailed`), from botocore's error."""
    return StartFailed(
        error_code(error),
        str(error),
        retryable=is_retryable(error),
        may_have_started=may_have_taken_effect(error),
    )


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def is_retryable(error: BaseException) -> bool:
    """True when the same call may succeed later."""
    if isinstance(error, (RetryableError, *TRANSIENT_CLIENT_ERRORS)):
        return True
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in RETRYABLE_CODES:
            return True
        if code in PERMANENT_CODES:
            return False
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500  # unknown 4xx: the request itself is wrong
    if isinstance(error, PERMANENT_CLIENT_ERRORS):
        return False
    return isinstance(error, BotoCoreError)


# Errors raised before the request left this process, or refused on connect: nothing happened.
NEVER_SENT_ERRORS = (*PERMANENT_CLIENT_ERRORS, EndpointConnectionError, ConnectTimeoutError)


def may_have_taken_effect(error: BaseException) -> bool:
    """Whether a failed call may still have done its work: the service answered with a 5xx, the
    connection broke after the request was sent (a read timeout), or botocore retried (the
    error is only the last attempt's; an earlier one may have worked). A 4xx answer to the only
    attempt (throttling, validation, access) and a request that was never sent did nothing."""
    if isinstance(error, ClientError):
        metadata = error.response.get("ResponseMetadata", {})
        status = metadata.get("HTTPStatusCode", 0)
        return status >= 500 or status == 0 or metadata.get("RetryAttempts", 0) > 0
    if isinstance(error, NEVER_SENT_ERRORS):
        return False
    return isinstance(error, BotoCoreError)


# Markers in SageMaker failure reasons (pipeline execution and step) that mean "try again
# later": capacity, quotas, spot interruptions and service faults. Anything else (AlgorithmError,
# ClientError from the training code, validation) fails the same way on every attempt.
RETRYABLE_FAILURE_MARKERS = (
    "CapacityError",
    "InsufficientCapacity",
    "InsufficientInstanceCapacity",
    "ResourceLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "Spot interruption",
    "SpotInterruption",
)


def is_retryable_failure(reason: str) -> bool:
    """Whether a pipeline execution that failed with ``reason`` may succeed if run again."""
    lowered = reason.lower()
    return any(marker.lower() in lowered for marker in RETRYABLE_FAILURE_MARKERS)
