"""TrainingEventStore under mocks: bus, archive, forwarding, store, raw log, recorder, projector."""

from __future__ import annotations

import json

from cli import offline
from components.platform import iam
from tests.components.helpers import (
    RunStack,
    alarms_by_name,
    put_events_on,
    role_policy,
    stack_key_arn,
    statements_by_sid,
)

ACCOUNT = offline.ACCOUNT_ID


def test_bus_with_account_only_policy_and_archive(dev: offline.Recording) -> None:
    bus = dev.one("aws:cloudwatch/eventBus:EventBus")
    assert bus.inputs["name"] == "trainops-dev-training"
    (statement,) = json.loads(
        dev.one("aws:cloudwatch/eventBusPolicy:EventBusPolicy").inputs["policy"]
    )["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Action"] == ["events:PutEvents"]
    archive = dev.one("aws:cloudwatch/eventArchive:EventArchive").inputs
    assert archive["eventSourceArn"] == bus.outputs["arn"]
    assert archive["retentionDays"] == 30  # dev stack value


def test_sagemaker_events_are_forwarded_by_a_scoped_role(dev: offline.Recording) -> None:
    bus_arn = dev.one("aws:cloudwatch/eventBus:EventBus").outputs["arn"]
    rule = dev.one("aws:cloudwatch/eventRule:EventRule", "event-sourcing-forward-sagemaker")
    assert "eventBusName" not in rule.inputs  # the default bus
    target = dev.one(
        "aws:cloudwatch/eventTarget:EventTarget", "event-sourcing-forward-sagemaker-target"
    ).inputs
    assert target["arn"] == bus_arn
    assert target["deadLetterConfig"]["arn"]
    policy = role_policy(dev, "event-sourcing-forward-policy")
    assert policy["Statement"] == [put_events_on(bus_arn)]


def test_event_store_table_is_durable_and_encrypted(
    dev: offline.Recording, run_stack: RunStack
) -> None:
    key_arn = stack_key_arn(dev)
    table = dev.one("aws:dynamodb/table:Table", "event-sourcing-events")
    inputs = table.inputs
    assert inputs["name"] == "trainops-dev-events"
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (inputs["hashKey"], inputs["rangeKey"]) == ("stream", "version")
    assert inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn}
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["streamEnabled"] is True
    assert inputs["streamViewType"] == "NEW_IMAGE"
    read_model = dev.one("aws:dynamodb/table:Table", "event-sourcing-read-model").inputs
    assert read_model["pointInTimeRecovery"] == {"enabled": True}
    assert read_model["serverSideEncryption"]["kmsKeyArn"] == key_arn


