"""KMS quotas: key policy size."""

from __future__ import annotations

from .base import Quota, resource_policy

KMS_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html"

KEY_POLICY = Quota(
    "kms-key-policy",
    "a KMS key policy",
    32_768,
    "bytes",
    "delegate to IAM (the account root) instead of naming principals in the key policy",
    KMS_POLICY,
)

SERVICE = resource_policy("aws:kms/key:Key", KEY_POLICY)
