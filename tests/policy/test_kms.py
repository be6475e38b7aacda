"""KMS rules: keys rotate."""

from __future__ import annotations

import rules

from tests.policy.support import bad_cases, resource, service_tests

KMS_KEY = "aws:kms/key:Key"
GOOD: dict[str, list[rules.Resource]] = {"kms": [resource(KMS_KEY, "k", enableKeyRotation=True)]}

BAD = bad_cases(
    "kms-rotation", {"off": ([resource(KMS_KEY, "k", enableKeyRotation=False)], "rotation is off")}
)

(
    test_every_kms_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.kms, GOOD, BAD)
