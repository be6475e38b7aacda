"""DynamoDB: point-in-time recovery, a customer-managed key and deletion protection."""

from __future__ import annotations

from .common import customer_managed_key
from .engine import Resource, Rule, Stack, dig, is_true, requirements_rule


def _encrypted_with_a_cmk(table: Resource, _: Stack) -> bool:
    encryption = table.props.get("serverSideEncryption")
    return dig(encryption, "enabled") is True and customer_managed_key(dig(encryption, "kmsKeyArn"))


dynamodb_table = requirements_rule(
    "dynamodb",
    description="DynamoDB tables have PITR, a CMK and deletion protection",
    source="checkov CKV_AWS_28 / CKV_AWS_119; AWS Security Hub DynamoDB.6",
    types=("aws:dynamodb/table:Table",),
    requires=[
        (is_true("pointInTimeRecovery", "enabled"), "point-in-time recovery is off"),
        (_encrypted_with_a_cmk, "table is not encrypted with a customer-managed KMS key"),
        (is_true("deletionProtectionEnabled"), "deletion protection is off"),
    ],
)

RULES: tuple[Rule, ...] = (dynamodb_table,)