def test_tables_are_protected_in_prod() -> None:
    """Mocks do not report resource options, so the component is checked for what it asks."""
    from components.event_sourcing.component import TrainingEventStore

    asked: list[bool] = []
    original = TrainingEventStore._table

    def spy(self, name, table_name, args, protect, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(protect)
        return original(self, name, table_name, args, protect, **kwargs)

    TrainingEventStore._table = spy  # type: ignore[method-assign]
    try:
        offline.run_program("prod")
        assert asked == [True, True]
        asked.clear()
        offline.run_program("dev")
        assert asked == [False, False]
    finally:
        TrainingEventStore._table = original  # type: ignore[method-assign]


def test_recorder_has_retries_dlq_and_only_append_rights(dev: offline.Recording) -> None:
    function = dev.one("aws:lambda/function:Function", "event-sourcing-recorder-function")
    assert function.inputs["handler"] == "trainops_runtime.handlers.recorder.handler"
    rule = dev.one("aws:cloudwatch/eventRule:EventRule", "event-sourcing-record")
    assert (
        rule.inputs["eventBusName"] == dev.one("aws:cloudwatch/eventBus:EventBus").outputs["name"]
    )
    target = dev.one(
        "aws:cloudwatch/eventTarget:EventTarget", "event-sourcing-record-target"
    ).inputs
    assert target["arn"] == function.outputs["arn"]
    assert target["retryPolicy"]["maximumRetryAttempts"] == 10
    assert (
        target["deadLetterConfig"]["arn"]
        == dev.one("aws:sqs/queue:Queue", "event-sourcing-record-dlq").outputs["arn"]
    )
    assert {
        "event-sourcing-record-failed-invocations",
        "event-sourcing-record-dlq-depth",
        "event-sourcing-recorder-errors",
        "event-sourcing-recorder-failures-depth",
    } <= set(alarms_by_name(dev))
    # A malformed event raises in the function: after Lambda's retries it lands in the
    # recorder's own failure queue (alarmed above), never dropped.
    invoke = dev.one(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "event-sourcing-recorder-async",
    ).inputs
    failures = dev.one("aws:sqs/queue:Queue", "event-sourcing-recorder-failures")
    assert invoke["destinationConfig"] == {"onFailure": {"destination": failures.outputs["arn"]}}
    assert invoke["maximumRetryAttempts"] == 2
    append = statements_by_sid(role_policy(dev, "event-sourcing-recorder-policy"))["AppendEvents"]
    assert append["Action"] == ["dynamodb:PutItem", "dynamodb:Query"]
    assert append["Resource"] == [
        dev.one("aws:dynamodb/table:Table", "event-sourcing-events").outputs["arn"]
    ]


def test_projector_reads_the_stream_with_bisect_max_age_and_failure_destination(
    dev: offline.Recording,
) -> None:
    table = dev.one("aws:dynamodb/table:Table", "event-sourcing-events")
    mapping = dev.one(
        "aws:lambda/eventSourceMapping:EventSourceMapping", "event-sourcing-projector-source"
    ).inputs
    assert mapping["eventSourceArn"] == table.outputs["streamArn"]
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["maximumRecordAgeInSeconds"] == 3600
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    failures = dev.one("aws:sqs/queue:Queue", "event-sourcing-projector-failures")
    assert mapping["destinationConfig"] == {
        "onFailure": {"destinationArn": failures.outputs["arn"]}
    }
    alarms = alarms_by_name(dev)
    assert alarms["event-sourcing-projector-iterator-age"]["metricName"] == "IteratorAge"
    assert "event-sourcing-projector-failures-depth" in alarms


def test_raw_events_land_in_a_dedicated_bucket_as_json_lines_by_date(
    dev: offline.Recording, run_stack: RunStack
) -> None:
    bucket = dev.one("aws:s3/bucket:Bucket", "event-sourcing-raw-events")
    stream = dev.one("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream").inputs
    s3 = stream["extendedS3Configuration"]
    assert s3["bucketArn"] == bucket.outputs["arn"]
    assert (
        s3["prefix"] == "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    )
    assert s3["processingConfiguration"]["processors"] == [{"type": "AppendDelimiterToRecord"}]
    assert stream["serverSideEncryption"]["keyType"] == "CUSTOMER_MANAGED_CMK"
    versioning = dev.one(
        "aws:s3/bucketVersioning:BucketVersioning", "event-sourcing-raw-events-versioning"
    ).inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    assert dev.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration") == []
    locked = run_stack("dev", {"trainops:eventSourcing.immutable": True})
    assert (
        locked.one("aws:s3/bucket:Bucket", "event-sourcing-raw-events").inputs["objectLockEnabled"]
        is True
    )
    lock = locked.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").inputs
    assert lock["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 365}


def test_publishers_get_the_bus(dev: offline.Recording) -> None:
    bus = dev.one("aws:cloudwatch/eventBus:EventBus").outputs
    for function_name in (
        "scheduled-retraining-start-function",
        "training-queue-worker-function",
        "training-queue-outcome-function",
    ):
        variables = dev.one("aws:lambda/function:Function", function_name).inputs["environment"][
            "variables"
        ]
        assert variables["TRAINOPS_EVENT_BUS"] == bus["name"], function_name
    policy = role_policy(dev, "training-queue-worker-policy")
    publish = statements_by_sid(policy)["PublishDomainEvents"]
    assert publish["Resource"] == [bus["arn"]]


def test_notebook_is_hardened_and_stops_when_idle(run_stack: RunStack) -> None:
    recording = run_stack(
        "dev",
        {
            "trainops:eventSourcing.notebook": {
                "enabled": True,
                "subnetId": "subnet-0abc1234",
                "securityGroupIds": ["sg-0abc1234"],
                "idleMinutes": 45,
            }
        },
    )
    notebook = recording.one("aws:sagemaker/notebookInstance:NotebookInstance").inputs
    assert notebook["kmsKeyId"] == stack_key_arn(recording)
    assert notebook["rootAccess"] == "Disabled"
    assert notebook["directInternetAccess"] == "Disabled"
    assert notebook["instanceMetadataServiceConfiguration"] == {
        "minimumInstanceMetadataServiceVersion": "2"
    }
    import base64

    lifecycle = recording.one(
        "aws:sagemaker/notebookInstanceLifecycleConfiguration:NotebookInstanceLifecycleConfiguration"
    ).inputs
    assert notebook["lifecycleConfigName"] == lifecycle["name"]
    script = base64.b64decode(lifecycle["onStart"]).decode()
    assert "trainops-autostop.py 45" in script
    assert "stop-notebook-instance" in script
    policy = role_policy(recording, "event-sourcing-notebook-policy")
    stop = statements_by_sid(policy)["StopItself"]
    assert stop["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/trainops-dev-notebook"
    ]
    assert iam.wildcard_allow_actions(policy) == []


def test_nothing_when_disabled(run_stack: RunStack) -> None:
    recording = run_stack("dev", {"trainops:eventSourcing.enabled": False})
    assert recording.of_type("trainops:events:TrainingEventStore") == []
    # the only table left is the training queue's slot ledger
    assert [t.name for t in recording.of_type("aws:dynamodb/table:Table")] == [
        "training-queue-slots"
    ]
    assert recording.of_type("aws:cloudwatch/eventBus:EventBus") == []
    worker = recording.one("aws:lambda/function:Function", "training-queue-worker-function").inputs
    assert "TRAINOPS_EVENT_BUS" not in worker["environment"]["variables"]
