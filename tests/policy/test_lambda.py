"""Lambda rules: runtime, explicit sizing, reserved concurrency, tracing, managed logs, and a
failure destination for asynchronous invocations."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    arn,
    case_rule_ids,
    event_target,
    fn,
    invoke_config,
    log_group,
    queue,
    schedule,
    service_tests,
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
    pytest.param(
        "lambda-runtime",
        swap(LAMBDA, 0, fn(runtime="python3.8")),
        "not a supported",
        id="lambda-runtime-python3.8",
    ),
    pytest.param(
        "lambda-sizing",
        swap(LAMBDA, 0, fn(memorySize=None)),
        "memorySize is not set",
        id="lambda-sizing-memory-not-set",
    ),
    pytest.param(
        "lambda-sizing",
        swap(LAMBDA, 0, fn(timeout=None)),
        "timeout is not set",
        id="lambda-sizing-timeout-not-set",
    ),
    pytest.param(
        "lambda-concurrency",
        swap(LAMBDA, 0, fn(reservedConcurrentExecutions=None)),
        "reserved concurrency is None",
        id="lambda-concurrency-not-reserved",
    ),
    pytest.param(
        "lambda-concurrency",
        swap(LAMBDA, 0, fn(reservedConcurrentExecutions=-1)),
        "reserved concurrency is -1",
        id="lambda-concurrency-provider-reports-none-reserved",
    ),
    pytest.param(
        "lambda-concurrency",
        swap(LAMBDA, 0, fn(reservedConcurrentExecutions=0)),
        "reserve at least 1",
        id="lambda-concurrency-zero-throttles-everything",
    ),
    pytest.param(
        "lambda-tracing",
        swap(LAMBDA, 0, fn(tracingConfig={"mode": "PassThrough"})),
        "tracing is not active",
        id="lambda-tracing-pass-through",
    ),
    pytest.param(
        "lambda-logs",
        [fn()],
        "no log group",
        id="lambda-logs-no-managed-log-group",
    ),
    pytest.param(
        "lambda-logs",
        swap(LAMBDA, 1, log_group(retentionInDays=None)),
        "keeps logs forever",
        id="lambda-logs-group-without-retention",
    ),
    pytest.param(
        "lambda-logs",
        swap(LAMBDA, 1, log_group(kmsKeyId=None)),
        "not encrypted with the stack key",
        id="lambda-logs-group-without-a-key",
    ),
    pytest.param(
        "lambda-async-failures",
        [*GOOD["async"][:4], invoke_config(destinationConfig=None)],
        "no on-failure destination",
        id="lambda-async-failures-rule-target-invoke-config-without-destination",
    ),
    pytest.param(
        "lambda-async-failures",
        [
            fn(),
            log_group(),
            schedule(target={"arn": arn("lambda", "function:f")}),
            queue("schedule-dlq"),
        ],
        "no on-failure destination",
        id="lambda-async-failures-schedule-target-without-invoke-config",
    ),
]


def test_every_lambda_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.lambda_.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
