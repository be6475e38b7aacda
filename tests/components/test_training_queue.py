"""TrainingQueue under mocks: FIFO queue and DLQ, worker wiring, outcome rule, alarms, roles."""

from __future__ import annotations

import json

import pytest

from cli import offline
from components.platform import iam
from tests.components.helpers import (
    WITHOUT_MONITORING,
    ParseWith,
    RunStack,
    alarms_by_name,
    role_policy,
    stack_key_arn,
    statements_by_sid,
)

ACCOUNT = offline.ACCOUNT_ID
SLOTS = "trainops-dev-training-slots"
SLOTS_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{SLOTS}"


def test_fifo_queue_with_fifo_dlq_and_redrive(dev: offline.Recording) -> None:
    key_arn = stack_key_arn(dev)
    queue = dev.one("aws:sqs/queue:Queue", "training-queue-requests")
    dlq = dev.one("aws:sqs/queue:Queue", "training-queue-dlq")
    assert queue.inputs["name"] == "trainops-dev-training-requests.fifo"
    assert queue.inputs["fifoQueue"] is True
    assert dlq.inputs["fifoQueue"] is True
    assert dlq.inputs["name"].endswith(".fifo")
    for q in (queue, dlq):
        assert q.inputs["kmsMasterKeyId"] == key_arn
        # the size the worker's dead-letter summary is computed for (new queues get 1 MiB)
        assert q.inputs["maxMessageSize"] == 262_144
    redrive = json.loads(queue.inputs["redrivePolicy"])
    # default: as many receives as fit in 90 % of the 4-day retention at the 900 s backoff, so
    # a request that keeps waiting reaches the DLQ before SQS would expire it
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 345}
    assert redrive["maxReceiveCount"] * 900 < queue.inputs["messageRetentionSeconds"]
    assert dlq.inputs["messageRetentionSeconds"] > queue.inputs["messageRetentionSeconds"]
    assert queue.inputs["contentBasedDeduplication"] is True
    for name in ("training-queue-requests-policy", "training-queue-dlq-policy"):
        (deny,) = json.loads(dev.one("aws:sqs/queuePolicy:QueuePolicy", name).inputs["policy"])[
            "Statement"
        ]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_worker_reports_batch_item_failures_with_bounded_concurrency(
    dev: offline.Recording,
) -> None:
    queue = dev.one("aws:sqs/queue:Queue", "training-queue-requests")
    worker = dev.one("aws:lambda/function:Function", "training-queue-worker-function")
    mapping = dev.one(
        "aws:lambda/eventSourceMapping:EventSourceMapping", "training-queue-worker-source"
    ).inputs
    assert mapping["eventSourceArn"] == queue.outputs["arn"]
    assert mapping["functionName"] == worker.outputs["arn"]
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["scalingConfig"] == {"maximumConcurrency": 2}
    assert 1 <= mapping["batchSize"] <= 10  # FIFO limit
    assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * worker.inputs["timeout"]
    variables = worker.inputs["environment"]["variables"]
    assert variables["TRAINOPS_MAX_CONCURRENT_TRAININGS"] == "2"  # dev stack value
    assert (
        variables["TRAINOPS_DLQ_URL"]
        == dev.one("aws:sqs/queue:Queue", "training-queue-dlq").outputs["url"]
    )


