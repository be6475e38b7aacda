"""SQS rules: a customer-managed key, a dead-letter queue (or being one), FIFO dead-letter
queues, and visibility for Lambda consumers."""

from __future__ import annotations

import rules

from tests.policy.support import (
    ServiceTests,
    arn,
    bad,
    fn,
    log_group,
    modified,
    queue,
    redrive,
    resource,
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
    bad("sqs-kms", "queue-without-a-key", modified(SQS, 0, kmsMasterKeyId=None), "not encrypted"),
    bad(
        "sqs-kms",
        "aws-managed-alias",
        modified(SQS, 0, kmsMasterKeyId="alias/aws/sqs"),
        "AWS-managed key alias/aws/sqs",
    ),
    bad(
        "sqs-kms",
        "aws-managed-alias-arn",
        modified(SQS, 0, kmsMasterKeyId=arn("kms", "alias/aws/sqs")),
        "AWS-managed key",
    ),
    bad(
        "sqs-dead-letters",
        "queue-without-dlq-nor-being-one",
        [queue("lonely")],
        "no dead-letter queue",
    ),
    bad(
        "sqs-dead-letters",
        "max-receive-count-below-5",
        modified(SQS, 0, redrivePolicy=redrive("d", 2)),
        "maxReceiveCount 2",
    ),
    bad(
        "sqs-dead-letters",
        "redrive-policy-not-json",
        [queue("q", redrivePolicy="{not json")],
        "not valid JSON",
    ),
    bad(
        "sqs-fifo-dlq",
        "standard-dlq-for-a-fifo-queue",
        modified(FIFO, 1, fifoQueue=False),
        "must be FIFO",
    ),
    bad(
        "sqs-visibility",
        "below-6x-the-consumer-timeout",
        modified(CONSUMER, 0, visibilityTimeoutSeconds=60),
        "below 6 x",
    ),
]


class TestSqsRules(ServiceTests):
    service = rules.sqs
    good = GOOD
    bad = BAD
