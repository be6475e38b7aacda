"""SNS quotas: topic policy size."""

from __future__ import annotations

from .base import Quota, resource_policy

SNS_POLICY = (
    "https://docs.aws.amazon.com/sns/latest/dg/"
    "sns-access-policy-language-api-permissions-reference.html"
)

TOPIC_POLICY = Quota(
    "sns-topic-policy",
    "an SNS topic policy",
    30_720,
    "bytes",
    "allow fewer publishers per topic",
    SNS_POLICY,
)

SERVICE = resource_policy("aws:sns/topicPolicy:TopicPolicy", TOPIC_POLICY)
