"""The stall detector's rules without AWS: when a job overruns, when it counts as stalled
(before, during and after training), when an execution overruns, and that a job's logs are read
only when its status alone cannot tell (the moto and Stubber tests in test_stall_detector.py run
the same rules through the real adapters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.stalls import StallPorts, Thresholds, detect, job_findings
from trainops_runtime.training_slots import RunningExecution

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
THRESHOLDS = Thresholds(overrun_fraction=0.8, stalled_after=timedelta(minutes=60))
MAX_RUNTIME = timedelta(minutes=600)


def job(
    started_minutes_ago: int,
    *,
    status: str = "Training",
    changed_minutes_ago: int | None = None,
    state: str = "InProgress",
) -> dict[str, Any]:
    started = NOW - timedelta(minutes=started_minutes_ago)
    changed = NOW - timedelta(minutes=changed_minutes_ago or started_minutes_ago)
    return {
        "TrainingJobName": "pipelines-churn-train",
        "TrainingJobStatus": state,
        "TrainingStartTime": started,
        "CreationTime": started,
        "SecondaryStatus": status,
        "SecondaryStatusTransitions": [{"Status": status, "StartTime": changed}],
    }


def findings(description: dict[str, Any], last_log_minutes_ago: int | None = None) -> list[str]:
    asked: list[bool] = []

    def last_log() -> datetime | None:
        asked.append(True)
        if last_log_minutes_ago is None:
            return None
        return NOW - timedelta(minutes=last_log_minutes_ago)

    found = job_findings(description, "churn", MAX_RUNTIME, THRESHOLDS, now=NOW, last_log=last_log)
    return [f.kind for f in found] + (["(logs read)"] if asked else [])


@pytest.mark.parametrize(
    ("description", "last_log", "expected"),
    [
        (job(30), None, []),  # young, status changed recently: logs not even read
        (job(500, changed_minutes_ago=10), None, ["overrunning-job"]),  # 500 >= 0.8 * 600
        (job(120), 5, ["(logs read)"]),  # training for long, but still logging: progress
        (job(120), 90, ["stalled-job", "(logs read)"]),  # quiet for 90 minutes
        (job(120), None, ["stalled-job", "(logs read)"]),  # never logged
        (job(120, status="Downloading"), None, ["stalled-job"]),  # stuck before training
        (job(500, status="Uploading"), None, ["overrunning-job", "stalled-job"]),
        (job(700, state="Completed"), None, []),  # finished jobs are not judged
    ],
    ids=[
        "young",
        "overrunning",
        "training-and-logging",
        "training-but-quiet",
        "training-never-logged",
        "stuck-downloading",
        "overrunning-and-stuck-uploading",
        "completed",
    ],
)
def test_job_findings(description, last_log, expected) -> None:
    assert findings(description, last_log) == expected


def test_detect_judges_every_running_execution_and_its_jobs() -> None:
    catalog = ModelCatalog(
        {
            "churn": CatalogEntry("trainops-test-churn", "s3://d/churn/", max_runtime_minutes=600),
            "fraud": CatalogEntry("trainops-test-fraud", "s3://d/fraud/", max_runtime_minutes=60),
        }
    )
    running = {
        "churn": [RunningExecution("churn", "arn:churn/1", "Executing", NOW - timedelta(hours=1))],
        # 0.8 of fraud's 60 minutes is 48: this execution overruns
        "fraud": [RunningExecution("fraud", "arn:fraud/1", "Executing", NOW - timedelta(hours=2))],
    }
    jobs = {"arn:churn/1": ["churn-train"], "arn:fraud/1": []}
    described: list[str] = []

    def describe(name: str) -> dict[str, Any]:
        described.append(name)
        return job(30)

    report = detect(
        catalog,
        THRESHOLDS,
        NOW,
        running,
        StallPorts(running_jobs=jobs.__getitem__, describe_job=describe, last_log=lambda _: None),
    )
    assert (report.running_executions, report.running_jobs) == (2, 1)
    assert described == ["churn-train"]
    assert [(f.model, f.kind, f.resource) for f in report.findings] == [
        ("fraud", "overrunning-execution", "arn:fraud/1")
    ]
    assert report.running is running  # the listing the slot ledger was kept by
