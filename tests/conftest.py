"""Shared fixtures: the offline program runner (Pulumi mocks) and moto with fake credentials."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cli import offline
from components import config as stack_config_module

ACCOUNT_ID = offline.ACCOUNT_ID
REGION = "us-east-1"

# Reused by every test module that only reads the base stacks (the program is deterministic).
_BASE_RUNS: dict[str, offline.Recording] = {}


@pytest.fixture
def run_stack() -> Callable[..., offline.Recording]:
    """run_stack("dev", **{"trainops:monitoring.enabled": False}) -> Recording.

    Runs __main__.py under mocks with Pulumi.<stack>.yaml plus path-style overrides, exactly as
    the CLI passes config. Runs without overrides are cached for the session.
    """

    def run(
        stack: str, overrides: dict[str, Any] | None = None, **kwargs: Any
    ) -> offline.Recording:
        merged = {**(overrides or {}), **kwargs}
        if merged:
            return offline.run_program(stack, merged)
        if stack not in _BASE_RUNS:
            _BASE_RUNS[stack] = offline.run_program(stack)
        return _BASE_RUNS[stack]

    return run


@pytest.fixture
def dev_config() -> dict[str, str]:
    """The dev stack's config map, as the Pulumi CLI passes it to the program."""
    return offline.stack_config("dev")


@pytest.fixture
def parse_with() -> Callable[..., stack_config_module.StackConfig]:
    """parse_with("dev", {"trainops:x.y": value}) validates a stack's config plus overrides."""

    def parse(stack: str, overrides: dict[str, Any]) -> stack_config_module.StackConfig:
        return stack_config_module.parse(offline.stack_config(stack, overrides))

    return parse


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto_aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's mock_aws, started before any client exists; handler clients are reset around it."""
    from botocore.config import Config
    from moto import mock_aws

    from trainops_runtime.adapters import clients

    # No client-side retries in tests: an injected throttle should surface at once, not after
    # botocore's exponential backoff (the retry mode itself is configuration, not logic).
    monkeypatch.setattr(
        clients, "_RETRY_CONFIG", Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    clients.reset()
    with mock_aws():
        yield
    clients.reset()


def pytest_configure() -> None:
    # Handler code reads these at call time; make sure a developer's shell cannot leak into tests.
    os.environ.pop("AWS_PROFILE", None)


# Shared fixtures defined beside their helpers.
from tests.event_sink import event_sink  # noqa: E402, F401
from tests.sagemaker_sim import pipelines  # noqa: E402, F401
from tests.slot_ledger import slot_ledger  # noqa: E402, F401
