"""KMS quotas: key policy size."""

from __future__ import annotations

from .base import Quota, Service

KMS_POLICY = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html"

KEY_POLICY = Quota(
    "kms-key-policy",
    "a KMS key policy",
    32_768,
    "bytes",
    "delegate to IAM (the account root) instead of naming principals in the key policy",
    KMS_POLICY,
)

SERVICE = Service(
    quotas=(KEY_POLICY,),
    documents={"aws:kms/key:Key": ("policy", KEY_POLICY.id, "bytes")},
)
