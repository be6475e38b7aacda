"""S3 quotas: bucket policy size."""

from __future__ import annotations

from .base import Quota, resource_policy

S3_POLICY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html"

BUCKET_POLICY = Quota(
    "s3-bucket-policy",
    "an S3 bucket policy",
    20_480,
    "bytes",
    "grant through IAM policies instead of the bucket policy",
    S3_POLICY,
)

SERVICE = resource_policy("aws:s3/bucketPolicy:BucketPolicy", BUCKET_POLICY)
