"""IAM rules: no wildcard actions, Resource "*" only where AWS allows nothing else, no broad
AWS-managed policies, service trust scoped to this account."""

from __future__ import annotations

import rules

from tests.policy.support import (
    ACCOUNT,
    ServiceTests,
    bad,
    doc,
    resource,
    role,
    role_policy,
)

GOOD: dict[str, list[rules.Resource]] = {
    "iam": [
        role(managedPolicyArns=[]),
        role_policy(Action=["s3:GetObject"], Resource="arn:aws:s3:::b/*"),
    ],
}

BAD = [
    bad(
        "iam-wildcard-actions",
        "service-wildcard-in-role-policy",
        [role_policy(Action="s3:*", Resource="arn:aws:s3:::b")],
        "wildcard actions ['s3:*']",
    ),
    bad(
        "iam-wildcard-actions",
        "star-in-inline-policy",
        [
            role(
                inlinePolicies=[
                    {
                        "name": "inline",
                        "policy": doc(
                            {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}
                        ),
                    }
                ]
            )
        ],
        "inlinePolicies[0]: Allow with wildcard actions ['*']",
    ),
    bad(
        "iam-star-resource",
        "for-an-action-with-resource-types",
        [role_policy(Action=["s3:GetObject"], Resource="*")],
        "support resource-level permissions",
    ),
    bad(
        "iam-managed-policies",
        "full-access-attachment",
        [
            resource(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "a",
                policyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
            )
        ],
        "AWS-managed broad policy",
    ),
    bad(
        "iam-managed-policies",
        "administrator-access-on-a-role",
        [role(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])],
        "AdministratorAccess",
    ),
    bad(
        "iam-trust-scoped",
        "service-trust-without-source-condition",
        [
            role(
                assumeRolePolicy=doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                )
            )
        ],
        "no aws:SourceAccount",
    ),
]


class TestIamRules(ServiceTests):
    service = rules.iam
    good = GOOD
    bad = BAD


def test_star_only_actions_have_no_resource_type_in_the_iam_reference() -> None:
    """`iam-star-resource` lets these through on Resource "*": each must be an action the
    Service Authorization Reference (parliament's copy) lists without any resource type."""
    from parliament import iam_definition

    resource_types = {
        f"{service['prefix']}:{privilege['privilege']}": {
            r["resource_type"] for r in privilege["resource_types"]
        }
        for service in iam_definition
        for privilege in service["privileges"]
    }
    for action in rules.STAR_ONLY_ACTIONS:
        assert resource_types.get(action) == {""}, f"{action}: {resource_types.get(action)}"


def test_deny_wildcards_and_key_policies_are_not_violations() -> None:
    deny = resource(
        "aws:sqs/queuePolicy:QueuePolicy",
        "p",
        policy=doc(
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sqs:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    )
    key = resource(
        "aws:kms/key:Key",
        "k",
        enableKeyRotation=True,
        policy=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
            }
        ),
    )
    xray = role_policy(Action=["xray:PutTraceSegments"], Resource="*")
    assert rules.evaluate(rules.Stack([deny, key, xray]), suppressions=[]) == []
