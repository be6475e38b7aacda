"""Service roles: an IAM role one AWS service may assume for this account, and its inline policy.

Every role trainops creates has this shape (Lambda, EventBridge, Scheduler, Firehose, SSM,
SageMaker, Chatbot): a trust policy for one service principal, scoped to this account (and to
one source ARN where AWS sends it), and one inline policy built from `iam` statements. Made in
one place, no role can miss the confused-deputy condition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import iam

Statements = Sequence[iam.Statement] | Callable[[aws.iam.Role], Sequence[iam.Statement]]


@dataclass(frozen=True)
class ServiceRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def service_role(
    name: str,
    *,
    service: str,
    ctx: iam.AwsContext,
    parent: pulumi.Resource,
    statements: Statements,
    description: str | None = None,
    policy_name: str | None = None,
    source_arn: str | None = None,
    path: str | None = None,
    max_session_duration: int | None = None,
) -> ServiceRole:
    """The role ``service`` assumes, named ``name``, with its inline policy ``<name>-policy``
    (or ``policy_name``). ``statements`` may be a function of the role, for statements that
    name the role itself (pass-role to itself, its own ARN in a definition)."""
    child = pulumi.ResourceOptions(parent=parent)
    optional: dict[str, Any] = {
        key: value
        for key, value in (
            ("description", description),
            ("path", path),
            ("max_session_duration", max_session_duration),
        )
        if value is not None
    }
    role = aws.iam.Role(
        name,
        assume_role_policy=iam.to_json(
            iam.service_trust_policy(ctx.service_principal(service), ctx, source_arn=source_arn)
        ),
        opts=child,
        **optional,
    )
    granted = statements(role) if callable(statements) else statements
    policy = aws.iam.RolePolicy(
        policy_name or f"{name}-policy",
        role=role.id,
        policy=iam.to_json(iam.document(*granted)),
        opts=child,
    )
    return ServiceRole(role=role, policy=policy)
