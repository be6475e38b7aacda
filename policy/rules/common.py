"""What several service modules share: the type tokens rules follow across services, and the
helpers for keys, policy documents and queues."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .engine import Resource, Stack, as_list, decoded

Q = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"


def customer_managed_key(key: Any) -> bool:
    """A KMS key reference that is not an AWS-managed key (``alias/aws/<service>``)."""
    return isinstance(key, str) and bool(key) and not re.search(r"(^|:)alias/aws/", key)


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
