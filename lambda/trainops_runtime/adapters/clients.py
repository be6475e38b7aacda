"""Lazily created, per-process boto3 clients.

Handlers never create clients at import time: a client made before `moto.mock_aws()` starts
would talk to real AWS. `client("sagemaker")` creates the client on first use and reuses it for
the life of the execution environment; `reset()` forgets them (tests call it between cases).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: exponential backoff with jitter on throttling and transient errors.
_RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    """The shared boto3 client for ``service`` (created on first use)."""
    if service not in _clients:
        _clients[service] = boto3.client(service, config=_RETRY_CONFIG)  # type: ignore[call-overload]
    return _clients[service]


def reset() -> None:
    """Forget every client, so the next call builds one against the current endpoint/mocks."""
    _clients.clear()