def test_roles_are_scoped_to_these_queues_and_pipelines(dev: offline.Recording) -> None:
    queue = dev.one("aws:sqs/queue:Queue", "training-queue-requests").outputs["arn"]
    dlq = dev.one("aws:sqs/queue:Queue", "training-queue-dlq").outputs["arn"]
    pipelines = [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/trainops-dev--*"]
    worker = role_policy(dev, "training-queue-worker-policy")
    statements = statements_by_sid(worker)
    # it starts, and lists only to find a redelivered request's first execution; what runs it
    # reads from the slot ledger, not from SageMaker (it describes no execution)
    assert statements["StartAndListOwnPipelines"] == {
        "Sid": "StartAndListOwnPipelines",
        "Effect": "Allow",
        "Action": ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"],
        "Resource": pipelines,
    }
    assert "ReadOwnPipelineExecutions" not in statements
    assert statements["TrainingSlots"] == {
        "Sid": "TrainingSlots",
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        "Resource": [SLOTS_ARN],
    }
    assert statements["ConsumeRequests"]["Resource"] == [queue]
    assert statements["RejectToDeadLetters"] == {
        "Sid": "RejectToDeadLetters",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": [dlq],
    }
    outcome = role_policy(dev, "training-queue-outcome-policy")
    outcome_statements = statements_by_sid(outcome)
    assert outcome_statements["Requeue"]["Resource"] == [queue]
    assert outcome_statements["TrainingSlots"]["Action"] == ["dynamodb:UpdateItem"]
    assert outcome_statements["TrainingSlots"]["Resource"] == [SLOTS_ARN]
    # its records of handled events (Powertools idempotency): only keys under its own name
    outcome_function = dev.one("aws:lambda/function:Function", "training-queue-outcome-function")
    assert outcome_statements["RememberHandledEvents"] == {
        "Sid": "RememberHandledEvents",
        "Effect": "Allow",
        "Action": [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        "Resource": [SLOTS_ARN],
        "Condition": {
            "ForAllValues:StringLike": {
                "dynamodb:LeadingKeys": [f"{outcome_function.inputs['name']}.*"]
            }
        },
    }
    table = dev.one("aws:dynamodb/table:Table", "training-queue-slots")
    assert table.inputs["ttl"] == {"attributeName": "expiration", "enabled": True}
    assert outcome_statements["ReadOwnExecutions"]["Resource"] == [
        f"{p}/execution/*" for p in pipelines
    ]
    critical = dev.one("aws:sns/topic:Topic", "monitoring-critical").outputs["arn"]
    assert outcome_statements["Alert"]["Resource"] == [critical]
    for document in (worker, outcome):
        assert iam.wildcard_allow_actions(document) == []
        assert all(s["Resource"] != "*" or s["Sid"] == "Tracing" for s in document["Statement"])


def test_outcome_rule_targets_the_outcome_function_with_retries_and_dlq(
    dev: offline.Recording,
) -> None:
    rule = dev.one("aws:cloudwatch/eventRule:EventRule", "training-queue-outcome")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["currentPipelineExecutionStatus"] == ["Succeeded", "Failed", "Stopped"]
    target = dev.one(
        "aws:cloudwatch/eventTarget:EventTarget", "training-queue-outcome-target"
    ).inputs
    function = dev.one("aws:lambda/function:Function", "training-queue-outcome-function")
    assert target["arn"] == function.outputs["arn"]
    assert target["retryPolicy"]["maximumRetryAttempts"] == 10
    assert (
        target["deadLetterConfig"]["arn"]
        == dev.one("aws:sqs/queue:Queue", "training-queue-outcome-dlq").outputs["arn"]
    )
    assert function.inputs["environment"]["variables"]["TRAINOPS_MAX_ATTEMPTS"] == "3"


def test_alarms_on_dlq_depth_and_oldest_message_age(dev: offline.Recording) -> None:
    alarms = alarms_by_name(dev)
    depth = alarms["training-queue-dlq-depth"]
    assert depth["dimensions"] == {
        "QueueName": dev.one("aws:sqs/queue:Queue", "training-queue-dlq").outputs["name"]
    }
    age = alarms["training-queue-oldest-request-age"]
    assert age["metricName"] == "ApproximateAgeOfOldestMessage"
    # dev's longest model run is fraud's 480 minutes: a request may wait that long for its
    # model, so the alarm starts an hour after it
    assert age["threshold"] == (480 + 60) * 60
    assert "training-queue-oldest-request-age-escalated" not in alarms  # dev: escalate false


def test_the_slot_ledger_is_one_encrypted_protected_table(dev: offline.Recording) -> None:
    table = dev.one("aws:dynamodb/table:Table", "training-queue-slots")
    assert table.parent_urn is not None
    assert "TrainingQueue" in table.parent_urn
    key = dev.one("aws:kms/key:Key", "foundation-key").outputs["arn"]
    assert table.inputs["name"] == SLOTS
    assert table.inputs["hashKey"] == "id"
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is True
    for function in ("training-queue-worker-function", "training-queue-outcome-function"):
        variables = dev.one("aws:lambda/function:Function", function).inputs["environment"]
        assert variables["variables"]["TRAINOPS_SLOTS_TABLE"] == SLOTS


def test_ticks_and_the_stall_check_share_the_ledger(dev: offline.Recording) -> None:
    """Named by reference before the queue exists: the same table, read (a tick's claim returns
    the slot it replaced; the stall check counts) and updated, with the stack key."""
    key = dev.one("aws:kms/key:Key", "foundation-key").outputs["arn"]
    for function in ("scheduled-retraining-start", "monitoring-stall-detector"):
        variables = dev.one("aws:lambda/function:Function", f"{function}-function").inputs
        assert variables["environment"]["variables"]["TRAINOPS_SLOTS_TABLE"] == SLOTS
        statements = statements_by_sid(role_policy(dev, f"{function}-policy"))
        assert statements["TrainingSlots"]["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        assert statements["TrainingSlots"]["Resource"] == [SLOTS_ARN]
        assert statements["TrainingSlotsTableKey"]["Action"] == [
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ]
        assert statements["TrainingSlotsTableKey"]["Resource"] == [key]
    # the stall check confirms an execution it adopts still runs
    stall = statements_by_sid(role_policy(dev, "monitoring-stall-detector-policy"))
    reads = stall["ReadOwnPipelineExecutions"]
    assert "sagemaker:DescribePipelineExecution" in reads["Action"]
    # with monitoring, the stall check keeps the ledger: the queue schedules no keeper of its own
    assert not [r for r in dev.resources if "slot-keeper" in r.name]


def test_without_monitoring_the_queue_keeps_its_ledger_itself(run_stack: RunStack) -> None:
    recording = run_stack("dev", WITHOUT_MONITORING)
    function = recording.one("aws:lambda/function:Function", "training-queue-slot-keeper-function")
    assert function.inputs["handler"] == "trainops_runtime.handlers.slot_keeper.handler"
    assert function.inputs["environment"]["variables"]["TRAINOPS_SLOTS_TABLE"] == SLOTS
    rule = recording.one("aws:cloudwatch/eventRule:EventRule", "training-queue-slot-keeper")
    assert rule.inputs["scheduleExpression"] == "rate(5 minutes)"
    target = recording.one(
        "aws:cloudwatch/eventTarget:EventTarget", "training-queue-slot-keeper-target"
    ).inputs
    assert target["arn"] == function.outputs["arn"]
    assert target["deadLetterConfig"]["arn"]
    policy = role_policy(recording, "training-queue-slot-keeper-policy")
    statements = statements_by_sid(policy)
    assert statements["TrainingSlots"]["Resource"] == [SLOTS_ARN]
    assert statements["ListOwnPipelines"]["Action"] == ["sagemaker:ListPipelineExecutions"]
    assert (
        "sagemaker:DescribePipelineExecution" in statements["ReadOwnPipelineExecutions"]["Action"]
    )
    assert "sagemaker:StartPipelineExecution" not in json.dumps(policy)
    assert iam.wildcard_allow_actions(policy) == []


def test_disabled_queue_creates_nothing(run_stack: RunStack) -> None:
    recording = run_stack("dev", {"trainops:trainingQueue.enabled": False})
    # without a queue there is no ledger: ticks and the stall check ask SageMaker
    for function in ("scheduled-retraining-start-function", "monitoring-stall-detector-function"):
        variables = recording.one("aws:lambda/function:Function", function).inputs["environment"]
        assert "TRAINOPS_SLOTS_TABLE" not in variables["variables"]
    assert not [t for t in recording.of_type("aws:dynamodb/table:Table") if "slots" in t.name]
    assert recording.of_type("trainops:queue:TrainingQueue") == []
    assert [
        m.name for m in recording.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    ] == ["event-sourcing-projector-source"]
    assert not [r for r in recording.resources if r.name.startswith("training-queue")]


def test_a_receive_budget_longer_than_retention_is_refused(parse_with: ParseWith) -> None:
    from components.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_with("dev", {"trainops:trainingQueue.maxReceiveCount": 1000})
    (problem,) = raised.value.problems
    assert problem.startswith(
        "trainops:trainingQueue: maxReceiveCount (1000) x backoffMaxSeconds (900) is longer than "
        "retentionDays (4): a waiting request would expire in the queue before reaching the DLQ"
    )


def test_queue_settings_are_validated(parse_with: ParseWith) -> None:
    from components.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_with(
            "dev",
            {"trainops:trainingQueue.maxReceiveCount": 3, "trainops:trainingQueue.batchSize": 11},
        )
    problems = "\n".join(raised.value.problems)
    assert (
        "trainops:trainingQueue.maxReceiveCount: Input should be greater than or equal to 5 (got 3)"
        in problems
    )
    assert (
        "trainops:trainingQueue.batchSize: Input should be less than or equal to 10 (got 11)"
        in problems
    )
