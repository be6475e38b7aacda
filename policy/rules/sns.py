"""SNS: topics are encrypted with a customer-managed key."""

from __future__ import annotations

from .common import customer_managed_key
from .engine import Resource, Rule, Stack, rule


@rule(
    "sns-cmk",
    "aws:sns/topic:Topic",
    source="checkov CKV_AWS_26 (stricter: the key must be customer-managed)",
)
def sns_cmk(topic: Resource, _: Stack) -> list[str]:
    """SNS topics use a customer-managed KMS key.

    The policy of the AWS-managed key cannot let the publishers (CloudWatch alarms, EventBridge)
    use the key, so their messages would never arrive.
    """
    if customer_managed_key(topic.props.get("kmsMasterKeyId")):
        return []
    return ["SNS topic is not encrypted with a customer-managed KMS key"]


RULES: tuple[Rule, ...] = (sns_cmk,)
