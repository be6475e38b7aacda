"""The `aws-quotas` rule: the policy pack applies `policy/quotas/` to each resource, and reports a
quota that adds up across resources once, on the last resource that contributes."""

from __future__ import annotations

import json

import pytest
import rules

from tests.policy.support import (
    arn,
    case_rule_ids,
    doc,
    fn,
    log_group,
    resource,
    role,
    service_tests,
)

BAD = [
    pytest.param(
        "aws-quotas",
        [fn(environment={"variables": {"CATALOG": "x" * 4_100}}), log_group()],
        "all environment variables of a Lambda function is 4,114 bytes; AWS allows 4,096",
        id="aws-quotas-lambda-environment-over-4kb",
    ),
    pytest.param(
        "aws-quotas",
        [fn("f" * 65), log_group("f" * 65)],
        "a Lambda function name (name 'fffff",
        id="aws-quotas-lambda-function-name-over-64-characters",
    ),
    pytest.param(
        "aws-quotas",
        [
            role(),
            *(
                resource(
                    "aws:iam/rolePolicy:RolePolicy",
                    f"p{index}",
                    role="r",
                    policy=doc(
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": [f"arn:aws:s3:::b/model-{i:03d}/*" for i in range(180)],
                        }
                    ),
                )
                for index in range(2)
            ),
        ],
        "all inline policies of one IAM role together (role r: p0, p1) is 10,632 characters",
        id="aws-quotas-inline-policies-of-one-role-add-up",
    ),
    pytest.param(
        "aws-quotas",
        [
            rules.Resource(
                "aws:cloudwatch/eventRule:EventRule",
                "rule",
                {
                    "name": "rule",
                    "eventPattern": json.dumps(
                        {"detail": {"pipelineArn": [arn("sagemaker", f"p/{i}") for i in range(60)]}}
                    ),
                },
            )
        ],
        "an EventBridge event pattern (eventPattern) is 2,",
        id="aws-quotas-event-pattern-over-2048-characters",
    ),
    pytest.param(
        "aws-quotas",
        [
            resource(
                "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask",
                f"task-{index}",
                windowId="mw-0123456789abcdef0",
            )
            for index in range(21)
        ],
        "the tasks of one maintenance window (window mw-0123456789abcdef0) is 21 tasks",
        id="aws-quotas-tasks-of-one-maintenance-window-add-up",
    ),
]


def test_the_quota_rule_has_bad_cases() -> None:
    assert {r.id for r in rules.service_quotas.RULES} == case_rule_ids(BAD)


(
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests({}, BAD)[1:]
