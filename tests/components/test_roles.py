"""Service roles: trusted by one service for this account only, with exactly the policy given."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from cli import offline
from components.platform import iam
from components.platform.roles import service_role

CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="us-east-1")
CONFIG = {"aws:region": "us-east-1"}


class _Parent(pulumi.ComponentResource):
    def __init__(self) -> None:
        super().__init__("test:roles:Parent", "parent")


def record_role(name: str, **options: Any) -> offline.Recording:
    """Runs ``service_role(name, **options)`` for this account, in a component, under mocks."""

    def program() -> None:
        service_role(name, ctx=CTX, parent=_Parent(), **options)

    return offline.run_under_mocks("test", CONFIG, program)


def test_a_role_trusts_one_service_for_this_account_and_names_its_policy() -> None:
    recording = record_role(
        "forward",
        service="events",
        description="forward events",
        statements=[iam.allow(["events:PutEvents"], ["arn:aws:events:::bus"], sid="ToBus")],
    )
    role = recording.one("aws:iam/role:Role", "forward")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": offline.ACCOUNT_ID}},
        }
    ]
    assert role.inputs["description"] == "forward events"
    assert "path" not in role.inputs  # unset options stay unset
    assert role.parent_urn.endswith("::parent")
    policy = recording.one("aws:iam/rolePolicy:RolePolicy", "forward-policy")
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "ToBus",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": ["arn:aws:events:::bus"],
        }
    ]


def test_statements_may_name_the_role_and_the_source_arn_narrows_the_trust() -> None:
    recording = record_role(
        "runner",
        service="ssm",
        policy_name="runner-grants",
        source_arn="arn:aws:ssm:us-east-1:123456789012:*",
        path="/trainops/test/",
        max_session_duration=7200,
        statements=lambda role: [iam.allow(["iam:PassRole"], [role.arn], sid="PassSelf")],
    )
    role = recording.one("aws:iam/role:Role", "runner")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:ssm:us-east-1:123456789012:*"
    }
    assert role.inputs["path"] == "/trainops/test/"
    assert role.inputs["maxSessionDuration"] == 7200
    policy = recording.one("aws:iam/rolePolicy:RolePolicy", "runner-grants")
    (grant,) = json.loads(policy.inputs["policy"])["Statement"]
    assert grant["Resource"] == [role.outputs["arn"]]
