"""S3 rules: buckets block public access, are versioned, encrypted and TLS-only, and log every
request (server access logs into an SSE-S3 log bucket, or CloudTrail data events)."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    TLS_ONLY,
    bucket,
    case_rule_ids,
    changed,
    doc,
    log_bucket,
    service_tests,
)

GOOD: dict[str, list[rules.Resource]] = {
    "s3": bucket(),
    "s3-access-log-target": log_bucket(),
    "s3-cloudtrail": [
        rules.Resource(
            r.type, r.name, {**r.props, "tags": {"trainops:access-logs": "cloudtrail-data-events"}}
        )
        if r.type == "aws:s3/bucket:Bucket"
        else r
        for r in bucket()
        if r.type != "aws:s3/bucketLogging:BucketLogging"
    ],
}

BAD = [
    pytest.param(
        "s3-bucket",
        bucket()[:1] + bucket()[2:],
        "public-access blocks",
        id="s3-bucket-without-public-access-block",
    ),
    pytest.param(
        "s3-bucket",
        bucket(block={"restrictPublicBuckets": False}),
        "public-access blocks",
        id="s3-bucket-restrict-public-buckets-off",
    ),
    pytest.param(
        "s3-bucket",
        bucket(versioning={"versioningConfiguration": {"status": "Suspended"}}),
        "versioning",
        id="s3-bucket-versioning-suspended",
    ),
    pytest.param(
        "s3-bucket",
        bucket(
            encryption={
                "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
            }
        ),
        "not SSE-KMS",
        id="s3-bucket-sse-s3-instead-of-sse-kms",
    ),
    pytest.param(
        "s3-bucket",
        bucket(policy={"policy": doc({**TLS_ONLY, "Condition": {}})}),
        "does not deny requests without TLS",
        id="s3-bucket-policy-does-not-deny-plain-http",
    ),
    pytest.param(
        "s3-bucket",
        [
            changed(r, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "none"}}])
            if r.name == "logs-encryption"
            else r
            for r in log_bucket()
        ],
        "not SSE-KMS or SSE-S3 (an access-log target)",
        id="s3-bucket-access-log-target-neither-sse-kms-nor-sse-s3",
    ),
    pytest.param(
        "s3-access-logs",
        [r for r in bucket() if r.type != "aws:s3/bucketLogging:BucketLogging"],
        "no server access logging",
        id="s3-access-logs-no-logging-and-no-cloudtrail-tag",
    ),
    pytest.param(
        "s3-access-logs",
        bucket(logging={"bucket": "another-bucket"}),
        "no server access logging",
        id="s3-access-logs-logging-configured-for-another-bucket",
    ),
]


def test_every_s3_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.s3.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
