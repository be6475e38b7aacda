"""DynamoDB rules: point-in-time recovery, a customer-managed key, deletion protection."""

from __future__ import annotations

import rules

from tests.policy.support import KEY, bad_cases, service_tests, table

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

(
    test_every_dynamodb_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.dynamodb, GOOD, BAD)
