"""DynamoDB: point-in-time recovery, a customer-managed key and deletion protection."""

from __future__ import annotations

from .common import customer_managed_key
from .engine import Requirement, Resource, Rule, Stack, dig, is_true, rule, unmet


def _encrypted_with_a_cmk(table: Resource, _: Stack) -> bool:
    encryption = table.props.get("serverSideEncryption")
    return dig(encryption, "enabled") is True and customer_managed_key(dig(encryption, "kmsKeyArn"))


TABLE_REQUIREMENTS: list[Requirement] = [
    (is_true("pointInTimeRecovery", "enabled"), "point-in-time recovery is off"),
    (_encrypted_with_a_cmk, "table is not encrypted with a customer-managed KMS key"),
    (is_true("deletionProtectionEnabled"), "deletion protection is off"),
]


@rule(
    "dynamodb",
    "aws:dynamodb/table:Table",
    source="checkov CKV_AWS_28 / CKV_AWS_119; AWS Security Hub DynamoDB.6",
)
def dynamodb_table(table: Resource, stack: Stack) -> list[str]:
    """DynamoDB tables have PITR, a CMK and deletion protection.

    Point-in-time recovery undoes a bad write to the second, deletion protection keeps a stray
    replacement or delete from taking the data with it, and the key's policy says who reads it.
    """
    return unmet(table, stack, TABLE_REQUIREMENTS)


RULES: tuple[Rule, ...] = (dynamodb_table,)
