"""DynamoDB rules: point-in-time recovery, a customer-managed key, deletion protection."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    CASE,
    KEY,
    assert_fails,
    assert_fails_in_engine,
    assert_passes,
    case_rule_ids,
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


@pytest.mark.parametrize("name", GOOD)
def test_the_good_stacks_pass_every_rule(name: str) -> None:
    assert_passes(GOOD[name])


@pytest.mark.parametrize(CASE, BAD)
def test_each_check_fails_on_a_bad_resource(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    assert_fails(rule_id, resources, expected)


@pytest.mark.parametrize(CASE, BAD)
def test_each_check_fails_through_the_policy_engine(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    assert_fails_in_engine(rule_id, resources, expected)
