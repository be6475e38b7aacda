"""Validation of AWS schedule expressions, so a bad schedule fails at preview, not mid-`up`.

EventBridge (rules and Scheduler) accepts three forms:

* ``rate(<n> <unit>)``: ``n`` a positive integer; the unit singular when ``n`` is 1
  (``rate(1 day)``) and plural otherwise (``rate(5 minutes)``);
* ``at(yyyy-mm-ddThh:mm:ss)``: one-time schedules (Scheduler only);
* ``cron(minutes hours day-of-month month day-of-week year)``: exactly six fields, and exactly one
  of day-of-month and day-of-week must be ``?``.

Each function returns ``None`` when the expression is valid, otherwise a sentence that says what
is wrong and how to fix it (the config loader puts it after the key name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_AT = re.compile(r"^at\((?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((?P<body>[^()]*)\)$")

CRON_HINT = (
    "use cron(minutes hours day-of-month month day-of-week year), "
    "e.g. cron(0 6 * * ? *) for 06:00 every day"
)


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # symbolic values (JAN..DEC, SUN..SAT), numbered from `low`
    specials: str = ""  # characters allowed in this field besides , - * /


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, specials="?LW"),
    _Field("month", 1, 12, names=tuple(_MONTHS)),
    _Field("day-of-week", 1, 7, names=tuple(_WEEKDAYS), specials="?L#"),
    _Field("year", 1970, 2199),
)


def _number(token: str, field: _Field) -> int | None:
    if token.isdigit():
        value = int(token)
        return value if field.low <= value <= field.high else None
    if token.upper() in field.names:
        return field.low + field.names.index(token.upper())
    return None


def _check_cron_item(item: str, field: _Field) -> str | None:  # noqa: PLR0911 - one exit per rule
    """Checks one comma-separated item of one cron field."""
    if item == "*":
        return None
    if item == "?":
        return (
            None
            if "?" in field.specials
            else f"'?' is only allowed in day-of-month or day-of-week, not {field.name}"
        )
    if "#" in item:
        if "#" not in field.specials:
            return f"'#' is only allowed in day-of-week, not {field.name}"
        day, _, nth = item.partition("#")
        if _number(day, field) is None or not nth.isdigit() or not 1 <= int(nth) <= 5:
            return f"'{item}' in {field.name} must be <weekday>#<1-5>, e.g. MON#1"
        return None
    if item.endswith("W") and "W" in field.specials:
        return (
            None
            if _number(item[:-1], field) is not None
            else f"'{item}' in {field.name} must be <day>W"
        )
    if item.endswith("L") and "L" in field.specials:
        base = item[:-1]
        return (
            None
            if base == "" or _number(base, field) is not None
            else f"'{item}' in {field.name} is not valid"
        )
    base, slash, step = item.partition("/")
    if slash and (not step.isdigit() or int(step) < 1):
        return f"'{item}' in {field.name} has an invalid step"
    if base == "*":
        return None
    start, dash, end = base.partition("-")
    if _number(start, field) is None or (dash and _number(end, field) is None):
        allowed = f"{field.low}-{field.high}"
        if field.names:
            allowed += f" or {field.names[0]}-{field.names[-1]}"
        return f"'{item}' is not a valid {field.name} value ({allowed})"
    return None


def cron_problem(body: str) -> str | None:
    """Validates the inside of ``cron(...)`` against EventBridge's six-field syntax."""
    parts = body.split()
    if len(parts) != len(_FIELDS):
        return f"cron needs exactly 6 fields, found {len(parts)}; {CRON_HINT}"
    for part, field in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            problem = _check_cron_item(item, field)
            if problem:
                return problem
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return (
            "exactly one of day-of-month and day-of-week must be '?' "
            "(e.g. cron(0 6 * * ? *) or cron(0 4 ? * SUN *))"
        )
    return None


def rate_problem(value: str, unit: str) -> str | None:
    count = int(value)
    if count < 1:
        return "rate value must be a positive integer"
    if count == 1 and unit.endswith("s"):
        return f"use the singular unit when the value is 1: rate(1 {unit[:-1]})"
    if count > 1 and not unit.endswith("s"):
        return f"use the plural unit when the value is above 1: rate({count} {unit}s)"
    return None


SPACES = "remove the leading/trailing spaces"


