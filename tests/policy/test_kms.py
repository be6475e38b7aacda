"""KMS rules: keys rotate."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    case_rule_ids,
    resource,
    service_tests,
)

GOOD: dict[str, list[rules.Resource]] = {
    "kms": [resource("aws:kms/key:Key", "k", enableKeyRotation=True)],
}

BAD = [
    pytest.param(
        "kms-rotation",
        [resource("aws:kms/key:Key", "k", enableKeyRotation=False)],
        "rotation is off",
        id="kms-rotation-off",
    ),
]


def test_every_kms_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.kms.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
