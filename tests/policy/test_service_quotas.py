"""The `aws-quotas` rule: the policy pack applies `policy/quotas/` to each resource, and reports a
quota that adds up across resources once, on the last resource that contributes."""

from __future__ import annotations

import json

import rules

from tests.policy.support import (
    BadCaseTests,
    arn,
    bad_cases,
    doc,
    fn,
    log_group,
    resource,
    role,
)

BAD = bad_cases(
    "aws-quotas",
    {
        "lambda-environment-over-4kb": (
            [fn(environment={"variables": {"CATALOG": "x" * 4_100}}), log_group()],
            "all environment variables of a Lambda function is 4,114 bytes; AWS allows 4,096",
        ),
        "lambda-function-name-over-64-characters": (
            [fn("f" * 65), log_group("f" * 65)],
            "a Lambda function name (name 'fffff",
        ),
        "inline-policies-of-one-role-add-up": (
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
        ),
        "event-pattern-over-2048-characters": (
            [
                rules.Resource(
                    "aws:cloudwatch/eventRule:EventRule",
                    "rule",
                    {
                        "name": "rule",
                        "eventPattern": json.dumps(
                            {
                                "detail": {
                                    "pipelineArn": [arn("sagemaker", f"p/{i}") for i in range(60)]
                                }
                            }
                        ),
                    },
                )
            ],
            "an EventBridge event pattern (eventPattern) is 2,",
        ),
        "tasks-of-one-maintenance-window-add-up": (
            [
                resource(
                    "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask",
                    f"task-{index}",
                    windowId="mw-0123456789abcdef0",
                )
                for index in range(21)
            ],
            "the tasks of one maintenance window (window mw-0123456789abcdef0) is 21 tasks",
        ),
    },
)


# No good stacks of its own: tests/policy/test_stacks.py runs the rule over both stacks.
class TestServiceQuotaRules(BadCaseTests):
    service = rules.service_quotas
    bad = BAD