def _at_problem(when: str) -> str | None:
    """Why the time of a one-off `at(...)` schedule is impossible (e.g. February 30), or None."""
    try:
        datetime.fromisoformat(when)
    except ValueError:
        return "at(...) holds an impossible date or time"
    return None


def schedule_expression_problem(expression: str) -> str | None:
    """Returns why ``expression`` is not a valid EventBridge schedule expression, or None."""
    text = expression.strip()
    if text != expression:
        return SPACES
    if match := _RATE.match(text):
        return rate_problem(match["value"], match["unit"])
    if match := _AT.match(text):
        return _at_problem(match["when"])
    if match := _CRON.match(text):
        return cron_problem(match["body"])
    return (
        "not a schedule expression; use rate(<n> <unit>), at(yyyy-mm-ddThh:mm:ss) "
        f"or cron(...); {CRON_HINT}"
    )


def rule_schedule_problem(expression: str) -> str | None:
    """Like `schedule_expression_problem`, for EventBridge *rules*: they take no at(...)."""
    if _AT.match(expression.strip()):
        return "EventBridge rules accept only rate(...) or cron(...), not at(...)"
    return schedule_expression_problem(expression)


# ---- Systems Manager maintenance windows ----------------------------------------------------
# They differ from EventBridge (AWS's "Reference: Cron and rate expressions for Systems
# Manager"): cron may carry a leading Seconds field (7 fields; 1-59, zero is not supported),
# nothing may run more often than every five minutes, and at(...) timestamps are allowed.

MIN_WINDOW_INTERVAL_MINUTES = 5
TOO_FAST = (
    f"maintenance windows cannot run more often than every {MIN_WINDOW_INTERVAL_MINUTES} minutes"
)


def _minutes_interval_problem(minutes: str, hours: str) -> str | None:
    """Rejects minute fields that fire more often than every five minutes.

    Listed minutes are also checked across the top of the hour (``0,58`` fires at :58 and two
    minutes later at :00) unless the window opens in one single hour only.
    """
    too_fast = TOO_FAST
    if minutes == "*":
        return too_fast
    values: list[int] = []
    for item in minutes.split(","):
        base, slash, step = item.partition("/")
        if slash:
            if int(step) < MIN_WINDOW_INTERVAL_MINUTES:
                return too_fast
            continue
        if "-" in base:
            return too_fast  # a range fires every minute inside it
        if base.isdigit():
            values.append(int(base))
    values.sort()
    gaps = [b - a for a, b in pairwise(values)]
    if len(values) > 1 and not hours.isdigit():
        gaps.append(60 - values[-1] + values[0])
    if gaps and min(gaps) < MIN_WINDOW_INTERVAL_MINUTES:
        return too_fast
    return None


def ssm_window_schedule_problem(expression: str) -> str | None:  # noqa: PLR0911 - one exit per rule
    """Why ``expression`` is not a valid maintenance-window schedule, or None."""
    text = expression.strip()
    if text != expression:
        return SPACES
    if match := _RATE.match(text):
        problem = rate_problem(match["value"], match["unit"])
        too_fast = (
            match["unit"].startswith("minute") and int(match["value"]) < MIN_WINDOW_INTERVAL_MINUTES
        )
        if problem is None and too_fast:
            problem = TOO_FAST
        return problem
    if match := _AT.match(text):
        return _at_problem(match["when"])
    if match := _CRON.match(text):
        parts = match["body"].split()
        if len(parts) == len(_FIELDS) + 1:
            seconds, parts = parts[0], parts[1:]
            if not seconds.isdigit() or not 1 <= int(seconds) <= 59:
                return "the optional leading Seconds field must be 1-59 (0 is not supported)"
        problem = cron_problem(" ".join(parts))
        if problem and "exactly 6 fields" in problem:
            return (
                f"maintenance-window cron needs 6 fields (or 7 with leading seconds), found "
                f"{len(match['body'].split())}; e.g. cron(0 4 ? * SUN *) for 04:00 every Sunday"
            )
        return problem or _minutes_interval_problem(parts[0], parts[1])
    return (
        "not a maintenance-window schedule; use cron(...) (6 fields, or 7 with leading seconds), "
        "rate(<n> <unit>) or at(yyyy-mm-ddThh:mm:ss)"
    )
