"""rule_with_target: one target per rule, a function target invocable by its rule alone."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from cli import offline
from components.platform import iam
from components.platform.context import PlatformContext
from components.platform.event_rules import rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from trainops_runtime.settings import SlotKeeperSettings

CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="eu-west-1")
PLATFORM = PlatformContext(
    ctx=CTX,
    key_arn=f"arn:aws:kms:eu-west-1:{offline.ACCOUNT_ID}:key/0000",
    log_retention_days=14,
    powertools_layer_version=27,
)
CONFIG = {"aws:region": "eu-west-1", "trainops:environment": "test"}
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{offline.ACCOUNT_ID}:critical"


class Holder(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Holder", name, None, None)


def sweep_function() -> PythonFunction:
    return PythonFunction(
        "sweep",
        PythonFunctionArgs(
            description="sweep",
            platform=PLATFORM,
            memory_mb=128,
            timeout_seconds=10,
            reserved_concurrency=1,
            settings=SlotKeeperSettings(slots_table="slots"),
            invoked_asynchronously=True,
        ),
    )


def record(**rule: Any) -> offline.Recording:
    """The resources of one rule_with_target call; ``rule`` holds its trigger and target (a
    ``function`` of None stands for a fresh PythonFunction)."""

    def program() -> None:
        if "function" in rule and rule["function"] is None:
            rule["function"] = sweep_function()
        rule_with_target(
            "rule", parent=Holder("holder"), platform=PLATFORM, description="test", **rule
        )

    return offline.run_under_mocks("test", CONFIG, program)


def test_a_function_target_is_invoked_by_its_rule_alone() -> None:
    recording = record(schedule_expression="rate(5 minutes)", function=None)
    function = recording.one("aws:lambda/function:Function")
    target = recording.one("aws:cloudwatch/eventTarget:EventTarget").inputs
    permission = recording.one("aws:lambda/permission:Permission").inputs
    rule = recording.one("aws:cloudwatch/eventRule:EventRule")
    assert target["arn"] == function.outputs["arn"]
    assert permission["function"] == function.outputs["name"]
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["sourceArn"] == rule.outputs["arn"]


def test_another_target_gets_no_invoke_permission() -> None:
    recording = record(event_pattern={"source": ["aws.sagemaker"]}, target_arn=TOPIC_ARN)
    assert recording.one("aws:cloudwatch/eventTarget:EventTarget").inputs["arn"] == TOPIC_ARN
    assert recording.of_type("aws:lambda/permission:Permission") == []


@pytest.mark.parametrize(
    "targets", [{}, {"target_arn": TOPIC_ARN, "function": None}], ids=["neither", "both"]
)
def test_a_rule_has_exactly_one_target(targets: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="exactly one of target_arn and function"):
        record(event_pattern={"source": ["aws.sagemaker"]}, **targets)
