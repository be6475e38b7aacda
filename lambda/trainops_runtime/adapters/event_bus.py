"""Publishing domain events to the training bus (EventBridge PutEvents).

No bus (the handler's settings name none) means event sourcing is off for this stack: nothing
is published, nothing fails. A rejected entry raises `PublishError` naming each event and AWS's
reason.
"""

from __future__ import annotations

from trainops_runtime.adapters import clients
from trainops_runtime.domain_events import DomainEvent


class PublishError(RuntimeError):
    """EventBridge did not accept an event; raised so the invocation is retried."""


def publish(bus: str | None, *events: DomainEvent) -> int:
    """Puts the events on ``bus``; returns how many were sent (0 when there is no bus: event
    sourcing is disabled for this stack, nothing to record)."""
    if not bus or not events:
        return 0
    sent = 0
    for start in range(0, len(events), 10):  # PutEvents takes at most 10 entries
        batch = events[start : start + 10]
        response = clients.client("events").put_events(Entries=[e.entry(bus) for e in batch])
        if response.get("FailedEntryCount", 0):
            failed = [
                f"{event.type}: {result.get('ErrorCode')} {result.get('ErrorMessage')}"
                for event, result in zip(batch, response["Entries"], strict=True)
                if result.get("ErrorCode")
            ]
            raise PublishError(f"EventBridge rejected {len(failed)} event(s): {'; '.join(failed)}")
        sent += len(batch)
    return sent
