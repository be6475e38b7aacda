"""S3 quotas: bucket policy size."""

from __future__ import annotations

from .base import Quota, Service

S3_POLICY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html"

BUCKET_POLICY = Quota(
    "s3-bucket-policy",
    "an S3 bucket policy",
    20_480,
    "bytes",
    "grant through IAM policies instead of the bucket policy",
    S3_POLICY,
)

SERVICE = Service(
    quotas=(BUCKET_POLICY,),
    documents={"aws:s3/bucketPolicy:BucketPolicy": ("policy", BUCKET_POLICY.id, "bytes")},
)
