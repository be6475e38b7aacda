"""Reading a metric out of an evaluation report, the way the gate's Condition step does.

The gate's Processing step writes a JSON report; the Condition step reads one metric from it
with SageMaker's `JsonGet` and a JSON path such as `metrics.auc.value` (dotted keys, with `[n]`
for a list element). A starter that compares a new version with the approved one reads the
approved version's report with the same path (`metric_at`), so both sides mean the same number.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class ReportProblem(ValueError):
    """The report cannot give the metric (not JSON, no such path, not a number)."""


def path_steps(path: str) -> list[str | int]:
    """`metrics.auc.value` -> ["metrics", "auc", "value"]; `scores[1].value` -> [.., 1, ..]."""
    steps: list[str | int] = []
    for part in path.split("."):
        matches = list(_STEP.finditer(part))
        if not part or "".join(match.group(0) for match in matches) != part:
            raise ReportProblem(f"{path!r} is not a JSON path of keys and [index] steps")
        steps += [int(index) if index is not None else key for key, index in map(_groups, matches)]
    return steps


def _groups(match: re.Match[str]) -> tuple[str, str | None]:
    key, index = match.groups()
    return key, index


def metric_at(report_text: str | bytes, path: str) -> float:
    """The number at ``path`` in the report; ReportProblem when there is none."""
    try:
        value: Any = json.loads(report_text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportProblem(f"the report is not JSON: {error}") from None
    for step in path_steps(path):
        value = _child(value, step, path)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ReportProblem(f"{path} in the report is {type(value).__name__}, not a number")
    try:
        number = float(value)
    except ValueError:
        raise ReportProblem(f"{path} in the report is {value!r}, not a number") from None
    if not math.isfinite(number):
        raise ReportProblem(f"{path} in the report is {number}, not a finite number")
    return number


def _child(value: Any, step: str | int, path: str) -> Any:
    if isinstance(step, int):
        if isinstance(value, list) and step < len(value):
            return value[step]
    elif isinstance(value, dict) and step in value:
        return value[step]
    raise ReportProblem(f"the report has no {path}")
