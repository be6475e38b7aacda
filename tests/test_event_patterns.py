"""Event patterns against the sample events from the AWS documentation (tests/fixtures/events).

Matching is done by moto's EventBridge: each check puts the pattern on a rule with an SQS
target and sends the sample event through PutEvents, so our own code is not the judge of our
own patterns (moto's TestEventPattern API is a stub, hence the round trip).
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli import offline
from components.approval_deployment.component import approval_pattern, endpoint_pattern
from components.event_sourcing.component import (
    forward_pattern,
    raw_events_pattern,
    recorder_pattern,
)
from components.maintenance_window.specs import run_command_pattern
from components.monitoring.component import pipeline_failure_pattern, training_failure_pattern
from components.platform import iam
from components.scheduled_retraining.component import finished_pattern
from components.training_queue.component import outcome_pattern

FIXTURES = Path(__file__).parent / "fixtures" / "events"
CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="us-east-1")


def sample(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge (moto) delivers ``event`` to a rule with ``pattern``."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    name = f"probe-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "probe", "Arn": queue_arn}])
    result = events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event.get("resources", []),
                "EventBusName": name,
            }
        ]
    )
    assert result["FailedEntryCount"] == 0
    return bool(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"))


# The rules' patterns as the dev stack creates them (forwarding also as the prod stack does).
RETRAIN_DOCUMENT = "trainops-dev-retrain"
RULES = {
    "training-failure": training_failure_pattern("dev"),
    "pipeline-failure": pipeline_failure_pattern(CTX, "dev"),
    "forwarding": forward_pattern(CTX, "dev"),
    "forwarding-prod": forward_pattern(CTX, "prod"),
    "run-command": run_command_pattern(RETRAIN_DOCUMENT),
    "approvals": approval_pattern("dev"),
    "approvals-prod": approval_pattern("prod"),
    "endpoints": endpoint_pattern("dev"),
    "endpoints-prod": endpoint_pattern("prod"),
}


@pytest.mark.parametrize(
    ("rule", "fixture", "expected"),
    [
        ("training-failure", "sagemaker_training_job_failed", True),
        ("training-failure", "sagemaker_training_job_stopped_max_runtime", True),
        ("training-failure", "sagemaker_training_job_completed", False),
        ("training-failure", "sagemaker_pipeline_execution_failed", False),
        ("pipeline-failure", "sagemaker_pipeline_execution_failed", True),
        ("pipeline-failure", "sagemaker_pipeline_execution_succeeded", False),
        ("pipeline-failure", "sagemaker_pipeline_execution_executing", False),
        ("pipeline-failure", "sagemaker_training_job_failed", False),
        ("forwarding", "sagemaker_pipeline_execution_succeeded", True),
        ("forwarding", "sagemaker_pipeline_execution_executing", True),
        ("forwarding", "sagemaker_training_job_completed", True),
        ("forwarding-prod", "sagemaker_training_job_failed", False),
        ("forwarding", "ssm_run_command_status_success", False),
        ("run-command", "ssm_maintenance_window_task_execution_failed", False),
        ("approvals", "sagemaker_model_package_state_change_approved", True),
        ("approvals", "sagemaker_model_package_state_change_pending", False),
        ("approvals", "sagemaker_model_package_state_change_rejected", False),
        ("approvals-prod", "sagemaker_model_package_state_change_approved", False),
        ("approvals", "sagemaker_endpoint_state_change_in_service", False),
        ("endpoints", "sagemaker_endpoint_state_change_in_service", True),
        ("endpoints", "sagemaker_endpoint_state_change_updating", True),
        ("endpoints-prod", "sagemaker_endpoint_state_change_in_service", False),
        ("endpoints", "sagemaker_model_package_state_change_approved", False),
    ],
)
def test_a_rule_delivers_exactly_its_sample_events(
    moto_aws: None, rule: str, fixture: str, expected: bool
) -> None:
    assert matches(RULES[rule], sample(fixture)) is expected


def test_training_failure_rule_ignores_other_stacks_and_untagged_jobs(moto_aws: None) -> None:
    event = sample("sagemaker_training_job_failed")
    assert not matches(training_failure_pattern("prod"), event)
    untagged = copy.deepcopy(event)
    untagged["detail"]["Tags"] = {}
    assert not matches(training_failure_pattern("dev"), untagged)


def test_a_stop_for_another_reason_is_not_a_failure(moto_aws: None) -> None:
    event = sample("sagemaker_training_job_stopped_max_runtime")
    event["detail"]["SecondaryStatus"] = "Stopped"  # stopped by a person
    assert not matches(training_failure_pattern("dev"), event)


def with_pipeline(event: dict[str, Any], pipeline: str) -> dict[str, Any]:
    """The sample event as if it came from the pipeline called ``pipeline``."""
    event = copy.deepcopy(event)
    old = event["detail"]["pipelineArn"]
    new = CTX.arn("sagemaker", f"pipeline/{pipeline}")
    event["detail"]["pipelineArn"] = new
    event["detail"]["pipelineExecutionArn"] = event["detail"]["pipelineExecutionArn"].replace(
        old, new
    )
    event["resources"] = [r.replace(old, new) for r in event.get("resources", [])]
    return event


@pytest.mark.parametrize(
    "pipeline",
    # another stack; a stack whose name starts with this one's; a name outside trainops
    ["trainops-prod--churn", "trainops-dev-2--churn", "trainops-devx--churn", "churn"],
)
def test_pipeline_rules_ignore_pipelines_of_other_stacks(moto_aws: None, pipeline: str) -> None:
    failed = sample("sagemaker_pipeline_execution_failed")
    failed["detail"]["pipelineExecutionDisplayName"] = "sch-churn-a1-0123456789ab"
    for pattern in (
        pipeline_failure_pattern(CTX, "dev"),
        forward_pattern(CTX, "dev"),
        finished_pattern(CTX, "dev"),
        outcome_pattern(CTX, "dev"),
    ):
        assert matches(pattern, failed)
        assert not matches(pattern, with_pipeline(failed, pipeline))


def test_pipeline_rules_match_any_number_of_models(moto_aws: None) -> None:
    """The prefix matches a model the pattern never heard of: nothing lists the models."""
    failed = with_pipeline(
        sample("sagemaker_pipeline_execution_failed"), "trainops-dev--m499-" + "x" * 27
    )
    assert matches(pipeline_failure_pattern(CTX, "dev"), failed)
    assert matches(forward_pattern(CTX, "dev"), failed)


def test_finished_rule_matches_only_scheduled_executions(moto_aws: None) -> None:
    pattern = finished_pattern(CTX, "dev")
    for fixture, expected in (
        ("sagemaker_pipeline_execution_succeeded", True),
        ("sagemaker_pipeline_execution_failed", True),
        ("sagemaker_pipeline_execution_executing", False),
    ):
        event = sample(fixture)
        event["detail"]["pipelineExecutionDisplayName"] = "sch-churn-a1-0123456789ab"
        assert matches(pattern, event) is expected, fixture
    queued = sample("sagemaker_pipeline_execution_succeeded")
    queued["detail"]["pipelineExecutionDisplayName"] = "que-churn-a1-0123456789ab"
    assert not matches(pattern, queued)


@pytest.mark.parametrize(
    "group",
    # another stack; a stack whose name starts with this one's; a group outside trainops
    ["trainops-prod--churn", "trainops-dev-2--churn", "trainops-devx--churn", "churn"],
)
def test_approval_and_endpoint_rules_ignore_other_stacks(moto_aws: None, group: str) -> None:
    approved = sample("sagemaker_model_package_state_change_approved")
    endpoint = sample("sagemaker_endpoint_state_change_in_service")
    assert matches(approval_pattern("dev"), approved)
    assert matches(endpoint_pattern("dev"), endpoint)
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/2"
    approved["detail"].update(ModelPackageGroupName=group, ModelPackageArn=arn)
    approved["resources"] = [arn]
    endpoint["detail"]["EndpointName"] = group
    assert not matches(approval_pattern("dev"), approved)
    assert not matches(endpoint_pattern("dev"), endpoint)


def test_the_approval_rule_matches_any_number_of_models(moto_aws: None) -> None:
    """The prefix matches a group the pattern never heard of: nothing lists the models."""
    approved = sample("sagemaker_model_package_state_change_approved")
    approved["detail"]["ModelPackageGroupName"] = "trainops-dev--m499-" + "x" * 27
    assert matches(approval_pattern("dev"), approved)


def test_the_stack_uses_these_patterns(run_stack) -> None:  # type: ignore[no-untyped-def]
    recording = run_stack("dev")
    rules = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in recording.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs.get("eventPattern")
    }
    assert rules["monitoring-training-failed"] == training_failure_pattern("dev")
    assert rules["monitoring-pipeline-failed"] == pipeline_failure_pattern(CTX, "dev")
    prod = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in run_stack("prod").of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs.get("eventPattern")
    }
    assert prod["approval-deployment-approvals"] == approval_pattern("prod")
    assert prod["approval-deployment-endpoints"] == endpoint_pattern("prod")


@pytest.mark.parametrize("document", [RETRAIN_DOCUMENT, "AWS-RunShellScript"])
@pytest.mark.parametrize(
    "fixture", ["ssm_run_command_status_success", "ssm_run_command_status_failed"]
)
def test_run_command_results_rule_takes_only_the_retraining_document(
    moto_aws: None, fixture: str, document: str
) -> None:
    event = sample(fixture)
    event["detail"]["document-name"] = document
    assert matches(RULES["run-command"], event) is (document == RETRAIN_DOCUMENT)


def test_recorder_rule_takes_everything_so_nothing_is_dropped_unseen(moto_aws: None) -> None:
    assert matches(
        recorder_pattern(CTX.account_id), sample("ssm_maintenance_window_task_execution_failed")
    )
    assert matches(
        recorder_pattern(CTX.account_id),
        {"source": "someone.else", "detail-type": "X", "detail": {}},
    )


def test_raw_log_rule_matches_recorded_sources(moto_aws: None) -> None:
    assert matches(raw_events_pattern(), sample("sagemaker_pipeline_execution_failed"))
    assert not matches(
        raw_events_pattern(), {"source": "someone.else", "detail-type": "X", "detail": {}}
    )


def test_raw_log_rule_skips_replayed_events() -> None:
    """PutEvents cannot mark an event as replayed, so moto's matcher is asked directly."""
    from moto.events.models import EventPattern

    pattern = EventPattern.load(json.dumps(raw_events_pattern()))
    event = sample("sagemaker_pipeline_execution_failed")
    assert pattern.matches_event(event)
    assert not pattern.matches_event({**event, "replay-name": "recovery-2026-11-22"})


def test_stop_rule_matches_the_platform_critical_alarm_going_into_alarm(moto_aws: None) -> None:
    from components.maintenance_window.specs import guard_alarm_pattern

    event = sample("cloudwatch_composite_alarm_state_change_alarm")
    pattern = guard_alarm_pattern(event["resources"][0])
    assert matches(pattern, event)
    recovered = copy.deepcopy(event)
    recovered["detail"]["state"]["value"] = "OK"
    assert not matches(pattern, recovered)
    other = guard_alarm_pattern("arn:aws:cloudwatch:us-east-1:123456789012:alarm:someone-else")
    assert not matches(other, event)
