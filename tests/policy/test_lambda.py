"""Lambda rules: runtime, explicit sizing, reserved concurrency, tracing, managed logs, and a
failure destination for asynchronous invocations."""

from __future__ import annotations

import rules

from tests.policy.support import (
    ServiceTests,
    arn,
    bad,
    event_target,
    fn,
    invoke_config,
    log_group,
    queue,
    schedule,
    swap,
)

GOOD: dict[str, list[rules.Resource]] = {
    "lambda": [fn(), log_group()],
    "async": [
        fn(),
        log_group(),
        event_target(target=arn("lambda", "function:f")),
        queue("events-dlq"),
        invoke_config(),
        queue("failures"),
    ],
}
LAMBDA = GOOD["lambda"]

BAD = [
    bad("lambda-runtime", "python3.8", swap(LAMBDA, 0, fn(runtime="python3.8")), "not a supported"),
    bad(
        "lambda-sizing",
        "memory-not-set",
        swap(LAMBDA, 0, fn(memorySize=None)),
        "memorySize is not set",
    ),
    bad(
        "lambda-sizing", "timeout-not-set", swap(LAMBDA, 0, fn(timeout=None)), "timeout is not set"
    ),
    bad(
        "lambda-concurrency",
        "not-reserved",
        swap(LAMBDA, 0, fn(reservedConcurrentExecutions=None)),
        "reserved concurrency is None",
    ),
    bad(
        "lambda-concurrency",
        "provider-reports-none-reserved",
        swap(LAMBDA, 0, fn(reservedConcurrentExecutions=-1)),
        "reserved concurrency is -1",
    ),
    bad(
        "lambda-concurrency",
        "zero-throttles-everything",
        swap(LAMBDA, 0, fn(reservedConcurrentExecutions=0)),
        "reserve at least 1",
    ),
    bad(
        "lambda-tracing",
        "pass-through",
        swap(LAMBDA, 0, fn(tracingConfig={"mode": "PassThrough"})),
        "tracing is not active",
    ),
    bad("lambda-logs", "no-managed-log-group", [fn()], "no log group"),
    bad(
        "lambda-logs",
        "group-without-retention",
        swap(LAMBDA, 1, log_group(retentionInDays=None)),
        "keeps logs forever",
    ),
    bad(
        "lambda-logs",
        "group-without-a-key",
        swap(LAMBDA, 1, log_group(kmsKeyId=None)),
        "not encrypted with the stack key",
    ),
    bad(
        "lambda-async-failures",
        "rule-target-invoke-config-without-destination",
        [*GOOD["async"][:4], invoke_config(destinationConfig=None)],
        "no on-failure destination",
    ),
    bad(
        "lambda-async-failures",
        "schedule-target-without-invoke-config",
        [
            fn(),
            log_group(),
            schedule(target={"arn": arn("lambda", "function:f")}),
            queue("schedule-dlq"),
        ],
        "no on-failure destination",
    ),
]


class TestLambdaRules(ServiceTests):
    service = rules.lambda_
    good = GOOD
    bad = BAD
