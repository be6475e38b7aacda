"""S3: buckets block public access, are versioned, encrypted and TLS-only, and log every
request."""

from __future__ import annotations

from .common import statements
from .engine import Resource, Rule, Stack, as_list, dig, rule

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
# S3 server access log delivery writes only into SSE-S3 buckets (AWS S3 user guide).
ACCESS_LOG_TARGET_ALGORITHMS = ("AES256",)
CLOUDTRAIL_TAG = ("trainops:access-logs", "cloudtrail-data-events")


def _bucket_refs(resource: Resource, stack: Stack) -> set[str]:
    """How companion resources name a bucket: its name (= its id; the id may be unknown)."""
    return {
        ref
        for ref in (resource.props.get("bucket"), stack.known(lambda: resource.props.get("id")))
        if isinstance(ref, str) and ref
    }


def _log_target(refs: set[str], stack: Stack) -> bool:
    """Whether the bucket receives other buckets' server access logs."""
    return bool(refs) and bool(
        stack.find(BUCKET_LOGGING, lambda r: r.props.get("targetBucket") in refs)
    )


@rule(
    "s3-bucket",
    BUCKET,
    source="checkov CKV_AWS_53 / CKV_AWS_54 / CKV_AWS_55 / CKV_AWS_56, CKV_AWS_21, CKV_AWS_145; "
    "cdk-nag AwsSolutions-S10",
)
def s3_bucket(resource: Resource, stack: Stack) -> list[str]:
    """Buckets block public access, are versioned, SSE-KMS (SSE-S3 for an access-log target)
    and TLS-only.

    A public bucket leaks its data, an unversioned one loses it to an overwrite, plain HTTP
    exposes it in transit. The settings live on companion resources (public access block,
    versioning, encryption configuration, bucket policy), found by the bucket's name; an
    access-log target may use SSE-S3, the only encryption S3 delivers server access logs into.
    """
    refs = _bucket_refs(resource, stack)

    def companions(type_token: str) -> list[Resource]:
        return stack.find(type_token, lambda r: r.props.get("bucket") in refs) if refs else []

    problems = []
    if not any(
        all(block.props.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS)
        for block in companions(PUBLIC_ACCESS_BLOCK)
    ):
        problems.append("bucket lacks all four public-access blocks")
    if not any(
        v.get("versioningConfiguration", "status") == "Enabled"
        for v in companions(BUCKET_VERSIONING)
    ):
        problems.append("bucket versioning is not enabled")
    allowed = KMS_ALGORITHMS
    if _log_target(refs, stack):
        allowed = KMS_ALGORITHMS + ACCESS_LOG_TARGET_ALGORITHMS
    if not any(
        dig(encryption_rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") in allowed
        for encryption in companions(BUCKET_ENCRYPTION)
        for encryption_rule in as_list(encryption.props.get("rules"))
    ):
        problems.append(
            "bucket default encryption is not SSE-KMS"
            + (" or SSE-S3 (an access-log target)" if allowed != KMS_ALGORITHMS else "")
        )
    if not any(
        s.get("Effect") == "Deny"
        and dig(s, "Condition", "Bool", "aws:SecureTransport") in ("false", False)
        for policy in companions(BUCKET_POLICY)
        for s in statements(policy.props.get("policy"))
    ):
        problems.append("bucket policy does not deny requests without TLS")
    return problems


@rule("s3-access-logs", BUCKET, source="checkov CKV_AWS_18")
def s3_access_logs(resource: Resource, stack: Stack) -> list[str]:
    """Buckets log every request (server access logs, or CloudTrail data events).

    Every request to a bucket leaves a trail: server access logs to a log bucket, or the
    documented CloudTrail data-events alternative (tagged). A log bucket does not log itself."""
    refs = _bucket_refs(resource, stack)
    if refs and stack.find(BUCKET_LOGGING, lambda r: r.props.get("bucket") in refs):
        return []
    if _log_target(refs, stack):
        return []
    if resource.get("tags", CLOUDTRAIL_TAG[0]) == CLOUDTRAIL_TAG[1]:
        return []
    return [
        "bucket has no server access logging (aws.s3.BucketLogging) and is not marked as "
        f"recorded by CloudTrail data events (tag {CLOUDTRAIL_TAG[0]}={CLOUDTRAIL_TAG[1]})"
    ]


RULES: tuple[Rule, ...] = (s3_bucket, s3_access_logs)
