"""CloudWatch Logs of SageMaker training jobs: when a job last wrote output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trainops_runtime.adapters import clients


def last_log_ingestion(log_group: str, job_name: str) -> datetime | None:
    """When any of the job's log streams (`<job>/algo-<n>-<epoch>`) last received events.

    `lastIngestionTime` rather than `lastEventTimestamp`, which CloudWatch Logs updates only
    eventually (AWS documents delays of up to an hour).
    """
    logs = clients.client("logs")
    request: dict[str, Any] = {
        "logGroupName": log_group,
        "logStreamNamePrefix": f"{job_name}/",
    }
    stamps: list[int] = []
    while True:  # one stream per host: more than a page for large distributed jobs
        page = logs.describe_log_streams(**request)
        stamps += [
            s["lastIngestionTime"] for s in page.get("logStreams", []) if s.get("lastIngestionTime")
        ]
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    return datetime.fromtimestamp(max(stamps) / 1000, UTC) if stamps else None
