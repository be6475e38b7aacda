"""Private S3 buckets with the stack's secure defaults: the one way trainops builds a bucket.

SSE-KMS with the stack key and an S3 bucket key, versioning, all four public-access blocks,
bucket-owner-enforced ownership, a policy that refuses plain HTTP and TLS older than 1.2, and a
lifecycle that aborts incomplete multipart uploads and expires old versions. Optionally S3
Object Lock (for audit trails that must not be rewritten).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam


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


def secure_bucket(
    name: str,
    *,
    key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    noncurrent_version_days: int,
    multipart_upload_abort_days: int = 7,
    object_lock: ObjectLock | None = None,
    protect: bool = False,
) -> aws.s3.Bucket:
    """A private, KMS-encrypted, versioned, TLS-only bucket parented to ``parent``."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name,
        force_destroy=False,
        object_lock_enabled=True if object_lock else None,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
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
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=child,
    )
    if object_lock is not None:
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock",
            bucket=bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": object_lock.mode, "days": object_lock.days}},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
        )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": multipart_upload_abort_days
                },
            },
            {
                "id": "expire-old-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
                "expiration": {"expired_object_delete_marker": True},
            },
        ],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=iam.to_json(tls_only_bucket_policy(bucket.arn)),
        # S3 rejects a bucket policy while the public-access block is still being applied.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access]),
    )
    return bucket
