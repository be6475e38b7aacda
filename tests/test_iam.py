"""IAM helpers refuse wildcard grants and build scoped trust policies."""

from __future__ import annotations

import pytest

from components import iam

CTX = iam.AwsContext(account_id="123456789012", region="us-east-1")


@pytest.mark.parametrize("action", ["*", "s3:*", "sagemaker:*"])
def test_wildcard_actions_are_refused(action: str) -> None:
    with pytest.raises(ValueError, match="wildcard actions are not allowed"):
        iam.allow([action], ["arn:aws:s3:::bucket"])


def test_statement_shape() -> None:
    statement = iam.allow(
        ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:SendMessage"], ["arn:q"], sid="Send"
    )
    assert statement == {
        "Sid": "Send",
        "Effect": "Allow",
        "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"],
        "Resource": ["arn:q"],
    }


def test_trust_policy_is_scoped_to_the_account() -> None:
    (statement,) = iam.service_trust_policy(
        "scheduler.amazonaws.com", CTX, source_arn="arn:aws:scheduler:*"
    )["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:scheduler:*"},
    }


def test_wildcard_finder_ignores_denies() -> None:
    document = iam.document(
        iam.deny_insecure_transport("sqs", ["arn:q"]),
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    )
    assert iam.wildcard_allow_actions(document) == ["s3:*"]


def test_arn_helpers() -> None:
    assert CTX.arn("logs", "log-group:x") == "arn:aws:logs:us-east-1:123456789012:log-group:x"
    assert CTX.arn("iam", "role/x", region="") == "arn:aws:iam::123456789012:role/x"
    assert CTX.root_arn == "arn:aws:iam::123456789012:root"
