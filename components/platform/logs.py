"""Log groups of the stack, each created explicitly (not left to the service on first write), so
that it is kept for the stack's retention and encrypted with the stack key (checkov
CKV_AWS_158, CKV_AWS_338), and is deleted with the stack."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.platform.context import PlatformContext


def log_group(
    name: str, *, path: str, platform: PlatformContext, parent: pulumi.Resource
) -> aws.cloudwatch.LogGroup:
    """The log group ``path``, kept ``platform.log_retention_days`` under the stack key."""
    return aws.cloudwatch.LogGroup(
        name,
        name=path,
        retention_in_days=platform.log_retention_days,
        kms_key_id=platform.key_arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
