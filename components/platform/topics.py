"""Encrypted SNS topics that only this account's alarms and rules (and IAM principals) may use."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import iam


def topic_policy(ctx: iam.AwsContext, topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Only this account's CloudWatch alarms and EventBridge rules may publish; TLS only.

    Principals of the account itself publish through their IAM policies.
    """
    return iam.document(
        *(
            iam.allow(
                ["sns:Publish"],
                [topic_arn],
                sid=sid,
                principals={"Service": ctx.service_principal(service)},
                conditions=ctx.on_behalf_of_this_account(ctx.arn(service, sources)),
            )
            for sid, service, sources in (
                ("AlarmsOfThisAccount", "cloudwatch", "alarm:*"),
                ("RulesOfThisAccount", "events", "rule/*"),
            )
        ),
        iam.deny_insecure_transport("sns", [topic_arn]),
    )


def encrypted_topic(
    name: str,
    *,
    display_name: str,
    key_arn: pulumi.Input[str],
    ctx: iam.AwsContext,
    parent: pulumi.Resource,
    emails: list[str] | None = None,
) -> aws.sns.Topic:
    """A topic encrypted with the stack key, its policy, and optional e-mail subscribers."""
    child = pulumi.ResourceOptions(parent=parent)
    topic = aws.sns.Topic(name, display_name=display_name, kms_master_key_id=key_arn, opts=child)
    aws.sns.TopicPolicy(
        f"{name}-policy",
        arn=topic.arn,
        policy=iam.to_json(topic_policy(ctx, topic.arn)),
        opts=child,
    )
    for index, address in enumerate(emails or []):
        aws.sns.TopicSubscription(
            f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=address, opts=child
        )
    return topic
