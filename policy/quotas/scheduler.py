"""EventBridge Scheduler quotas: target input, schedule and group names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Quota, Service, Sizes, as_text, byte_size, measure_text, name_quota

SCHEDULER_TARGET = "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Target.html"
CREATE_SCHEDULE = (
    "https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html"
)
SCHEDULE = "aws:scheduler/schedule:Schedule"
SCHEDULE_GROUP = "aws:scheduler/scheduleGroup:ScheduleGroup"

TARGET_INPUT = Quota(
    "scheduler-target-input",
    "an EventBridge Scheduler target's input",
    262_144,
    "bytes",
    "send less input; let the target look the rest up",
    SCHEDULER_TARGET,
)
NAME = name_quota(
    "scheduler-name", "an EventBridge Scheduler schedule or group name", 64, CREATE_SCHEDULE
)


def _schedule(props: Mapping[str, Any]) -> Sizes:
    sizes = measure_text(props, TARGET_INPUT.id, ("target", "input"), "target.input", byte_size)
    group = as_text(props.get("groupName"))
    if group is not None:
        sizes.append((NAME.id, len(group), f"group name {group!r}"))
    return sizes


SERVICE = Service(
    quotas=(TARGET_INPUT, NAME),
    names={SCHEDULE: ("name", NAME.id), SCHEDULE_GROUP: ("name", NAME.id)},
    measures={SCHEDULE: _schedule},
)
