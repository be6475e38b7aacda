"""What a handler did, as types rather than bare strings.

Each is a `StrEnum`: it logs, serialises (Powertools idempotency records, handler results) and
compares as its plain value, so callers and stored results read the same as before, while the
code can only name outcomes that exist.
"""

from __future__ import annotations

from enum import StrEnum


class RequestOutcome(StrEnum):
    """What the queue worker did with one message."""

    STARTED = "started"  # a pipeline execution started for it
    DUPLICATE = "duplicate"  # a redelivery of a request whose execution already started
    REJECTED = "rejected"  # invalid: moved to the DLQ with its reason, never retried
    DEFERRED = "deferred"  # back-pressure: left in the queue for later
    RETRY = "retry"  # a transient error: returned to the queue


class StartOutcome(StrEnum):
    """What a scheduled tick did."""

    STARTED = "started"
    DUPLICATE = "duplicate"  # the tick (or its training) was already started
    SKIPPED = "skipped"  # not due: running, no new data, or not enabled
    REFUSED = "refused"  # its run could cost more than the model's cap


class RunOutcome(StrEnum):
    """What the outcome handler did with an ended execution."""

    SUCCEEDED = "succeeded"
    STOPPED = "stopped"
    REQUEUED = "requeued"  # a retryable failure: the next attempt is queued
    FAILED = "failed"  # final: alerted


class QualityOutcome(StrEnum):
    """What the quality trigger did with one signal."""

    REQUESTED = "requested"  # a retraining request went to the training queue
    SUPPRESSED = "suppressed"  # within the model's cooldown, or its breaker already tripped today
    TRIPPED = "tripped"  # today's cap reached: the circuit breaker alerted instead
    IGNORED = "ignored"  # not a quality signal of a model that takes them


class DeploymentOutcome(StrEnum):
    """What the deploy function did with an approval or an endpoint's state change."""

    STARTED = "started"  # the endpoint is updating to the approved version
    DUPLICATE = "duplicate"  # the endpoint already serves, or is updating to, that version
    REFUSED = "refused"  # never deployed: revoked, older than the serving one, or rolled back
    COMPLETED = "completed"  # the endpoint serves the deployed version
    ROLLED_BACK = "rolled-back"  # SageMaker rolled the deployment back: alerted
    FAILED = "failed"  # the endpoint failed during the deployment: alerted
    IN_PROGRESS = "in-progress"  # the deployment is still under way
    DEFERRED = "deferred"  # the endpoint is busy: decided again when it settles
    SWEPT = "swept"  # the schedule looked at every deploying model's deployment and approval
    IGNORED = "ignored"  # no model of this stack deploys on approval, or nothing in flight
