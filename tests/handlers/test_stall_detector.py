"""Stall detector with a controlled clock: exact SageMaker calls (Stubber), counts and EMF output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber

from tests.catalog_file import use_catalog
from trainops_runtime import catalog as catalog_module
from trainops_runtime import training_slots
from trainops_runtime.adapters import clients, slots
from trainops_runtime.handlers import stall_detector
from trainops_runtime.settings import StallDetectorSettings
from trainops_runtime.training_request import TrainingRequest

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CATALOG = {
    "churn": {
        "pipelineName": "trainops-test-churn",
        "trainingData": "s3://d/c/",
        "maxRuntimeMinutes": 100,
    },
    "fraud": {
        "pipelineName": "trainops-test-fraud",
        "trainingData": "s3://d/f/",
        "maxRuntimeMinutes": 600,
    },
}
EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-churn/execution/{}"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, moto_aws: None) -> None:
    use_catalog(monkeypatch, CATALOG)
    monkeypatch.setenv("TRAINOPS_OVERRUN_FRACTION", "0.8")
    monkeypatch.setenv("TRAINOPS_STALLED_AFTER_MINUTES", "60")
    monkeypatch.setenv("TRAINOPS_STACK", "test")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "trainops")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "trainops")
    catalog_module.load.cache_clear()


def list_executions(
    stubber: Stubber, pipeline: str, created_after: datetime, summaries: list[dict]
) -> None:
    stubber.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": summaries},
        {
            "PipelineName": pipeline,
            "CreatedAfter": created_after,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 100,
        },
    )


def job(
    name: str, started: datetime, last_transition: datetime, status: str = "InProgress"
) -> dict:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": "Training",
        "CreationTime": started - timedelta(minutes=2),
        "TrainingStartTime": started,
        "SecondaryStatusTransitions": [
            {"Status": "Starting", "StartTime": started},
            {"Status": "Training", "StartTime": last_transition},
        ],
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
        "ModelArtifacts": {"S3ModelArtifacts": "s3://a/m"},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "OutputDataConfig": {"S3OutputPath": "s3://a/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 50,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 6000},
    }


def steps(stubber: Stubber, execution: str, job_name: str) -> None:
    stubber.add_response(
        "list_pipeline_execution_steps",
        {
            "PipelineExecutionSteps": [
                {
                    "StepName": "Train",
                    "StepStatus": "Executing",
                    "Metadata": {
                        "TrainingJob": {
                            "Arn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job_name}"
                        }
                    },
                }
            ]
        },
        {"PipelineExecutionArn": execution, "SortOrder": "Descending"},
    )


def log_streams(stubber: Stubber, job_name: str, last_ingestion: list[datetime]) -> None:
    stubber.add_response(
        "describe_log_streams",
        {
            "logStreams": [
                {
                    "logStreamName": f"{job_name}/algo-{index + 1}-1700000000",
                    "lastIngestionTime": int(moment.timestamp() * 1000),
                }
                for index, moment in enumerate(last_ingestion)
            ]
        },
        {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": f"{job_name}/"},
    )


def test_counts_overrunning_stalled_and_healthy_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker = clients.client("sagemaker")
    logs = Stubber(clients.client("logs"))
    # job a: `Training` for 70 minutes and its two hosts silent for 65 and 62: stalled
    log_streams(
        logs, "pipelines-a-train", [NOW - timedelta(minutes=65), NOW - timedelta(minutes=62)]
    )
    logs.activate()
    churn_after = NOW - timedelta(minutes=100) - timedelta(hours=24)
    fraud_after = NOW - timedelta(minutes=600) - timedelta(hours=24)
    with Stubber(sagemaker) as stubber:
        list_executions(
            stubber,
            "trainops-test-churn",
            churn_after,
            [
                # 85 of 100 minutes: overrunning; its job changed status 70 minutes ago: stalled too
                {
                    "PipelineExecutionArn": EXECUTION.format("a"),
                    "PipelineExecutionStatus": "Executing",
                    "StartTime": NOW - timedelta(minutes=85),
                },
                # 10 minutes in, job progressing: healthy
                {
                    "PipelineExecutionArn": EXECUTION.format("b"),
                    "PipelineExecutionStatus": "Executing",
                    "StartTime": NOW - timedelta(minutes=10),
                },
                {
                    "PipelineExecutionArn": EXECUTION.format("c"),
                    "PipelineExecutionStatus": "Succeeded",
                    "StartTime": NOW - timedelta(minutes=300),
                },
            ],
        )
        list_executions(stubber, "trainops-test-fraud", fraud_after, [])  # every listing first
        steps(stubber, EXECUTION.format("a"), "pipelines-a-train")
        stubber.add_response(
            "describe_training_job",
            job("pipelines-a-train", NOW - timedelta(minutes=84), NOW - timedelta(minutes=70)),
            {"TrainingJobName": "pipelines-a-train"},
        )
        steps(stubber, EXECUTION.format("b"), "pipelines-b-train")
        stubber.add_response(
            "describe_training_job",
            job("pipelines-b-train", NOW - timedelta(minutes=9), NOW - timedelta(minutes=5)),
            {"TrainingJobName": "pipelines-b-train"},
        )
        result = stall_detector.run(now=lambda: NOW)
        stubber.assert_no_pending_responses()
    logs.assert_no_pending_responses()
    logs.deactivate()
    assert result == {
        "runningJobs": 2,
        "runningExecutions": 2,
        "overrunningJobs": 1,
        "stalledJobs": 1,
        "overrunningExecutions": 1,
        "slotsFreed": 0,
        "slotsAdopted": 0,
    }
    stall_detector.metrics.flush_metrics()
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(emf) == 1
    blob = emf[0]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "trainops"
    assert sorted(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["Stack", "service"]
    assert blob["Stack"] == "test"
    assert blob["service"] == "trainops"
    values = {name: blob[name] for name in stall_detector.METRIC_NAMES}
    assert values == {
        "OverrunningTrainingJobs": [1.0],
        "StalledTrainingJobs": [1.0],
        "OverrunningPipelineExecutions": [1.0],
        "RunningTrainingJobs": [2.0],
        "RunningPipelineExecutions": [2.0],
        "TrainingSlotsFreed": [0.0],
        "TrainingSlotsAdopted": [0.0],
    }


def test_a_job_that_already_finished_is_not_flagged() -> None:
    sagemaker = clients.client("sagemaker")
    with Stubber(sagemaker) as stubber:
        list_executions(
            stubber,
            "trainops-test-churn",
            NOW - timedelta(minutes=100) - timedelta(hours=24),
            [
                {
                    "PipelineExecutionArn": EXECUTION.format("a"),
                    "PipelineExecutionStatus": "Executing",
                    "StartTime": NOW - timedelta(minutes=20),
                }
            ],
        )
        list_executions(
            stubber, "trainops-test-fraud", NOW - timedelta(minutes=600) - timedelta(hours=24), []
        )
        steps(stubber, EXECUTION.format("a"), "pipelines-a-train")
        stubber.add_response(
            "describe_training_job",
            job(
                "pipelines-a-train",
                NOW - timedelta(minutes=500),
                NOW - timedelta(minutes=400),
                status="Completed",
            ),
            {"TrainingJobName": "pipelines-a-train"},
        )
        report = stall_detector.detect(
            catalog_module.load(),
            stall_detector.Thresholds.of(StallDetectorSettings[str].from_environment()),
            NOW,
        )
    assert report.findings == []
    assert report.running_jobs == 1


def test_invalid_thresholds_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINOPS_OVERRUN_FRACTION", "1.5")
    with pytest.raises(RuntimeError, match="must be in"):
        stall_detector.Thresholds.of(StallDetectorSettings[str].from_environment())


@pytest.mark.parametrize(
    ("secondary_status", "last_log_minutes_ago", "stalled"),
    [
        ("Training", 2, False),  # long training that still logs is progress
        ("Training", 61, True),  # silent for longer than stalledAfterMinutes
        ("Training", None, True),  # never logged at all
        ("Downloading", None, True),  # stuck before training: the status alone decides
    ],
)
def test_stalled_means_no_progress(
    secondary_status: str, last_log_minutes_ago: int | None, *, stalled: bool
) -> None:
    """A job whose secondary status has stayed the same for 3 hours."""
    name = "pipelines-long-train"
    described = job(name, NOW - timedelta(minutes=190), NOW - timedelta(minutes=180))
    described["SecondaryStatus"] = secondary_status
    described["SecondaryStatusTransitions"][-1]["Status"] = secondary_status
    with Stubber(clients.client("sagemaker")) as sagemaker, Stubber(clients.client("logs")) as logs:
        sagemaker.add_response("describe_training_job", described, {"TrainingJobName": name})
        if secondary_status == "Training":
            log_streams(
                logs,
                name,
                []
                if last_log_minutes_ago is None
                else [NOW - timedelta(minutes=last_log_minutes_ago)],
            )
        thresholds = stall_detector.Thresholds(
            overrun_fraction=1.0, stalled_after=timedelta(minutes=60)
        )
        findings = stall_detector.check_job("fraud", name, timedelta(minutes=600), thresholds, NOW)
        sagemaker.assert_no_pending_responses()
        logs.assert_no_pending_responses()
    assert [f.kind for f in findings] == (["stalled-job"] if stalled else [])


def test_with_a_training_queue_it_keeps_the_slot_ledger_true(
    slot_ledger: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """churn's slot names a request whose end event was lost (nothing of churn runs); fraud
    runs an execution someone started in the console. One check frees the first and counts
    the second."""
    lost = TrainingRequest(model="churn", request_id="req-lost-end", requested_by="tests")
    claimed = NOW - timedelta(hours=1)
    slots.claim(
        slot_ledger,
        training_slots.new_slot(
            "churn",
            holder=lost.idempotency_token(),
            request_id="req-lost-end",
            trigger="queue",
            longest_run_minutes=100,
            now=claimed,
        ),
        now=claimed,
        expected_version=None,
    )
    console = EXECUTION.replace("churn", "fraud").format("console")
    sagemaker = clients.client("sagemaker")
    with Stubber(sagemaker) as stubber:
        list_executions(
            stubber, "trainops-test-churn", NOW - timedelta(minutes=100) - timedelta(hours=24), []
        )
        list_executions(
            stubber,
            "trainops-test-fraud",
            NOW - timedelta(minutes=600) - timedelta(hours=24),
            [
                {
                    "PipelineExecutionArn": console,
                    "PipelineExecutionStatus": "Executing",
                    "StartTime": NOW - timedelta(minutes=5),
                    "PipelineExecutionDisplayName": "from-the-console",
                }
            ],
        )
        # the ledger is kept right after the listing: the adopted execution is confirmed
        stubber.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionStatus": "Executing"},
            {"PipelineExecutionArn": console},
        )
        stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": []},
            {"PipelineExecutionArn": console, "SortOrder": "Descending"},
        )
        result = stall_detector.run(now=lambda: NOW)
        stubber.assert_no_pending_responses()
    assert (result["slotsFreed"], result["slotsAdopted"]) == (1, 1)
    ledger = slots.read(slot_ledger)
    assert set(ledger.slots) == {"fraud"}
    assert ledger.slots["fraud"].holder == training_slots.adopted_holder(console)
    stall_detector.metrics.flush_metrics()
    (blob,) = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert (blob["TrainingSlotsFreed"], blob["TrainingSlotsAdopted"]) == ([1.0], [1.0])


def test_a_ledger_error_does_not_stop_the_stall_checks(
    slot_ledger: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import ClientError

    from trainops_runtime.errors import RetryableError
    from trainops_runtime.handlers import slot_keeper

    def throttled(*args: object, **kwargs: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "GetItem",
        )

    monkeypatch.setattr(slot_keeper, "keep", throttled)
    with Stubber(clients.client("sagemaker")) as stubber:
        list_executions(
            stubber, "trainops-test-churn", NOW - timedelta(minutes=100) - timedelta(hours=24), []
        )
        list_executions(
            stubber, "trainops-test-fraud", NOW - timedelta(minutes=600) - timedelta(hours=24), []
        )
        with pytest.raises(RetryableError, match="ProvisionedThroughputExceededException"):
            stall_detector.run(now=lambda: NOW)
        stubber.assert_no_pending_responses()
    stall_detector.metrics.flush_metrics()
    (blob,) = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert blob["RunningPipelineExecutions"] == [0.0]  # the stall metrics were published
