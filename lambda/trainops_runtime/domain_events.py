"""Domain events of the training workflow, and their publisher.

Every component that acts on training publishes what happened to the training event bus (when
event sourcing is enabled; the bus name arrives in `TRAINOPS_EVENT_BUS`). One schema for all:

    source       "trainops.training"
    detail-type  the event type, e.g. "TrainingStarted"
    resources    [execution ARN] when there is one
    detail       {
      "schemaVersion": 1,
      "eventId":      deterministic id (type, model, request, attempt, execution, discriminator):
                      the same fact published twice has the same id, so the store keeps it once,
      "type":         the event type again (handy once the envelope is gone),
      "model", "requestId", "attempt", "trigger" ("schedule" | "queue" | "maintenance-window"
      | "cli" | "pipeline" | "quality" | "approval"), "occurredAt" (ISO 8601, UTC),
      "executionArn", "reason"   when known,
      "data":         type-specific extras (e.g. {"retryable": true, "failureReason": "..."})
    }

A PutEvents entry that fails is never dropped: `publish` raises, so the caller's retry applies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainops_runtime.training_request import TrainingRequest

SOURCE = "trainops.training"
SCHEMA_VERSION = 1

TRAINING_REQUESTED = "TrainingRequested"
TRAINING_STARTED = "TrainingStarted"
TRAINING_SKIPPED = "TrainingSkipped"
TRAINING_DEFERRED = "TrainingDeferred"  # back-pressure: left in the queue for later
TRAINING_REJECTED = "TrainingRejected"  # invalid request, never retried
TRAINING_SUCCEEDED = "TrainingSucceeded"
TRAINING_FAILED = "TrainingFailed"
TRAINING_REQUEUED = "TrainingRequeued"
# Quality-triggered retraining (handlers/quality_trigger.py): a model's quality signal, the
# request it became, or why it did not (data.reason: "cooldown" | "breaker").
QUALITY_DEGRADED = "QualityDegraded"
RETRAIN_REQUESTED = "RetrainRequested"
RETRAIN_SUPPRESSED = "RetrainSuppressed"
# The evaluation gate of a model's pipeline (data: metric, value, threshold).
GATE_PASSED = "GatePassed"
GATE_FAILED = "GateFailed"
# Approval-driven deployment (handlers/deploy_approved.py): a version approved in the model's
# package group, its deployment to the model's endpoint (data.status: "started", "completed",
# "failed") and SageMaker rolling it back on the endpoint's alarms.
MODEL_APPROVED = "ModelApproved"
MODEL_DEPLOYED = "ModelDeployed"
DEPLOYMENT_ROLLED_BACK = "DeploymentRolledBack"
EVENT_TYPES = frozenset(
    {
        TRAINING_REQUESTED,
        TRAINING_STARTED,
        TRAINING_SKIPPED,
        TRAINING_DEFERRED,
        TRAINING_REJECTED,
        TRAINING_SUCCEEDED,
        TRAINING_FAILED,
        TRAINING_REQUEUED,
        QUALITY_DEGRADED,
        RETRAIN_REQUESTED,
        RETRAIN_SUPPRESSED,
        GATE_PASSED,
        GATE_FAILED,
        MODEL_APPROVED,
        MODEL_DEPLOYED,
        DEPLOYMENT_ROLLED_BACK,
    }
)
TRIGGERS = frozenset(
    {"schedule", "queue", "maintenance-window", "cli", "pipeline", "quality", "approval"}
)


@dataclass(frozen=True)
class DomainEvent:
    type: str
    model: str
    request_id: str
    attempt: int
    trigger: str
    execution_arn: str | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    discriminator: str = ""  # distinguishes repeated facts of one type (e.g. two skips)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown domain event type {self.type!r}")
        if self.trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {self.trigger!r}")

    @property
    def event_id(self) -> str:
        key = "|".join(
            [
                self.type,
                self.model,
                self.request_id,
                str(self.attempt),
                self.execution_arn or "",
                self.discriminator,
            ]
        )
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "schemaVersion": SCHEMA_VERSION,
            "eventId": self.event_id,
            "type": self.type,
            "model": self.model,
            "requestId": self.request_id,
            "attempt": self.attempt,
            "trigger": self.trigger,
            "occurredAt": self.occurred_at.astimezone(UTC).isoformat(),
        }
        if self.execution_arn:
            detail["executionArn"] = self.execution_arn
        if self.reason:
            detail["reason"] = self.reason
        if self.data:
            detail["data"] = self.data
        return detail

    def entry(self, bus: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Source": SOURCE,
            "DetailType": self.type,
            "Detail": json.dumps(self.detail(), sort_keys=True, default=str),
            "EventBusName": bus,
            "Time": self.occurred_at,
        }
        if self.execution_arn:
            entry["Resources"] = [self.execution_arn]
        return entry


def about(kind: str, request: TrainingRequest, trigger: str, **fields: Any) -> DomainEvent:
    """An event of type ``kind`` about ``request`` (its model, id and attempt), by ``trigger``."""
    return DomainEvent(
        type=kind,
        model=request.model,
        request_id=request.request_id,
        attempt=request.attempt,
        trigger=trigger,
        **fields,
    )
