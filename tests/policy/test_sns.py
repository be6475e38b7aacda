"""SNS rules: topics are encrypted with a customer-managed key."""

from __future__ import annotations

import rules

from tests.policy.support import KEY, ServiceTests, bad_cases, modified, resource

GOOD: dict[str, list[rules.Resource]] = {
    "sns": [resource("aws:sns/topic:Topic", "t", kmsMasterKeyId=KEY)],
}
SNS = GOOD["sns"]

BAD = bad_cases(
    "sns-cmk",
    {
        "aws-managed-alias": (modified(SNS, 0, kmsMasterKeyId="alias/aws/sns"), "customer-managed"),
        "topic-without-a-key": (modified(SNS, 0, kmsMasterKeyId=None), "customer-managed"),
    },
)


class TestSnsRules(ServiceTests):
    service = rules.sns
    good = GOOD
    bad = BAD
