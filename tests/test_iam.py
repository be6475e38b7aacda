"""IAM helpers refuse wildcard grants and build scoped trust policies."""

from __future__ import annotations

import pytest

from components.platform import iam

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


def test_documents_with_outputs_serialise_as_json_dumps_would() -> None:
    """`to_json` resolves a document's Outputs with one `Output.all`; the text is what
    `json.dumps` makes of the resolved document, and it is taken when `to_json` is called."""
    import json

    import pulumi
    import pulumi_aws as aws

    from cli import offline

    def program() -> None:
        key = aws.kms.Key("key")
        document = iam.document(
            iam.allow(["kms:Decrypt"], [key.arn], sid="Key"),
            iam.allow(
                ["s3:GetObject"],
                [pulumi.Output.concat("arn:aws:s3:::b/", "x/*"), "arn:aws:s3:::b/y/*"],
                sid="Data",
                conditions={"StringEquals": {"aws:PrincipalTag/team": key.key_id}},
            ),
        )
        policy = iam.to_json(document)
        document["Statement"].clear()  # changing the dict afterwards changes nothing
        aws.iam.Policy("with-outputs", policy=policy)
        aws.iam.Policy("plain", policy=iam.to_json(iam.document(iam.allow(["s3:GetObject"], "*"))))

    recording = offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)
    key = recording.one("aws:kms/key:Key")
    text = recording.one("aws:iam/policy:Policy", "with-outputs").inputs["policy"]
    assert text == json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Key",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": [key.outputs["arn"]],
                },
                {
                    "Sid": "Data",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::b/x/*", "arn:aws:s3:::b/y/*"],
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": key.outputs["keyId"]}},
                },
            ],
        }
    )
    plain = json.loads(recording.one("aws:iam/policy:Policy", "plain").inputs["policy"])
    assert plain["Statement"][0]["Resource"] == "*"
