"""The platform-critical composite alarm at a platform's size: more than one rule's worth."""

from __future__ import annotations

import re

import pulumi
import pytest

from cli import offline
from components.platform import alarms

TOPIC = "arn:aws:sns:us-east-1:123456789012:warning"


def build(names: list[str]) -> offline.Recording:
    def program() -> None:
        ladder = alarms.AlertLadder(
            warning_topic_arn=TOPIC, critical_topic_arn=TOPIC, escalate_after_minutes=30
        )
        for name in names:
            ladder.escalations.append(
                alarms.Escalation(pulumi.Output.from_input(name), max_name_length=len(name))
            )
        alarms.PlatformCriticalAlarm(
            "platform-critical",
            alarms.PlatformCriticalAlarmArgs(ladder=ladder, alarm_name="trainops-prod-critical"),
        )

    return offline.run_under_mocks("prod", {"aws:region": "us-east-1"}, program)


def referenced(rule: str) -> list[str]:
    return re.findall(r'ALARM\("([^"]+)"\)', rule)


@pytest.mark.parametrize(
    ("count", "length"),
    # 250 short names: the 100-alarm limit splits them; 120 names of 200 characters: the
    # 10,240-character rule limit does (about 48 per rule); 10,001: a second level of groups.
    [(250, 40), (120, 200), (10_001, 30)],
)
def test_every_escalation_is_covered_by_rules_aws_accepts(count: int, length: int) -> None:
    names = [f"a{index:05d}-".ljust(length, "x") for index in range(count)]
    recording = build(names)
    composites = {
        r.inputs["alarmName"]: r.inputs
        for r in recording.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    }
    # pulumi-aws requires alarm_name on a composite alarm; every one has a name within 255
    assert all(0 < len(name) <= 255 for name in composites)
    for name, composite in composites.items():
        members = referenced(composite["alarmRule"])
        assert 1 <= len(members) <= alarms.MAX_ALARMS_PER_RULE, name
        assert len(composite["alarmRule"]) <= alarms.MAX_RULE_LENGTH, name
        assert composite["alarmActions"] == [TOPIC], name

    # Walking down from the root reaches every escalation exactly once.
    reached: list[str] = []
    frontier = ["trainops-prod-critical"]
    while frontier:
        for member in referenced(composites[frontier.pop()]["alarmRule"]):
            (frontier if member in composites else reached).append(member)
    assert sorted(reached) == sorted(names)
    assert len(composites) > 2


def test_a_few_escalations_need_one_composite() -> None:
    recording = build([f"alarm-{index}" for index in range(100)])
    (root,) = recording.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert root.inputs["alarmName"] == "trainops-prod-critical"
    assert len(referenced(root.inputs["alarmRule"])) == 100


def test_rule_groups_pack_by_count_and_length() -> None:
    assert alarms.rule_groups([10] * 100) == [list(range(100))]
    assert [len(g) for g in alarms.rule_groups([10] * 101)] == [100, 1]
    per_rule = alarms.MAX_RULE_LENGTH // (255 + alarms.RULE_TERM_OVERHEAD)
    assert [len(g) for g in alarms.rule_groups([255] * 100)] == [
        per_rule,
        per_rule,
        100 - 2 * per_rule,
    ]


def test_a_rule_beyond_cloudwatchs_limits_is_refused() -> None:
    with pytest.raises(ValueError, match="1-100 alarms"):
        alarms.composite_rule([f"a{i}" for i in range(101)])
    with pytest.raises(ValueError, match="at most 10240 characters"):
        alarms.composite_rule(["x" * 255] * 40)
