"""KMS rules: keys rotate."""

from __future__ import annotations

import rules

from tests.policy.support import ServiceTests, bad_cases, resource

KMS_KEY = "aws:kms/key:Key"
GOOD: dict[str, list[rules.Resource]] = {"kms": [resource(KMS_KEY, "k", enableKeyRotation=True)]}

BAD = bad_cases(
    "kms-rotation", {"off": ([resource(KMS_KEY, "k", enableKeyRotation=False)], "rotation is off")}
)


class TestKmsRules(ServiceTests):
    service = rules.kms
    good = GOOD
    bad = BAD
