"""DynamoDB: point-in-time recovery, a customer-managed key and deletion protection."""

from __future__ import annotations

from .common import customer_managed_key
from .engine import Resource, Rule, Stack, rule


@rule(
    "dynamodb",
    description="DynamoDB tables have PITR, a CMK and deletion protection",
    source="checkov CKV_AWS_28 / CKV_AWS_119; AWS Security Hub DynamoDB.6",
    types=("aws:dynamodb/table:Table",),
)
def dynamodb_table(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if resource.get("pointInTimeRecovery", "enabled") is not True:
        problems.append("point-in-time recovery is off")
    if resource.get("serverSideEncryption", "enabled") is not True or not customer_managed_key(
        resource.get("serverSideEncryption", "kmsKeyArn")
    ):
        problems.append("table is not encrypted with a customer-managed KMS key")
    if resource.props.get("deletionProtectionEnabled") is not True:
        problems.append("deletion protection is off")
    return problems


RULES: tuple[Rule, ...] = (dynamodb_table,)
