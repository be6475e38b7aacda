"""Schedule expressions: what EventBridge accepts passes, what it rejects fails with a reason.

Systems Manager maintenance windows have rules of their own, judged by their own check; each
table below lists cases per check.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.platform.schedules import schedule_expression_problem, ssm_window_schedule_problem

CHECKS: dict[str, Callable[[str], str | None]] = {
    "eventbridge": schedule_expression_problem,
    "maintenance-window": ssm_window_schedule_problem,
}

VALID = {
    "eventbridge": [
        "cron(0 6 * * ? *)",
        "cron(0 4 ? * SUN *)",
        "cron(0/15 8-17 ? * MON-FRI *)",
        "cron(30 2 L * ? *)",
        "cron(0 12 ? * 6#3 *)",
        "cron(0 0 15W * ? 2030)",
        "cron(5,35 * ? JAN,JUL 2L *)",
        "rate(1 hour)",
        "rate(5 minutes)",
        "rate(1 day)",
        "at(2027-01-31T08:30:00)",
    ],
    "maintenance-window": [
        "cron(0 4 ? * SUN *)",
        "cron(0 2 ? * THU#3 *)",
        "cron(0 2 L * ? *)",
        "cron(15 10 ? * 6L *)",
        "cron(24 30 09 ? * * *)",  # leading seconds
        "cron(0/15 * * * ? *)",
        "cron(0,58 4 * * ? *)",  # one hour only: 04:00 and 04:58
        "rate(30 minutes)",
        "rate(5 minutes)",
        "rate(25 days)",
        "at(2027-07-07T13:15:30)",
    ],
}

# expression -> a part of the reason it is refused
INVALID = {
    "eventbridge": [
        ("cron(0 6 * * *)", "exactly 6 fields, found 5"),
        ("cron(0 6 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 6 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 6 * * ? *)", "'60' is not a valid minutes value (0-59)"),
        ("cron(0 24 * * ? *)", "'24' is not a valid hours value"),
        ("cron(0 6 * 13 ? *)", "'13' is not a valid month value"),
        ("cron(0 6 ? * FUNDAY *)", "not a valid day-of-week value"),
        ("cron(? 6 * * ? *)", "'?' is only allowed in day-of-month or day-of-week"),
        ("cron(0 6 ? * MON#6 *)", "must be <weekday>#<1-5>"),
        ("cron(0 6 * * ? 1969)", "not a valid year value"),
        ("cron(0/0 6 * * ? *)", "invalid step"),
        ("rate(1 days)", "use the singular unit"),
        ("rate(5 minute)", "use the plural unit"),
        ("rate(0 minutes)", "positive integer"),
        ("rate(5 weeks)", "not a schedule expression"),
        ("at(2027-02-30T08:30:00)", "impossible date"),
        ("0 6 * * ? *", "not a schedule expression"),
        (" rate(1 hour)", "leading/trailing spaces"),
    ],
    "maintenance-window": [
        ("cron(0 4 * * SUN *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 30 09 ? * * *)", "Seconds field must be 1-59 (0 is not supported)"),
        (
            "cron(4 ? * SUN *)",
            "maintenance-window cron needs 6 fields (or 7 with leading seconds), found 5",
        ),
        ("cron(* * * * ? *)", "cannot run more often than every 5 minutes"),
        ("cron(0/2 * * * ? *)", "cannot run more often than every 5 minutes"),
        ("cron(0,3 4 * * ? *)", "cannot run more often than every 5 minutes"),
        ("cron(0,58 * * * ? *)", "cannot run more often than every 5 minutes"),  # :58 -> :00
        ("cron(0-10 4 * * ? *)", "cannot run more often than every 5 minutes"),
        ("rate(1 minute)", "cannot run more often than every 5 minutes"),
        ("rate(2 hour)", "use the plural unit"),
        ("weekly", "not a maintenance-window schedule"),
    ],
}


@pytest.mark.parametrize(
    ("check", "expression"), [(check, case) for check, cases in VALID.items() for case in cases]
)
def test_valid_expressions_are_accepted(check: str, expression: str) -> None:
    assert CHECKS[check](expression) is None


@pytest.mark.parametrize(
    ("check", "expression", "reason"),
    [(check, *case) for check, cases in INVALID.items() for case in cases],
)
def test_invalid_expressions_say_why(check: str, expression: str, reason: str) -> None:
    problem = CHECKS[check](expression)
    assert problem is not None
    assert reason in problem
