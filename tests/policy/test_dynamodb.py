"""DynamoDB rules: point-in-time recovery, a customer-managed key, deletion protection."""

from __future__ import annotations

import rules

from tests.policy.support import KEY, ServiceTests, bad_cases, table

GOOD: dict[str, list[rules.Resource]] = {"dynamodb": [table()]}

BAD = bad_cases(
    "dynamodb",
    {
        "point-in-time-recovery-off": (
            [table(pointInTimeRecovery={"enabled": False})],
            "point-in-time recovery is off",
        ),
        "encrypted-without-a-customer-managed-key": (
            [table(serverSideEncryption={"enabled": True})],
            "customer-managed KMS key",
        ),
        "encryption-disabled": (
            [table(serverSideEncryption={"enabled": False, "kmsKeyArn": KEY})],
            "customer-managed KMS key",
        ),
        "deletion-protection-off": (
            [table(deletionProtectionEnabled=False)],
            "deletion protection is off",
        ),
    },
)


class TestDynamoDbRules(ServiceTests):
    service = rules.dynamodb
    good = GOOD
    bad = BAD
