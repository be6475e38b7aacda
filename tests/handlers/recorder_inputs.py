"""What the recorder is given: domain events as EventBridge delivers them, AWS's samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainops_runtime.domain_events import DomainEvent

FIXTURES = Path(__file__).parent.parent / "fixtures" / "events"
# The execution of the dev stack's churn pipeline that AWS's sample events name.
EXECUTION = (
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-dev--churn/execution/p4jn9xou8a8s"
)


def envelope(domain: DomainEvent, event_id: str = "eb-1", **extra: Any) -> dict[str, Any]:
    """A domain event as EventBridge delivers it to the recorder."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": domain.type,
        "source": "trainops.training",
        "account": "123456789012",
        "time": "2026-11-22T08:00:00Z",
        "region": "us-east-1",
        "resources": [domain.execution_arn] if domain.execution_arn else [],
        "detail": domain.detail(),
        **extra,
    }


def domain(
    kind: str, attempt: int = 1, execution: str | None = EXECUTION, **fields: Any
) -> DomainEvent:
    """A domain event of churn's queued request req-1."""
    return DomainEvent(
        type=kind,
        model="churn",
        request_id="req-1",
        attempt=attempt,
        trigger="queue",
        execution_arn=execution,
        **fields,
    )


def sagemaker(fixture: str, event_id: str) -> dict[str, Any]:
    """An AWS sample event (tests/fixtures/events), delivered with the EventBridge id given."""
    event = json.loads((FIXTURES / f"{fixture}.json").read_text())
    event["id"] = event_id
    return event


def maintenance_run(event_id: str, **detail: Any) -> dict[str, Any]:
    """AWS's sample Run Command status change, as a run of the stack's retraining document."""
    run = sagemaker("ssm_run_command_status_failed", event_id)
    run["detail"].update({"document-name": "trainops-dev-retrain", **detail})
    return run
