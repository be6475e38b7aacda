"""SQS rules: a customer-managed key, a dead-letter queue (or being one), FIFO dead-letter
queues, and visibility for Lambda consumers."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    arn,
    case_rule_ids,
    changed,
    fn,
    log_group,
    queue,
    redrive,
    resource,
    service_tests,
    swap,
)

GOOD: dict[str, list[rules.Resource]] = {
    "sqs": [queue("q", redrivePolicy=redrive("d")), queue("d")],
    "fifo": [
        queue("q.fifo", fifoQueue=True, redrivePolicy=redrive("d.fifo")),
        queue("d.fifo", fifoQueue=True),
    ],
    "consumer": [
        queue("q", visibilityTimeoutSeconds=360, redrivePolicy=redrive("d")),
        queue("d"),
        fn(timeout=60),
        log_group(),
        resource(
            "aws:lambda/eventSourceMapping:EventSourceMapping",
            "m",
            eventSourceArn=arn("sqs", "q"),
            functionName=arn("lambda", "function:f"),
        ),
    ],
}
SQS, FIFO, CONSUMER = GOOD["sqs"], GOOD["fifo"], GOOD["consumer"]

BAD = [
    pytest.param(
        "sqs-kms",
        swap(SQS, 0, changed(SQS[0], kmsMasterKeyId=None)),
        "not encrypted",
        id="sqs-kms-queue-without-a-key",
    ),
    pytest.param(
        "sqs-kms",
        swap(SQS, 0, changed(SQS[0], kmsMasterKeyId="alias/aws/sqs")),
        "AWS-managed key alias/aws/sqs",
        id="sqs-kms-aws-managed-alias",
    ),
    pytest.param(
        "sqs-kms",
        swap(SQS, 0, changed(SQS[0], kmsMasterKeyId=arn("kms", "alias/aws/sqs"))),
        "AWS-managed key",
        id="sqs-kms-aws-managed-alias-arn",
    ),
    pytest.param(
        "sqs-dead-letters",
        [queue("lonely")],
        "no dead-letter queue",
        id="sqs-dead-letters-queue-without-dlq-nor-being-one",
    ),
    pytest.param(
        "sqs-dead-letters",
        swap(SQS, 0, changed(SQS[0], redrivePolicy=redrive("d", 2))),
        "maxReceiveCount 2",
        id="sqs-dead-letters-max-receive-count-below-5",
    ),
    pytest.param(
        "sqs-dead-letters",
        [queue("q", redrivePolicy="{not json")],
        "not valid JSON",
        id="sqs-dead-letters-redrive-policy-not-json",
    ),
    pytest.param(
        "sqs-fifo-dlq",
        swap(FIFO, 1, changed(FIFO[1], fifoQueue=False)),
        "must be FIFO",
        id="sqs-fifo-dlq-standard-dlq-for-a-fifo-queue",
    ),
    pytest.param(
        "sqs-visibility",
        swap(CONSUMER, 0, changed(CONSUMER[0], visibilityTimeoutSeconds=60)),
        "below 6 x",
        id="sqs-visibility-below-6x-the-consumer-timeout",
    ),
]


def test_every_sqs_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.sqs.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
