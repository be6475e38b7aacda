"""SNS: topics are encrypted with a customer-managed key."""

from __future__ import annotations

from .common import customer_managed
from .engine import Rule, requirements_rule

sns_cmk = requirements_rule(
    "sns-cmk",
    description="SNS topics use a customer-managed KMS key",
    source="checkov CKV_AWS_26 (stricter: the key must be customer-managed)",
    types=("aws:sns/topic:Topic",),
    requires=[
        (
            customer_managed("kmsMasterKeyId"),
            "SNS topic is not encrypted with a customer-managed KMS key",
        )
    ],
)

RULES: tuple[Rule, ...] = (sns_cmk,)
