"""SNS: topics are encrypted with a customer-managed key."""

from __future__ import annotations

from .common import customer_managed_key
from .engine import Resource, Rule, Stack, rule


@rule(
    "sns-cmk",
    description="SNS topics use a customer-managed KMS key",
    source="checkov CKV_AWS_26 (stricter: the key must be customer-managed)",
    types=("aws:sns/topic:Topic",),
)
def sns_cmk(resource: Resource, _: Stack) -> list[str]:
    if not customer_managed_key(resource.props.get("kmsMasterKeyId")):
        return ["SNS topic is not encrypted with a customer-managed KMS key"]
    return []


RULES: tuple[Rule, ...] = (sns_cmk,)
