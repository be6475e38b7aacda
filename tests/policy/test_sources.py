"""Every rule has a bad case in its service's test module, and cites the published check (or
AWS guidance) it implements."""

from __future__ import annotations

import re

import rules

from tests.policy import (
    test_cloudwatch,
    test_dynamodb,
    test_events,
    test_iam,
    test_kms,
    test_lambda,
    test_s3,
    test_sagemaker,
    test_scheduler,
    test_service_quotas,
    test_sns,
    test_sqs,
)
from tests.policy.support import case_rule_ids

SERVICE_TESTS = (
    test_sqs,
    test_sns,
    test_lambda,
    test_events,
    test_scheduler,
    test_dynamodb,
    test_s3,
    test_kms,
    test_iam,
    test_cloudwatch,
    test_sagemaker,
    test_service_quotas,
)


def test_every_rule_has_a_failing_example_and_a_source() -> None:
    assert {r.id for r in rules.RULES} == case_rule_ids(
        case for module in SERVICE_TESTS for case in module.BAD
    )
    assert all(r.source and r.description for r in rules.RULES)
    assert len({r.id for r in rules.RULES}) == len(rules.RULES)


def test_the_rule_set_is_the_service_modules_rules_in_order() -> None:
    assert tuple(rule for service in rules.SERVICES for rule in service.RULES) == rules.RULES
    assert all(r.enforcement_level == rules.MANDATORY for r in rules.RULES)


# Every check id a rule cites, with the check's name as published (checkov's check classes,
# cdk-nag's rule list); a new citation must be looked up and added here.
VERIFIED_CHECKS = {
    "CKV_AWS_7": "Ensure rotation for customer created CMKs is enabled",
    "CKV_AWS_18": "Ensure the S3 bucket has access logging enabled",
    "CKV_AWS_21": "Ensure all data stored in the S3 bucket have versioning enabled",
    "CKV_AWS_22": "Ensure SageMaker Notebook is encrypted at rest using KMS CMK",
    "CKV_AWS_26": "Ensure all data stored in the SNS topic is encrypted",
    "CKV_AWS_27": "Ensure all data stored in the SQS queue is encrypted",
    "CKV_AWS_28": "Ensure DynamoDB point in time recovery (backup) is enabled",
    "CKV_AWS_50": "X-ray tracing is enabled for Lambda",
    "CKV_AWS_53": "Ensure S3 bucket has block public ACLS enabled",
    "CKV_AWS_54": "Ensure S3 bucket has block public policy enabled",
    "CKV_AWS_55": "Ensure S3 bucket has ignore public ACLs enabled",
    "CKV_AWS_56": "Ensure S3 bucket has 'restrict_public_buckets' enabled",
    "CKV_AWS_66": "Ensure that CloudWatch Log Group specifies retention days",
    "CKV_AWS_115": "Ensure that AWS Lambda function is configured for function-level concurrent "
    "execution limit",
    "CKV_AWS_98": "Ensure all data stored in the Sagemaker Endpoint is securely encrypted at rest",
    "CKV_AWS_116": "Ensure that AWS Lambda function is configured for a Dead Letter Queue(DLQ)",
    "CKV_AWS_119": "Ensure DynamoDB Tables are encrypted using a KMS Customer Managed CMK",
    "CKV_AWS_145": "Ensure that S3 buckets are encrypted with KMS by default",
    "CKV_AWS_158": "Ensure that CloudWatch Log Group is encrypted by KMS",
    "CKV_AWS_319": "Ensure that CloudWatch alarm actions are enabled",
    "CKV_AWS_363": "Ensure Lambda Runtime is not deprecated",
    "CKV_AWS_367": "Ensure Amazon Sagemaker Data Quality Job uses KMS to encrypt model artifacts",
    "CKV_AWS_368": "Ensure Amazon Sagemaker Data Quality Job uses KMS to encrypt data on attached "
    "storage volume",
    "CKV_AWS_370": "Ensure Amazon SageMaker model uses network isolation",
    "AwsSolutions-IAM4": "The IAM user, role, or group uses AWS managed policies",
    "AwsSolutions-IAM5": "The IAM entity contains wildcard permissions",
    "AwsSolutions-L1": "The non-container Lambda function is not configured to use the latest "
    "runtime version",
    "AwsSolutions-S10": "The S3 Bucket or bucket policy does not require requests to use SSL",
    "AwsSolutions-SQS3": "The SQS queue is not used as a DLQ and does not have a DLQ enabled",
}


def test_every_cited_check_is_a_verified_one() -> None:
    for rule in rules.RULES:
        for check_id in re.findall(r"CKV_AWS_\d+|AwsSolutions-[A-Z]+\d+", rule.source):
            assert check_id in VERIFIED_CHECKS, f"{rule.id} cites unverified {check_id}"


def test_citations_name_the_check_the_rule_implements() -> None:
    source = {r.id: r.source for r in rules.RULES}
    # CKV_AWS_338 asks for a year of retention; "has a retention" is CKV_AWS_66.
    assert "CKV_AWS_66" in source["lambda-logs"]
    assert "CKV_AWS_338" not in source["lambda-logs"]
    # CKV_AWS_116 is the function's DLQ, a neighbour of the on-failure destination.
    assert "related: checkov CKV_AWS_116" in source["lambda-async-failures"]
    # CKV_AWS_319 is about actions being enabled, which the rule now checks too.
    assert "CKV_AWS_319" in source["alarm-actions"]
