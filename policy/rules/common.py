"""What several service modules share: the type tokens rules follow across services, and the
helpers for keys, policy documents, queues and failure destinations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .engine import Condition, Resource, Stack, as_list, decoded, dig

Q = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"


# Where each kind of asynchronous source names the queue (or destination) its failures go to; a
# queue names its dead-letter queue in its JSON redrive policy instead.
FAILURE_DESTINATIONS: dict[str, tuple[str, ...]] = {
    EVENT_TARGET: ("deadLetterConfig", "arn"),
    SCHEDULE: ("target", "deadLetterConfig", "arn"),
    INVOKE_CONFIG: ("destinationConfig", "onFailure", "destination"),
    EVENT_SOURCE_MAPPING: ("destinationConfig", "onFailure", "destinationArn"),
}


def customer_managed_key(key: Any) -> bool:
    """A KMS key reference that is not an AWS-managed key (``alias/aws/<service>``)."""
    return isinstance(key, str) and bool(key) and not re.search(r"(^|:)alias/aws/", key)


def customer_managed(*path: str) -> Condition:
    """The key reference at ``path`` is a customer-managed key."""
    return lambda resource, _: customer_managed_key(resource.get(*path))


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM-style document (JSON text or a mapping)."""
    document = decoded(document)
    if not isinstance(document, Mapping):
        return []
    found = document.get("Statement")
    return [s for s in as_list(found) if isinstance(s, Mapping)]


def queue_by_arn(stack: Stack, arn: Any) -> Resource | None:
    if not isinstance(arn, str) or not arn:
        return None
    return next(iter(stack.referencing(Q, "arn", arn)), None)


def failure_destination(source: Resource) -> Any:
    """The ARN ``source`` sends its failures to (None if it sends them nowhere)."""
    if source.type == Q:
        return dig(decoded(source.props.get("redrivePolicy")), "deadLetterTargetArn")
    path = FAILURE_DESTINATIONS.get(source.type)
    return source.get(*path) if path else None


def has_failure_destination(source: Resource, _: Stack) -> bool:
    """Whether ``source``'s failures go anywhere (an asynchronous failure left there is lost)."""
    return bool(failure_destination(source))
