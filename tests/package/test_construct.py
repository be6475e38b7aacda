"""Each component through the package's construct path, as a program in another language reaches
it, yields the resources the Python program creates with the same inputs.

The inputs are prod's own (Pulumi.prod.yaml, camelCase as a YAML or TypeScript program writes
them, numbers as floats as they travel over the wire), with the references between components
taken from the prod program's recording (key, buckets, topics, bus, roles). The provider is the
one `package/__main__.py` hosts (`pulumi.provider.experimental`'s ComponentProvider), its
`construct` run under the same mocks as the program.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi
import pytest
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

from cli import offline
from components.package import host

STACK = "prod"


@cache
def program() -> offline.Recording:
    return offline.run_program(STACK)


@cache
def stack_file() -> dict[str, Any]:
    raw = offline.stack_config(STACK)
    return {key: json.loads(value) if value[:1] in "[{" else value for key, value in raw.items()}


def wire(value: Any) -> Any:
    """A value as the engine sends it to a provider: numbers are floats."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


def output(type_token: str, name: str, key: str) -> Any:
    return program().one(type_token, name).outputs[key]


def platform_ref() -> dict[str, Any]:
    return {
        "environment": STACK,
        "keyArn": output("aws:kms/key:Key", "foundation-key", "arn"),
        "artifactsBucketName": output("aws:s3/bucket:Bucket", "foundation-artifacts", "bucket"),
        "artifactsBucketArn": output("aws:s3/bucket:Bucket", "foundation-artifacts", "arn"),
        "accessLogsBucket": output("aws:s3/bucket:Bucket", "foundation-access-logs", "bucket"),
        "logRetentionDays": int(stack_file()["trainops:logRetentionDays"]),
    }


def alerts_ref() -> dict[str, Any]:
    monitoring = stack_file()["trainops:monitoring"]
    return {
        "warningTopicArn": output("aws:sns/topic:Topic", "monitoring-warning", "arn"),
        "criticalTopicArn": output("aws:sns/topic:Topic", "monitoring-critical", "arn"),
        "escalateAfterMinutes": monitoring["escalateAfterMinutes"],
    }


def stack_ref(*, alerts: bool = True, event_bus: bool = True) -> dict[str, Any]:
    """The stack as a feature created at that point of `__main__.py` sees it."""
    ref: dict[str, Any] = {
        "platform": platform_ref(),
        "models": stack_file()["trainops:models"],
        "spendGuardrails": stack_file()["trainops:spendGuardrails"],
        "trainingSlots": True,  # prod has a training queue
    }
    if alerts:
        ref["alerts"] = alerts_ref()
    if event_bus:
        bus = program().one("aws:cloudwatch/eventBus:EventBus", "event-sourcing-bus")
        ref["eventBus"] = {"name": bus.outputs["name"], "arn": bus.outputs["arn"]}
    return ref


def feature(key: str) -> dict[str, Any]:
    return {k: v for k, v in stack_file()[f"trainops:{key}"].items() if k != "enabled"}


def roles() -> dict[str, Any]:
    return {
        model: {
            "arn": output("aws:iam/role:Role", f"pipeline-{model}-execution", "arn"),
            "name": output("aws:iam/role:Role", f"pipeline-{model}-execution", "name"),
        }
        for model in stack_file()["trainops:models"]
    }


# component, name in the program, inputs as another language's program writes them
CASES: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "Platform": (
        "foundation",
        lambda: {
            "environment": STACK,
            "artifacts": stack_file()["trainops:artifacts"],
            "budgetNotifications": True,
        },
    ),
    "TrainingPipeline": (
        "pipeline-churn",
        lambda: {
            "modelName": "churn",
            "model": stack_file()["trainops:models"]["churn"],
            "platform": platform_ref(),
            "spendGuardrails": stack_file()["trainops:spendGuardrails"],
        },
    ),
    "TrainingMonitor": (
        "monitoring",
        lambda: {
            "stack": stack_ref(alerts=False, event_bus=False),
            "config": feature("monitoring"),
            "executionRoles": roles(),
        },
    ),
    "TrainingEventStore": (
        "event-sourcing",
        lambda: {"stack": stack_ref(event_bus=False), "config": feature("eventSourcing")},
    ),
    "ScheduledRetraining": (
        "scheduled-retraining",
        lambda: {"stack": stack_ref(), "config": feature("scheduledRetraining")},
    ),
    "TrainingQueue": (
        "training-queue",
        lambda: {"stack": stack_ref(), "config": feature("trainingQueue")},
    ),
    "MaintenanceWindowRetraining": (
        "maintenance-window",
        lambda: {
            "stack": stack_ref(),
            "config": feature("maintenanceWindow"),
            "guardAlarmName": f"trainops-{STACK}-platform-critical",
        },
    ),
}


def construct(component: str, name: str, inputs: dict[str, Any]) -> offline.Recording:
    """``component`` built through the provider's construct path, under the program's mocks."""
    provider = ComponentProvider(list(host.COMPONENTS), "trainops", version=host.version())

    def run() -> None:
        provider.construct(name, f"trainops:index:{component}", wire(inputs), None)

    return offline.run_under_mocks(STACK, offline.stack_config(STACK), run)


def comparable(recording: offline.Recording, root_name: str) -> dict[tuple[str, str], str]:
    """The custom resources below the component called ``root_name`` (whatever wraps it), by
    type and name, with their inputs (a code archive as its files)."""
    roots = {r.urn for r in recording.resources if r.component and r.name == root_name}

    def below(resource: offline.RecordedResource) -> bool:
        current = recording.by_urn(resource.parent_urn)
        while current is not None:
            if current.urn in roots:
                return True
            current = recording.by_urn(current.parent_urn)
        return False

    def normalized(resource: offline.RecordedResource) -> str:
        inputs = dict(resource.inputs)
        code = inputs.get("code")
        if isinstance(code, pulumi.AssetArchive):
            inputs["code"] = {
                path: resource.archive_file(path) or type(asset).__name__
                for path, asset in sorted(code.assets.items())
            }
        return json.dumps(inputs, sort_keys=True, default=str)

    return {(r.type, r.name): normalized(r) for r in recording.resources if r.custom and below(r)}


@pytest.mark.parametrize("component", CASES)
def test_construct_yields_the_programs_resources(component: str) -> None:
    name, inputs = CASES[component]
    expected = comparable(program(), name)
    built = comparable(construct(component, name, inputs()), name)
    assert len(expected) >= 3, f"{name}: the program created too little to compare"
    assert sorted(built) == sorted(expected)
    different = [key for key in expected if built[key] != expected[key]]
    assert different == []


def test_invalid_inputs_fail_with_the_stack_files_message() -> None:
    """Through the package, a mistake reads as it does in Pulumi.<stack>.yaml."""
    inputs = {
        "stack": stack_ref(),
        "config": {**feature("trainingQueue"), "maxConcurrentTrainings": 0},
    }
    expected = (
        "trainops:trainingQueue.maxConcurrentTrainings: Input should be greater than or equal to "
        "1 (got 0)"  # sent as 0.0, shown as the stack file shows it
    )
    with pytest.raises(ComponentInitError, match=re.escape(expected)):
        construct("TrainingQueue", "training-queue", inputs)
