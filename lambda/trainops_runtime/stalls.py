"""When a training counts as overrunning or stalled: the stall detector's rules.

Pure: given what SageMaker reports about a running execution and its training jobs (through
`StallPorts`), `detect` returns the findings; the handler (`handlers/stall_detector.py`) lists
the executions, keeps the slot ledger, and publishes the report as metrics and log lines. Why
these rules (log output as progress during training, the secondary status around it) is
explained there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.settings import (
    OVERRUN_FRACTION,
    STALLED_AFTER_MINUTES,
    SettingsError,
    StallDetectorSettings,
)
from trainops_runtime.training_slots import RunningExecution


@dataclass(frozen=True)
class Thresholds:
    overrun_fraction: float
    stalled_after: timedelta

    @classmethod
    def of(cls, config: StallDetectorSettings[str]) -> Thresholds:
        fraction, stalled = config.overrun_fraction, config.stalled_after_minutes
        if not 0 < fraction <= 1 or stalled < 1:
            raise SettingsError(
                f"{OVERRUN_FRACTION.name} must be in (0, 1] and {STALLED_AFTER_MINUTES.name} >= 1"
            )
        return cls(overrun_fraction=fraction, stalled_after=timedelta(minutes=stalled))


@dataclass
class Finding:
    model: str
    kind: str  # "overrunning-job" | "stalled-job" | "overrunning-execution"
    resource: str
    elapsed_minutes: int
    detail: str


@dataclass
class Report:
    running_jobs: int = 0
    running_executions: int = 0
    findings: list[Finding] = field(default_factory=list)
    # model -> its executions that hold a slot, newest first (what the slot ledger is checked by)
    running: dict[str, list[RunningExecution]] = field(default_factory=dict)
    slots_freed: int = 0
    slots_adopted: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for finding in self.findings if finding.kind == kind)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def job_findings(
    job: Mapping[str, Any],
    model: str,
    max_runtime: timedelta,
    thresholds: Thresholds,
    *,
    now: datetime,
    last_log: Callable[[], datetime | None],
) -> list[Finding]:
    """What is wrong with one training job (`DescribeTrainingJob`'s answer), if anything.
    ``last_log`` is asked only for a job in training whose status has not changed for long."""
    if job.get("TrainingJobStatus") != "InProgress":
        return []
    name = job["TrainingJobName"]
    started = job.get("TrainingStartTime") or job["CreationTime"]
    elapsed = now - started
    findings: list[Finding] = []

    def found(kind: str, detail: str) -> None:
        findings.append(Finding(model, kind, name, _minutes(elapsed), detail))

    if elapsed >= max_runtime * thresholds.overrun_fraction:
        found("overrunning-job", f"{_minutes(elapsed)} of {_minutes(max_runtime)} minutes used")
    transitions = job.get("SecondaryStatusTransitions") or []
    last_change = transitions[-1]["StartTime"] if transitions else started
    status = job.get("SecondaryStatus", "unknown")
    if now - last_change < thresholds.stalled_after:
        return findings
    if status == "Training":
        logged = last_log()
        if logged is not None and now - logged < thresholds.stalled_after:
            return findings  # long training that still writes logs is progress
        quiet = now - max(last_change, logged) if logged else now - last_change
        detail = f"training without log output for {_minutes(quiet)} minutes"
    else:
        quiet = now - last_change
        detail = f"secondary status {status} unchanged for {_minutes(quiet)} minutes"
    found("stalled-job", detail)
    return findings


@dataclass(frozen=True)
class StallPorts:
    """What the rules need to know about running work."""

    running_jobs: Callable[[str], list[str]]  # an execution's running training jobs
    describe_job: Callable[[str], Mapping[str, Any]]  # DescribeTrainingJob
    last_log: Callable[[str], datetime | None]  # a job's latest log output


def detect(
    catalog: ModelCatalog,
    thresholds: Thresholds,
    now: datetime,
    running: dict[str, list[RunningExecution]],
    ports: StallPorts,
) -> Report:
    """Inspects every running execution (``running``: model -> its executions, newest first)
    of every model in the catalog, and each execution's running training jobs."""
    report = Report(running=running)
    for model in catalog.models:
        entry = catalog.get(model)
        longest = timedelta(minutes=entry.longest_run_minutes)
        for execution in running.get(model, []):
            report.running_executions += 1
            if execution.started is not None:
                elapsed = now - execution.started
                if elapsed >= longest * thresholds.overrun_fraction:
                    report.findings.append(
                        Finding(
                            model=model,
                            kind="overrunning-execution",
                            resource=execution.execution_arn,
                            elapsed_minutes=_minutes(elapsed),
                            detail=f"{_minutes(elapsed)} of {_minutes(longest)} minutes used",
                        )
                    )
            for job in ports.running_jobs(execution.execution_arn):
                report.running_jobs += 1
                report.findings += job_findings(
                    ports.describe_job(job),
                    model,
                    timedelta(minutes=entry.max_runtime_minutes),
                    thresholds,
                    now=now,
                    last_log=lambda job=job: ports.last_log(job),
                )
    return report
