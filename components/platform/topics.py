"""Encrypted SNS topics that only this account's alarms, rules and budgets (and IAM principals)
may use."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import iam


def topic_policy(ctx: iam.AwsContext, topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Only this account's CloudWatch alarms, EventBridge rules and AWS Budgets may publish; TLS
    only.

    Principals of the account itself publish through their IAM policies.

    Budgets is admitted on every topic of the stack, as alarms and rules are: the topics are
    encrypted with the stack key, and the key lets `budgets.amazonaws.com` encrypt only while
    `spendGuardrails.budgets` is on (`Foundation.key_policy`), so with budgets off nothing of
    Budgets can reach a topic. Budgets is a global service: its ARNs have no region
    (`arn:<partition>:budgets::<account>:budget/<name>`); the source ARN pattern is the one AWS
    documents for budget notifications ("Creating an Amazon SNS topic for budget
    notifications": `aws:SourceAccount` and `aws:SourceArn` `arn:aws:budgets::<account-id>:*`),
    which admits the account's budgets and nothing of another account.
    """
    return iam.document(
        *(
            iam.allow(
                ["sns:Publish"],
                [topic_arn],
                sid=sid,
                principals={"Service": ctx.service_principal(service)},
                conditions=ctx.on_behalf_of_this_account(source_arn),
            )
            for sid, service, source_arn in (
                ("AlarmsOfThisAccount", "cloudwatch", ctx.arn("cloudwatch", "alarm:*")),
                ("RulesOfThisAccount", "events", ctx.arn("events", "rule/*")),
                ("BudgetsOfThisAccount", "budgets", budgets_source_arn(ctx)),
            )
        ),
        iam.deny_insecure_transport("sns", [topic_arn]),
    )


def budgets_source_arn(ctx: iam.AwsContext) -> str:
    """`arn:<partition>:budgets::<account>:*`: whatever AWS Budgets does for this account (the
    `aws:SourceArn` AWS documents for its SNS and KMS grants; budgets have no region)."""
    return ctx.arn("budgets", "*", region="")


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
