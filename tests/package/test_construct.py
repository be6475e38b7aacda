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
from components import config as config_module
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


def queue_ref() -> dict[str, Any]:
    return {
        "url": output("aws:sqs/queue:Queue", "training-queue-requests", "url"),
        "arn": output("aws:sqs/queue:Queue", "training-queue-requests", "arn"),
    }


def budgets_inputs() -> dict[str, Any]:
    """Budgets as their `config`, the stack's guardrails without them (the config is what the
    component reads); created after monitoring and before the event store, as in the program."""
    guardrails = stack_file()["trainops:spendGuardrails"]
    budgets = {k: v for k, v in guardrails["budgets"].items() if k != "enabled"}
    stack = stack_ref(event_bus=False)
    stack["spendGuardrails"] = {k: v for k, v in guardrails.items() if k != "budgets"}
    return {"stack": stack, "config": budgets}


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
    "QualityRetraining": (
        "quality-retraining",
        lambda: {
            "stack": stack_ref(),
            "config": feature("qualityRetraining"),
            "trainingQueue": queue_ref(),
        },
    ),
    "ApprovalDeployment": (
        "approval-deployment",
        lambda: {
            "stack": stack_ref(),
            "config": feature("approvalDeployment"),
            "executionRoles": roles(),
        },
    ),
    "SpendBudgets": ("budgets", budgets_inputs),
}


def construct(component: str, name: str, inputs: dict[str, Any]) -> offline.Recording:
    """``component`` built through the provider's construct path, under the program's mocks."""
    provider = ComponentProvider(list(host.COMPONENTS), "trainops", version=host.version())

    def run() -> None:
        provider.construct(name, f"trainops:index:{component}", wire(inputs), None)

    return offline.run_under_mocks(STACK, offline.stack_config(STACK), run)


def constructed_outputs(component: str) -> dict[str, Any]:
    """The outputs ``component`` returns to the engine when built from its `CASES` inputs."""
    name, inputs = CASES[component]
    sent = wire(inputs())  # before the mocks: the inputs come from the program's own run
    provider = ComponentProvider(list(host.COMPONENTS), "trainops", version=host.version())
    outputs: dict[str, Any] = {}

    def run() -> None:
        result = provider.construct(name, f"trainops:index:{component}", sent, None)
        for key, value in result.state.items():
            pulumi.Output.from_input(value).apply(lambda v, key=key: outputs.__setitem__(key, v))

    offline.run_under_mocks(STACK, offline.stack_config(STACK), run)
    return outputs


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


def stack_file_problem(config: dict[str, Any]) -> str:
    """The one line `pulumi preview` prints for a stack file that sets ``config`` (besides the
    environment and region)."""
    raw = {"aws:region": "us-east-1", "trainops:environment": STACK}
    raw |= {f"trainops:{key}": json.dumps(value) for key, value in config.items()}
    with pytest.raises(config_module.ConfigError) as error:
        config_module.parse(raw)
    (problem,) = error.value.problems
    return problem


def without(inputs: dict[str, Any], key: str) -> dict[str, Any]:
    """``inputs`` without ``key``: at the top, or in `stack` for `stack.<key>`."""
    if key.startswith("stack."):
        stack = {k: v for k, v in inputs["stack"].items() if k != key.removeprefix("stack.")}
        return {**inputs, "stack": stack}
    return {k: v for k, v in inputs.items() if k != key}


ON = {"enabled": True}
# component, the reference a program leaves out, a stack file with the same mistake
MISSING_REFERENCES: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    "quality retraining without a queue": (
        "QualityRetraining",
        "trainingQueue",
        lambda: {"qualityRetraining": ON, "monitoring": stack_file()["trainops:monitoring"]},
    ),
    "quality retraining without alerts": (
        "QualityRetraining",
        "stack.alerts",
        lambda: {"qualityRetraining": ON, "trainingQueue": ON},
    ),
    "approval deployment without alerts": (
        "ApprovalDeployment",
        "stack.alerts",
        lambda: {"approvalDeployment": ON},
    ),
    "budgets without alerts": (
        "SpendBudgets",
        "stack.alerts",
        lambda: {"spendGuardrails": {"budgets": ON}},
    ),
}


@pytest.mark.parametrize("case", MISSING_REFERENCES)
def test_a_missing_reference_fails_as_the_stack_file_without_that_feature(case: str) -> None:
    """A reference stands for a feature the stack file would switch on (a queue reference is
    `trainingQueue`, alerts are `monitoring`): leaving it out reads as that feature off."""
    component, missing, config = MISSING_REFERENCES[case]
    problem = stack_file_problem(config())
    assert re.match(r"trainops:[\w.]+: needs ", problem), problem
    name, inputs = CASES[component]
    with pytest.raises(ComponentInitError, match=re.escape(problem)):
        construct(component, name, without(inputs(), missing))


@pytest.mark.parametrize(
    ("component", "config", "expected"),
    [
        (
            "QualityRetraining",
            {"maxPerDay": 0},
            "trainops:qualityRetraining.maxPerDay: Input should be greater than or equal to 1 "
            "(got 0)",
        ),
        (
            "SpendBudgets",
            {"stackMonthlyLimit": 3000, "forecastThresholds": [50, 80, 100, 120]},
            "trainops:spendGuardrails.budgets: actualThresholds and forecastThresholds: 6 "
            "notifications, AWS Budgets allows 5 per budget; drop some thresholds",
        ),
    ],
)
def test_invalid_settings_of_the_new_features_name_their_stack_file_key(
    component: str, config: dict[str, Any], expected: str
) -> None:
    name, inputs = CASES[component]
    with pytest.raises(ComponentInitError, match=re.escape(expected)):
        construct(component, name, {**inputs(), "config": config})


TABLE, FUNCTION, BUDGET = (
    "aws:dynamodb/table:Table",
    "aws:lambda/function:Function",
    "aws:budgets/budget:Budget",
)
# what the program exports of these components (`__main__.py`), as its resources hold it
EXPORTED: dict[str, Callable[[], dict[str, Any]]] = {
    "QualityRetraining": lambda: {
        "ledgerTableName": output(TABLE, "quality-retraining-ledger", "name"),
        "functionName": output(FUNCTION, "quality-retraining-trigger-function", "name"),
    },
    "ApprovalDeployment": lambda: {
        "ledgerTableName": output(TABLE, "approval-deployment-ledger", "name"),
        "functionName": output(FUNCTION, "approval-deployment-deploy-function", "name"),
    },
    "SpendBudgets": lambda: {
        # prod's models with a monthlyBudget
        "modelBudgetNames": {
            model: output(BUDGET, f"budgets-{model}", "name") for model in ("churn", "fraud")
        },
        "stackBudgetName": output(BUDGET, "budgets-stack", "name"),
    },
}


@pytest.mark.parametrize("component", EXPORTED)
def test_the_new_components_outputs_are_what_the_program_exports(component: str) -> None:
    exported = EXPORTED[component]()
    assert constructed_outputs(component) == exported


@pytest.mark.parametrize("component", ["TrainingMonitor", "ApprovalDeployment"])
def test_a_model_without_its_execution_role_is_named(component: str) -> None:
    name, inputs = CASES[component]
    given = inputs()
    given["executionRoles"] = {
        model: role for model, role in given["executionRoles"].items() if model != "churn"
    }
    with pytest.raises(ComponentInitError, match="executionRoles: no role for model churn; "):
        construct(component, name, given)
