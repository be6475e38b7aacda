"""Foundation: key policy and artifacts bucket settings."""

from __future__ import annotations

import json
from typing import Any

from cli import offline
from components.platform import iam
from tests.components.helpers import RunStack, stack_key_arn, statements_by_sid

ACCOUNT = offline.ACCOUNT_ID
CTX = iam.AwsContext(account_id=ACCOUNT, region="us-east-1")


# The resources that configure a bucket, named after it: "<bucket>-<part>".
BUCKET_PARTS = {
    "encryption": "aws:s3/bucketServerSideEncryptionConfiguration:"
    "BucketServerSideEncryptionConfiguration",
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "public-access": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "ownership": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
}


def key_policy(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    return statements_by_sid(json.loads(recording.one("aws:kms/key:Key").inputs["policy"]))


def bucket_part(recording: offline.Recording, bucket: str, part: str) -> dict[str, Any]:
    """The inputs of the resource that sets ``part`` of the bucket called ``bucket``."""
    return recording.one(BUCKET_PARTS[part], f"{bucket}-{part}").inputs


def bucket_policy(recording: offline.Recording, bucket: str) -> dict[str, dict[str, Any]]:
    return statements_by_sid(json.loads(bucket_part(recording, bucket, "policy")["policy"]))


def assert_private(recording: offline.Recording, bucket: str) -> None:
    """No public access of any kind, and every object owned by the bucket owner (no ACLs)."""
    block = bucket_part(recording, bucket, "public-access")
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block[flag] is True, flag
    ownership = bucket_part(recording, bucket, "ownership")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_key_rotates_and_has_an_alias(dev: offline.Recording) -> None:
    key = dev.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    alias = dev.one("aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/trainops-dev"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]


def test_key_policy_grants_exactly_the_stack_services(dev: offline.Recording) -> None:
    statements = key_policy(dev)
    assert set(statements) == {
        "AccountAdministersAndDelegatesToIam",
        "CloudWatchLogsInThisRegion",
        "CloudWatchAlarmsPublishToEncryptedTopics",
        "EventBridgeDeliversToEncryptedTopicsAndQueues",
    }
    root = statements["AccountAdministersAndDelegatesToIam"]
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert "kms:PutKeyPolicy" in root["Action"]  # the key stays manageable

    logs = statements["CloudWatchLogsInThisRegion"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"
    )

    alarms = statements["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}

    events = statements["EventBridgeDeliversToEncryptedTopicsAndQueues"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "Condition" not in events  # EventBridge's KMS calls carry no source keys
    # No role is named: the stack's roles (one per model) use the key through IAM, so the key
    # policy is the same for 1 or 500 models.
    assert ":role/" not in json.dumps(statements)


def test_artifacts_bucket_is_private_encrypted_versioned_and_tls_only(
    dev: offline.Recording,
) -> None:
    bucket = dev.one("aws:s3/bucket:Bucket", "foundation-artifacts")
    key_arn = stack_key_arn(dev)
    assert bucket.inputs.get("forceDestroy") is False

    (rule,) = bucket_part(dev, "foundation-artifacts", "encryption")["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key_arn,
    }
    assert rule["bucketKeyEnabled"] is True

    versioning = bucket_part(dev, "foundation-artifacts", "versioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"

    assert_private(dev, "foundation-artifacts")

    policy = bucket_policy(dev, "foundation-artifacts")
    insecure = policy["DenyInsecureTransport"]
    assert insecure["Effect"] == "Deny"
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert insecure["Resource"] == [bucket.outputs["arn"], bucket.outputs["arn"] + "/*"]
    assert policy["DenyTlsOlderThan12"]["Condition"] == {
        "NumericLessThan": {"s3:TlsVersion": "1.2"}
    }


def test_lifecycle_aborts_uploads_and_expires_old_versions(dev: offline.Recording) -> None:
    lifecycle = bucket_part(dev, "foundation-artifacts", "lifecycle")
    rules = {r["id"]: r for r in lifecycle["rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 7
    }
    assert rules["expire-old-versions"]["noncurrentVersionExpiration"] == {
        "noncurrentDays": 30
    }  # dev stack value
    assert all(r["status"] == "Enabled" for r in rules.values())


def test_prod_keeps_old_versions_longer(prod: offline.Recording) -> None:
    rules = bucket_part(prod, "foundation-artifacts", "lifecycle")["rules"]
    assert {"noncurrentDays": 180} in [r.get("noncurrentVersionExpiration") for r in rules]


def test_access_logs_go_to_a_private_sse_s3_bucket_that_expires_them(
    dev: offline.Recording,
) -> None:
    """S3 delivers server access logs only into an SSE-S3 bucket; it is otherwise as private
    as the others, writable by S3's logging service for this account alone."""
    logs = dev.one("aws:s3/bucket:Bucket", "foundation-access-logs")
    (rule,) = bucket_part(dev, "foundation-access-logs", "encryption")["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert_private(dev, "foundation-access-logs")
    policy = bucket_policy(dev, "foundation-access-logs")
    assert set(policy) == {
        "DenyInsecureTransport",
        "DenyTlsOlderThan12",
        "S3ServerAccessLogDelivery",
    }
    delivery = policy["S3ServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == ["s3:PutObject"]
    assert delivery["Resource"] == [logs.outputs["arn"] + "/*"]
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    (lifecycle,) = bucket_part(dev, "foundation-access-logs", "lifecycle")["rules"]
    assert lifecycle["expiration"] == {"days": 90}
    assert lifecycle["status"] == "Enabled"
    assert not dev.of_type("aws:s3/bucketLogging:BucketLogging") or all(
        r.inputs["bucket"] != logs.outputs["bucket"]
        for r in dev.of_type("aws:s3/bucketLogging:BucketLogging")
    )  # a log bucket does not log into itself


def test_the_artifacts_and_raw_events_buckets_log_every_request(dev: offline.Recording) -> None:
    logs = dev.one("aws:s3/bucket:Bucket", "foundation-access-logs").outputs["bucket"]
    logged = {
        r.inputs["bucket"]: r.inputs for r in dev.of_type("aws:s3/bucketLogging:BucketLogging")
    }
    for name in ("foundation-artifacts", "event-sourcing-raw-events"):
        bucket = dev.one("aws:s3/bucket:Bucket", name).outputs["bucket"]
        assert logged[bucket]["targetBucket"] == logs
        assert logged[bucket]["targetPrefix"] == f"{name}/"
        assert logged[bucket]["targetObjectKeyFormat"] == {
            "partitionedPrefix": {"partitionDateSource": "EventTime"}
        }
    assert len(logged) == 2
    # S3 checks that it may deliver when logging is turned on: the policy admitting it first
    policy = dev.one("aws:s3/bucketPolicy:BucketPolicy", "foundation-access-logs-policy")
    for logging in dev.of_type("aws:s3/bucketLogging:BucketLogging"):
        assert policy.urn in logging.dependencies


def test_cloudtrail_data_events_replace_the_log_bucket_when_chosen(run_stack: RunStack) -> None:
    recording = run_stack(
        "dev",
        {"trainops:accessLogs.destination": "cloudtrail", "trainops:accessLogs.retentionDays": 30},
    )
    assert recording.of_type("aws:s3/bucketLogging:BucketLogging") == []
    buckets = {r.name: r for r in recording.of_type("aws:s3/bucket:Bucket")}
    assert "foundation-access-logs" not in buckets
    for name in ("foundation-artifacts", "event-sourcing-raw-events"):
        tags = buckets[name].inputs["tags"]
        assert tags["trainops:access-logs"] == "cloudtrail-data-events"


def test_the_log_retention_follows_the_config(run_stack: RunStack) -> None:
    recording = run_stack("dev", {"trainops:accessLogs.retentionDays": 30})
    (lifecycle,) = bucket_part(recording, "foundation-access-logs", "lifecycle")["rules"]
    assert lifecycle["expiration"] == {"days": 30}
