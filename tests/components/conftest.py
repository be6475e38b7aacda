"""The base stacks' recordings, shared by the component tests (each run once per session)."""

from __future__ import annotations

import pytest

from cli import offline
from tests.components.helpers import RunStack


@pytest.fixture
def dev(run_stack: RunStack) -> offline.Recording:
    return run_stack("dev")


@pytest.fixture
def prod(run_stack: RunStack) -> offline.Recording:
    return run_stack("prod")
