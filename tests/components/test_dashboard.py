"""The dashboard's layout: whatever a stack has, widgets fit the grid, never overlap, leave no
empty band, and the alarm widgets stay within CloudWatch's 100 alarms each."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from components.platform.dashboard import MAX_ALARMS_PER_WIDGET, dashboard_body

PARTS = ("queues", "dead_letter_queues", "functions", "pipeline_name_prefix", "stall_metrics_stack")


def resolved(present: set[str], alarms: int) -> dict[str, Any]:
    return {
        "queues": ["requests.fifo"] if "queues" in present else [],
        "dead_letter_queues": ["a-dlq", "b-failures"] if "dead_letter_queues" in present else [],
        "functions": ["worker", "outcome"] if "functions" in present else [],
        "alarms": [f"arn:aws:cloudwatch:eu-west-1:1:alarm:a{i}" for i in range(alarms)],
        "pipeline_name_prefix": "trainops-dev--" if "pipeline_name_prefix" in present else None,
        "stall_metrics_stack": "dev" if "stall_metrics_stack" in present else None,
    }


def cells(widget: dict[str, Any]) -> set[tuple[int, int]]:
    return {
        (x, y)
        for x in range(widget["x"], widget["x"] + widget["width"])
        for y in range(widget["y"], widget["y"] + widget["height"])
    }


@pytest.mark.parametrize("alarms", [0, 1, 250])
@pytest.mark.parametrize(
    "present",
    [
        set(chosen)
        for size in range(len(PARTS) + 1)
        for chosen in itertools.combinations(PARTS, size)
    ],
    ids=lambda present: "+".join(sorted(present)) or "nothing",
)
def test_widgets_tile_the_grid_without_overlap_or_gaps(present: set[str], alarms: int) -> None:
    widgets = dashboard_body(resolved(present, alarms), "eu-west-1", "dev")["widgets"]
    taken: set[tuple[int, int]] = set()
    for widget in widgets:
        assert widget["x"] >= 0, widget
        assert widget["x"] + widget["width"] <= 24, widget
        assert not cells(widget) & taken, f"{widget['properties'].get('title')} overlaps"
        taken |= cells(widget)
    rows = {y for _, y in taken}
    assert rows == set(range(max(rows) + 1)), "an empty band between widgets"
    alarm_widgets = [w for w in widgets if w["type"] == "alarm"]
    assert len(alarm_widgets) == -(-alarms // MAX_ALARMS_PER_WIDGET)
    assert all(len(w["properties"]["alarms"]) <= MAX_ALARMS_PER_WIDGET for w in alarm_widgets)
    titles = [w["properties"].get("title") for w in widgets]
    assert ("Training queue depth" in titles) == ("queues" in present)
    assert ("Stalled and overrunning training" in titles) == ("stall_metrics_stack" in present)
