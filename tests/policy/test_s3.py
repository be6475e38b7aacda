"""S3 rules: buckets block public access, are versioned, encrypted and TLS-only, and log every
request (server access logs into an SSE-S3 log bucket, or CloudTrail data events)."""

from __future__ import annotations

import rules

from tests.policy.support import (
    SSE_S3,
    TLS_ONLY,
    ServiceTests,
    bad,
    bucket,
    changed,
    doc,
    log_bucket,
    modified,
    without_access_logs,
)

GOOD: dict[str, list[rules.Resource]] = {
    "s3": bucket(),
    "s3-access-log-target": log_bucket(),
    "s3-cloudtrail": modified(
        without_access_logs(bucket()),
        0,
        tags={"trainops:access-logs": "cloudtrail-data-events"},
    ),
}

BAD = [
    bad(
        "s3-bucket",
        "without-public-access-block",
        bucket()[:1] + bucket()[2:],
        "public-access blocks",
    ),
    bad(
        "s3-bucket",
        "restrict-public-buckets-off",
        bucket(block={"restrictPublicBuckets": False}),
        "public-access blocks",
    ),
    bad(
        "s3-bucket",
        "versioning-suspended",
        bucket(versioning={"versioningConfiguration": {"status": "Suspended"}}),
        "versioning",
    ),
    bad("s3-bucket", "sse-s3-instead-of-sse-kms", bucket(encryption=SSE_S3), "not SSE-KMS"),
    bad(
        "s3-bucket",
        "policy-does-not-deny-plain-http",
        bucket(policy={"policy": doc({**TLS_ONLY, "Condition": {}})}),
        "does not deny requests without TLS",
    ),
    bad(
        "s3-bucket",
        "access-log-target-neither-sse-kms-nor-sse-s3",
        [
            changed(r, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}])
            if r.name == "logs-encryption"
            else r
            for r in log_bucket()
        ],
        "not SSE-KMS or SSE-S3 (an access-log target)",
    ),
    bad(
        "s3-access-logs",
        "no-logging-and-no-cloudtrail-tag",
        without_access_logs(bucket()),
        "no server access logging",
    ),
    bad(
        "s3-access-logs",
        "logging-configured-for-another-bucket",
        bucket(logging={"bucket": "another-bucket"}),
        "no server access logging",
    ),
]


class TestS3Rules(ServiceTests):
    service = rules.s3
    good = GOOD
    bad = BAD
