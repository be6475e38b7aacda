"""The component package's schema: inferred offline by the Pulumi SDK's analyzer from the facades'
annotations, committed as package/schema.json, and describing every component with its inputs
and outputs."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest

from cli import offline
from cli.main import main
from components.package import host

SCHEMA = json.loads(host.SCHEMA_FILE.read_text(encoding="utf-8"))
TYPES = SCHEMA["types"]

# component -> (required inputs, optional inputs, outputs)
COMPONENTS: dict[str, tuple[set[str], set[str], set[str]]] = {
    "Platform": (
        {"environment"},
        {"artifacts", "accessLogs", "budgetNotifications"},
        {"keyArn", "artifactsBucketName", "artifactsBucketArn", "accessLogsBucket"},
    ),
    "TrainingPipeline": (
        {"modelName", "model", "platform"},
        {"spendGuardrails"},
        {"pipelineName", "pipelineArn", "executionRoleArn", "executionRoleName"},
    ),
    "TrainingMonitor": (
        {"stack", "executionRoles"},
        {"config"},
        {"warningTopicArn", "criticalTopicArn"},
    ),
    "ScheduledRetraining": ({"stack"}, {"config"}, {"scheduleGroupName", "functionName"}),
    "TrainingQueue": (
        {"stack"},
        {"config", "keepSlots"},
        {"queueUrl", "queueArn", "deadLetterQueueUrl", "trainingSlotsTable"},
    ),
    "MaintenanceWindowRetraining": (
        {"stack"},
        {"config", "guardAlarmName"},
        {"windowId", "instancePolicyArn"},
    ),
    "TrainingEventStore": (
        {"stack"},
        {"config"},
        {"eventBusName", "eventBusArn", "eventsTableName", "readModelTableName"},
    ),
    "QualityRetraining": (
        {"stack"},
        {"config", "trainingQueue"},  # no queue: the stack file's rule says it is needed
        {"ledgerTableName", "functionName"},
    ),
    "ApprovalDeployment": (
        {"stack", "executionRoles"},
        {"config"},
        {"ledgerTableName", "functionName"},
    ),
    "SpendBudgets": ({"stack"}, {"config"}, {"modelBudgetNames", "stackBudgetName"}),
}
# outputs that are not set for every input: not required in the schema
UNSET_OUTPUTS = {"SpendBudgets": {"stackBudgetName"}, "Platform": {"accessLogsBucket"}}


def resource(component: str) -> dict[str, Any]:
    return SCHEMA["resources"][f"trainops:index:{component}"]


def test_the_committed_schema_is_the_code_s() -> None:
    assert host.SCHEMA_FILE.read_text(encoding="utf-8") == host.schema_text(), (
        "run `trainops package --update`"
    )
    assert main(["package"]) == 0  # what CI would run to check it


def test_the_package_is_named_and_versioned_from_the_project() -> None:
    with (offline.PROJECT_DIR / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    assert (SCHEMA["name"], SCHEMA["version"]) == ("trainops", version)


def test_every_component_is_exposed_and_nothing_else() -> None:
    assert set(SCHEMA["resources"]) == {f"trainops:index:{c}" for c in COMPONENTS}
    assert all(r["isComponent"] for r in SCHEMA["resources"].values())


@pytest.mark.parametrize("component", COMPONENTS)
def test_inputs_outputs_required_flags_and_descriptions(component: str) -> None:
    required, optional, outputs = COMPONENTS[component]
    schema = resource(component)
    assert set(schema["inputProperties"]) == required | optional
    assert set(schema.get("requiredInputs", [])) == required
    assert set(schema["properties"]) == outputs
    assert schema["description"]
    for name, prop in [*schema["inputProperties"].items(), *schema["properties"].items()]:
        assert prop.get("description"), f"{component}.{name} has no description"
    assert set(schema.get("required", [])) == outputs - UNSET_OUTPUTS.get(component, set())
    # outputs are values another component can take: strings (ARNs, names, URLs), or maps of
    # them by model name
    for name, prop in schema["properties"].items():
        kind = prop["type"] if prop["type"] == "string" else prop["additionalProperties"]["type"]
        assert kind == "string", f"{component}.{name}"


def test_feature_inputs_reference_the_stack_and_their_config_types() -> None:
    for component, config in (
        ("TrainingMonitor", "MonitoringSettings"),
        ("ScheduledRetraining", "ScheduledRetrainingSettings"),
        ("TrainingQueue", "TrainingQueueSettings"),
        ("MaintenanceWindowRetraining", "MaintenanceWindowSettings"),
        ("TrainingEventStore", "EventSourcingSettings"),
        ("QualityRetraining", "QualityRetrainingSettings"),
        ("ApprovalDeployment", "ApprovalDeploymentSettings"),
        ("SpendBudgets", "BudgetsSettings"),
    ):
        inputs = resource(component)["inputProperties"]
        assert inputs["stack"]["$ref"] == "#/types/trainops:index:StackRef"
        assert inputs["config"]["$ref"] == f"#/types/trainops:index:{config}"
    stack = TYPES["trainops:index:StackRef"]
    assert set(stack["required"]) == {"platform", "models"}
    assert stack["properties"]["models"]["additionalProperties"]["$ref"] == (
        "#/types/trainops:index:ModelSettings"
    )


def test_platform_references_take_outputs_of_other_components() -> None:
    """The values one component passes to another (ARNs, names) may be outputs: not plain."""
    platform = TYPES["trainops:index:PlatformRef"]["properties"]
    for name in ("keyArn", "artifactsBucketName", "artifactsBucketArn", "accessLogsBucket"):
        assert platform[name]["type"] == "string"
        assert not platform[name].get("plain"), name
    alerts = TYPES["trainops:index:AlertsRef"]
    assert set(alerts["required"]) == {"warningTopicArn", "criticalTopicArn"}
    queue = TYPES["trainops:index:TrainingQueueRef"]
    assert set(queue["required"]) == {"url", "arn"}
    assert [queue["properties"][name]["description"] for name in ("url", "arn")] == [
        "TrainingQueue.queueUrl.",
        "TrainingQueue.queueArn.",
    ]
    for name in ("url", "arn"):
        assert queue["properties"][name]["type"] == "string"
        assert not queue["properties"][name].get("plain"), name
    quality = resource("QualityRetraining")["inputProperties"]
    assert quality["trainingQueue"]["$ref"] == "#/types/trainops:index:TrainingQueueRef"
    roles = resource("ApprovalDeployment")["inputProperties"]["executionRoles"]
    assert roles["additionalProperties"]["$ref"] == "#/types/trainops:index:ExecutionRoleRef"


def test_spend_budgets_name_their_budgets_by_model() -> None:
    outputs = resource("SpendBudgets")["properties"]
    assert outputs["modelBudgetNames"]["type"] == "object"
    assert outputs["modelBudgetNames"]["additionalProperties"]["type"] == "string"
    assert outputs["stackBudgetName"]["type"] == "string"
    budgets = TYPES["trainops:index:BudgetsSettings"]["properties"]
    assert budgets["stackMonthlyLimit"]["type"] == "number"
    assert budgets["actualThresholds"]["items"]["type"] == "integer"


def test_model_settings_mirror_the_stack_config_keys() -> None:
    model = TYPES["trainops:index:ModelSettings"]
    properties = model["properties"]
    assert set(model["required"]) == {"image", "trainingData"}
    assert properties["instanceType"]["type"] == "string"
    assert properties["instanceType"]["description"].startswith("SageMaker training instance type")
    assert properties["maxRuntimeMinutes"]["type"] == "integer"
    assert properties["maxCostPerRun"]["type"] == "number"
    assert properties["evaluation"]["$ref"] == "#/types/trainops:index:EvaluationSettings"
    assert properties["hyperparameters"]["additionalProperties"]["type"] == "string"
    comparison = TYPES["trainops:index:EvaluationComparison"]
    assert {value["value"] for value in comparison["enum"]} == {
        "GreaterThanOrEqualTo",
        "LessThanOrEqualTo",
    }
