"""Private S3 buckets with the stack's secure defaults: the one way trainops builds a bucket.

SSE-KMS with the stack key and an S3 bucket key, versioning, all four public-access blocks,
bucket-owner-enforced ownership, a policy that refuses plain HTTP and TLS older than 1.2, a
lifecycle that aborts incomplete multipart uploads and expires old versions, and an audit trail
of every request (`AccessLogs`). Optionally S3 Object Lock (for audit trails that must not be
rewritten).

Server access logs go to one access-log bucket per stack (`access_log_bucket`). It is the one
bucket not encrypted with the stack key: S3 delivers access logs only into a bucket whose
default encryption is SSE-S3 (AWS: "Amazon S3 server access logging" - SSE-KMS is not supported
for the destination). It is otherwise as private, TLS-only, and expires its logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import iam

ACCESS_LOGGING_SERVICE = "logging.s3.amazonaws.com"
# Tag on a bucket whose requests the account's CloudTrail trail records as S3 data events
# instead of server access logs (`trainops:accessLogs.destination: cloudtrail`).
CLOUDTRAIL_TAG = ("trainops:access-logs", "cloudtrail-data-events")


@dataclass(frozen=True)
class AccessLogs:
    """Where a bucket's requests are logged: server access logs into ``target_bucket`` under a
    prefix per bucket, or, when it is None, CloudTrail S3 data events recorded by a trail the
    account (or organization) already runs (the bucket is tagged so that it is visible)."""

    target_bucket: pulumi.Input[str] | None
    # what must exist before a bucket logs there (the log bucket's policy admitting S3's
    # logging service: without it the first deliveries fail)
    ready: Sequence[pulumi.Resource] = ()

    @property
    def by_cloudtrail(self) -> bool:
        return self.target_bucket is None


@dataclass(frozen=True)
class ObjectLock:
    """Default retention applied to every new object version."""

    mode: str = "GOVERNANCE"  # COMPLIANCE cannot be shortened, not even by the account root
    days: int = 365


def tls_only_bucket_policy(bucket_arn: pulumi.Input[str]) -> dict:
    """Deny plain HTTP and TLS older than 1.2 for the bucket and every object in it."""
    resources = [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")]
    old_tls = {
        "Sid": "DenyTlsOlderThan12",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
    }
    return iam.document(iam.deny_insecure_transport("s3", resources), old_tls)


def _private(name: str, bucket: aws.s3.Bucket, parent: pulumi.Resource) -> pulumi.Resource:
    """Bucket-owner-enforced ownership (no ACLs) and all four public-access blocks; returns
    the block, which a bucket policy must wait for."""
    child = pulumi.ResourceOptions(parent=parent)
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=child,
    )
    return aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )


def _lifecycle(
    name: str,
    bucket: aws.s3.Bucket,
    parent: pulumi.Resource,
    versioning: pulumi.Resource,
    rules: Mapping[str, Mapping[str, Any]],  # BucketLifecycleConfigurationRuleArgsDict's actions
) -> None:
    """Lifecycle ``rules`` (rule id -> its actions), each over the whole bucket, created after
    the versioning whose noncurrent versions they expire."""
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgsDict(
                id=rule_id, status="Enabled", filter={}, **actions
            )
            for rule_id, actions in rules.items()
        ],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )


def _versioned(name: str, bucket: aws.s3.Bucket, parent: pulumi.Resource) -> pulumi.Resource:
    return aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _policy(
    name: str,
    bucket: aws.s3.Bucket,
    document: dict,
    parent: pulumi.Resource,
    public_access: pulumi.Resource,
) -> aws.s3.BucketPolicy:
    return aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=iam.to_json(document),
        # S3 rejects a bucket policy while the public-access block is still being applied.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access]),
    )


def access_log_bucket(
    name: str,
    *,
    ctx: iam.AwsContext,
    parent: pulumi.Resource,
    retention_days: int,
    protect: bool = False,
) -> tuple[aws.s3.Bucket, AccessLogs]:
    """The stack's access-log bucket, and where other buckets send their logs. SSE-S3 (the
    only encryption S3 log delivery writes into), private, TLS-only, writable by S3's logging
    service for this account alone, and expiring logs after ``retention_days``. Versioned, so
    a deleted log stays recoverable for a day."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name, force_destroy=False, opts=pulumi.ResourceOptions(parent=parent, protect=protect)
    )
    public_access = _private(name, bucket, parent)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        # SSE-S3: S3 server access log delivery does not write into an SSE-KMS bucket.
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=child,
    )
    versioning = _versioned(name, bucket, parent)
    _lifecycle(
        name,
        bucket,
        parent,
        versioning,
        {
            "expire-access-logs": {
                "expiration": {"days": retention_days},
                "noncurrent_version_expiration": {"noncurrent_days": 1},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
            }
        },
    )
    policy = _policy(name, bucket, access_log_bucket_policy(bucket.arn, ctx), parent, public_access)
    return bucket, AccessLogs(bucket.bucket, ready=[policy])


def access_log_bucket_policy(bucket_arn: pulumi.Input[str], ctx: iam.AwsContext) -> dict:
    """TLS-only, plus S3's logging service writing objects for this account's buckets only
    (with bucket-owner-enforced ownership, a policy, not an ACL, grants log delivery)."""
    document = tls_only_bucket_policy(bucket_arn)
    document["Statement"].append(
        iam.allow(
            ["s3:PutObject"],
            [pulumi.Output.concat(bucket_arn, "/*")],
            sid="S3ServerAccessLogDelivery",
            principals={"Service": ACCESS_LOGGING_SERVICE},
            conditions=ctx.on_behalf_of_this_account(),
        )
    )
    return document


def secure_bucket(
    name: str,
    *,
    key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    noncurrent_version_days: int,
    access_logs: AccessLogs,
    multipart_upload_abort_days: int = 7,
    object_lock: ObjectLock | None = None,
    protect: bool = False,
) -> aws.s3.Bucket:
    """A private, KMS-encrypted, versioned, TLS-only, access-logged bucket parented to
    ``parent``; its server access logs go under ``<name>/`` in the log bucket."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name,
        force_destroy=False,
        object_lock_enabled=True if object_lock else None,
        tags=dict([CLOUDTRAIL_TAG]) if access_logs.by_cloudtrail else None,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    public_access = _private(name, bucket, parent)
    if access_logs.target_bucket is not None:
        aws.s3.BucketLogging(
            f"{name}-access-logs",
            bucket=bucket.id,
            target_bucket=access_logs.target_bucket,
            target_prefix=f"{name}/",
            # <prefix><account>/<region>/<bucket>/<yyyy>/<mm>/<dd>/: queryable by date (Athena)
            target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(access_logs.ready)),
        )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=child,
    )
    versioning = _versioned(name, bucket, parent)
    if object_lock is not None:
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": object_lock.mode, "days": object_lock.days}},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
        )
    _lifecycle(
        name,
        bucket,
        parent,
        versioning,
        {
            "abort-incomplete-multipart-uploads": {
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": multipart_upload_abort_days
                },
            },
            "expire-old-versions": {
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
                "expiration": {"expired_object_delete_marker": True},
            },
        },
    )
    _policy(name, bucket, tls_only_bucket_policy(bucket.arn), parent, public_access)
    return bucket
