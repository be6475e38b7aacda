"""A write that lands while a replay reads an event stream: what the read model must survive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from trainops_runtime.adapters import event_store


@contextmanager
def writing_while_reading(stream: str, write: Callable[[], None]) -> Iterator[list[str]]:
    """Within the block, the first read of ``stream`` from the event store runs ``write`` once
    it has read the stream, before the reader can act on what it read (another recorder or the
    projector getting in between). Yields the streams raced, to show the race happened."""
    real_read = event_store.read_stream
    raced: list[str] = []

    def read_then_write(table: str, name: str, after: int = 0) -> Iterator[dict[str, Any]]:
        events = list(real_read(table, name, after))
        if name == stream and not raced:
            raced.append(name)
            write()
        return iter(events)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(event_store, "read_stream", read_then_write)
        yield raced
