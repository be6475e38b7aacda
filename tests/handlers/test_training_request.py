"""TrainingRequest: validation with a clear reason, deterministic tokens."""

from __future__ import annotations

import pytest

from trainops_runtime.training_request import InvalidRequest, TrainingRequest, new_request_id, parse

VALID = {"model": "churn", "requestId": "req-1", "requestedBy": "ci", "reason": "new data"}


def test_a_valid_request_parses_with_defaults() -> None:
    request = parse(VALID)
    assert request.model == "churn"
    assert request.attempt == 1
    assert request.hyperparameters == {}
    assert parse(request.to_message()) == request


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "body is not JSON"),
        ("[1, 2]", "body must be a JSON object, got list"),
        ({"requestId": "r"}, "request must contain ['model'] properties"),
        ({**VALID, "model": "churn_v2"}, "model must match pattern"),
        ({**VALID, "attempt": 0}, "attempt must be bigger than or equal to 1"),
        ({**VALID, "dataUri": "/local/path"}, "dataUri must match pattern ^s3://"),
        (
            {**VALID, "hyperparameters": {"epochs": 20}},
            "hyperparameters.epochs must be string",
        ),
        ({**VALID, "priority": "high"}, "request must not contain {'priority'} properties"),
    ],
)
def test_invalid_requests_say_what_is_wrong(raw: object, reason: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse(raw)  # type: ignore[arg-type]
    assert reason in str(raised.value)


def test_token_is_deterministic_per_request_and_attempt() -> None:
    first = parse(VALID)
    assert first.idempotency_token() == parse(VALID).idempotency_token()
    assert 32 <= len(first.idempotency_token()) <= 128
    retry = first.next_attempt()
    assert retry.attempt == 2
    assert retry.idempotency_token() != first.idempotency_token()
    other = parse({**VALID, "requestId": "req-2"})
    assert other.idempotency_token() != first.idempotency_token()


def test_display_name_fits_sagemaker_pattern() -> None:
    import re

    name = TrainingRequest(
        model="m" * 32, request_id=new_request_id(), attempt=20
    ).execution_display_name()
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}", name)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": "\xff"}', "body is not readable JSON"),  # not UTF-8
        ("[" * 50_000 + "]" * 50_000, "body is JSON nested too deeply to read"),
        ('{"attempt": ' + "1" * 4_301 + "}", "body is not readable JSON: Exceeds the limit"),
        ("", "body is not JSON"),
    ],
)
def test_text_json_loads_cannot_read_is_an_invalid_request(raw: str | bytes, reason: str) -> None:
    """Whatever the body, parse ends in a request or an InvalidRequest (never another error
    that would send the message round again)."""
    with pytest.raises(InvalidRequest) as raised:
        parse(raw)
    assert str(raised.value).startswith(reason)


def test_a_request_nested_too_deeply_to_validate_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trainops_runtime import training_request

    def too_deep(body: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(training_request, "_validator", lambda: too_deep)
    with pytest.raises(InvalidRequest, match="nested too deeply to validate"):
        parse({"model": "churn", "requestId": "r"})
