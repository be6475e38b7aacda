"""The queue worker's decisions, without AWS: who starts, who waits and for how long, and what
a rejected message is filed under."""

from __future__ import annotations

import json

import pytest

from trainops_runtime.admission import (
    MAX_VISIBILITY_SECONDS,
    NO_MODEL,
    Admission,
    admit,
    backoff_seconds,
    model_hint,
    request_hint,
)

TAKEN = "churn is still training for request req-1 (queue)"


@pytest.mark.parametrize(
    ("holder", "running", "expected", "reason"),
    [
        pytest.param(None, 0, Admission.START, None, id="free-slot-and-capacity"),
        pytest.param("me", 5, Admission.RESUME, None, id="own-slot-even-at-capacity"),
        pytest.param("other", 0, Admission.WAIT, TAKEN, id="model-busy"),
        pytest.param(None, 5, Admission.WAIT, "5 of 5 trainings running", id="at-capacity"),
        pytest.param("other", 5, Admission.WAIT, TAKEN, id="busy-model-named-first"),
    ],
)
def test_admission(holder: str | None, running: int, expected: Admission, reason: str | None):
    decision = admit("me", holder, TAKEN, running=running, max_concurrent=5)
    assert (decision.admission, decision.reason) == (expected, reason)


@pytest.mark.parametrize(
    ("receive_count", "base", "maximum", "seconds"),
    [
        (1, 30, 900, 30),
        (2, 30, 900, 60),
        (3, 30, 900, 120),
        (10, 30, 900, 900),
        (0, 30, 900, 30),  # SQS counts from 1; a 0 must not halve the wait
        (30, 60, 10**9, MAX_VISIBILITY_SECONDS),  # never past SQS's 12 hours
    ],
)
def test_backoff_doubles_up_to_its_cap(receive_count, base, maximum, seconds) -> None:
    assert backoff_seconds(receive_count, base=base, maximum=maximum) == seconds


@pytest.mark.parametrize(
    ("group", "filed_under"),
    [("churn", "churn"), (None, NO_MODEL), ("", NO_MODEL), ("Not A Model!", NO_MODEL)],
)
def test_a_rejection_is_filed_under_its_group_only_when_that_is_a_model(group, filed_under):
    assert model_hint(group) == filed_under


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (json.dumps({"requestId": "req-7", "attempt": 2}), {"request_id": "req-7", "attempt": 2}),
        (json.dumps({"requestId": "req-7", "attempt": True}), {"request_id": "req-7"}),
        (json.dumps({"requestId": "req-7", "attempt": 99}), {"request_id": "req-7"}),
        (json.dumps({"requestId": "has spaces"}), {}),
        (json.dumps(["requestId"]), {}),
        ("not json", {}),
    ],
)
def test_a_rejected_body_keeps_the_request_id_it_names(body: str, hint: dict) -> None:
    assert request_hint(body) == hint
