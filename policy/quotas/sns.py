"""SNS quotas: topic policy size."""

from __future__ import annotations

from .base import Quota, Service

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

SERVICE = Service(
    quotas=(TOPIC_POLICY,),
    documents={"aws:sns/topicPolicy:TopicPolicy": ("policy", TOPIC_POLICY.id, "bytes")},
)
