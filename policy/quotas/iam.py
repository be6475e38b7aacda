"""IAM quotas: policy sizes, role names, and the roles of an account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import SCOPE_INSTEAD_OF_LISTING, Quota, Service, Shared, as_text, iam_size, name_quota

IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"


def _policy_size(quota_id: str, what: str, limit: int, fix: str) -> Quota:
    """A quota on the size of IAM policies, in the unit IAM counts them in (`iam_size`):
    characters, whitespace not counted."""
    return Quota(quota_id, what, limit, "characters (whitespace not counted)", fix, IAM_QUOTAS)


# Each role's inline policies add up (measured on the role policies that name it).
ROLE_INLINE_POLICIES = _policy_size(
    "iam-role-inline-policies",
    "all inline policies of one IAM role together",
    10_240,
    SCOPE_INSTEAD_OF_LISTING + " (one role per model keeps per-model grants apart)",
)


def _inline_policy_size(props: Mapping[str, Any]) -> int | None:
    policy = as_text(props.get("policy"))
    return None if policy is None else iam_size(policy)


MANAGED_POLICY_SIZE = _policy_size(
    "iam-managed-policy", "an IAM managed policy", 6_144, SCOPE_INSTEAD_OF_LISTING
)
TRUST_POLICY = _policy_size(
    "iam-trust-policy",
    "an IAM role's trust policy",
    2_048,
    "trust fewer principals, or raise the quota (up to 4,096) in Service Quotas",
)
ROLE_NAME = name_quota("iam-role-name", "an IAM role name", 64, IAM_QUOTAS)
ROLES = Quota(
    "iam-roles",
    "the IAM roles of an account",
    1_000,
    "roles",
    "raise the quota in Service Quotas (up to 5,000), or split the models over accounts",
    IAM_QUOTAS,
)

SERVICE = Service(
    quotas=(ROLE_INLINE_POLICIES, MANAGED_POLICY_SIZE, TRUST_POLICY, ROLE_NAME, ROLES),
    names={ROLE: ("name", ROLE_NAME.id)},
    documents={
        ROLE: ("assumeRolePolicy", TRUST_POLICY.id, "iam"),
        MANAGED_POLICY: ("policy", MANAGED_POLICY_SIZE.id, "iam"),
    },
    shared={
        ROLE_POLICY: Shared(
            ROLE_INLINE_POLICIES.id,
            "role",
            subject=lambda role, members: f"role {role}: {', '.join(sorted(members))}",
            share=_inline_policy_size,
        ),
        ROLE: Shared(ROLES.id, None, subject=lambda stack, _: f"{stack} roles"),
    },
)
