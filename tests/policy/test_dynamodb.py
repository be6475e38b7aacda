"""DynamoDB rules: point-in-time recovery, a customer-managed key, deletion protection."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    KEY,
    case_rule_ids,
    service_tests,
    table,
)

GOOD: dict[str, list[rules.Resource]] = {"dynamodb": [table()]}

BAD = [
    pytest.param(
        "dynamodb",
        [table(pointInTimeRecovery={"enabled": False})],
        "point-in-time recovery is off",
        id="dynamodb-point-in-time-recovery-off",
    ),
    pytest.param(
        "dynamodb",
        [table(serverSideEncryption={"enabled": True})],
        "customer-managed KMS key",
        id="dynamodb-encrypted-without-a-customer-managed-key",
    ),
    pytest.param(
        "dynamodb",
        [table(serverSideEncryption={"enabled": False, "kmsKeyArn": KEY})],
        "customer-managed KMS key",
        id="dynamodb-encryption-disabled",
    ),
    pytest.param(
        "dynamodb",
        [table(deletionProtectionEnabled=False)],
        "deletion protection is off",
        id="dynamodb-deletion-protection-off",
    ),
]


def test_every_dynamodb_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.dynamodb.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
