"""`trainops history` and `trainops replay` against a moto event store named like the dev stack's."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from tests.catalog_file import use_catalog
from tests.event_store_helpers import create_tables
from trainops_runtime import read_model, recorder
from trainops_runtime.domain_events import DomainEvent

EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-dev--churn/execution/abc123"


@pytest.fixture
def dev_store(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    create_tables("trainops-dev-events", "trainops-dev-read-model")
    monkeypatch.setenv("TRAINOPS_EVENT_TABLE", "trainops-dev-events")
    use_catalog(
        monkeypatch,
        {
            "churn": {
                "pipelineName": "trainops-dev--churn",
                "trainingData": "s3://example-ml-data/churn/",
                "maxRuntimeMinutes": 60,
            }
        },
    )
    for index, (kind, execution) in enumerate(
        [
            ("TrainingRequested", None),
            ("TrainingStarted", EXECUTION),
            ("TrainingSucceeded", EXECUTION),
        ]
    ):
        event = DomainEvent(
            type=kind,
            model="churn",
            request_id="req-7",
            attempt=1,
            trigger="cli",
            execution_arn=execution,
        )
        recorder.run(
            {
                "id": f"eb-{index}",
                "source": "trainops.training",
                "detail-type": kind,
                "time": "2026-11-22T08:00:00Z",
                "detail": event.detail(),
            }
        )


def test_history_prints_the_models_timeline(
    dev_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--stack", "dev", "--model", "churn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "churn (dev): 3 events"
    assert "TrainingRequested" in lines[1]
    assert "requestId=req-7" in lines[1]
    assert "TrainingSucceeded" in lines[3]
    assert "execution=abc123" in lines[3]
    assert main(["history", "--stack", "dev", "--model", "churn", "--json"]) == 0
    versions = [json.loads(line)["version"] for line in capsys.readouterr().out.splitlines()]
    assert versions == [1, 2, 3]


def test_history_of_an_unknown_model_names_the_known_ones(
    dev_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--stack", "dev", "--model", "ghost"]) == 2
    assert "unknown model 'ghost'; stack dev trains: churn, fraud" in capsys.readouterr().err


def test_replay_rebuilds_the_read_model(
    dev_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert read_model.load("trainops-dev-read-model", "model#churn") is None
    assert main(["replay", "--stack", "dev"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {
        "stack": "dev",
        "streams": 2,
        "models": ["churn"],
        "events": 3,
        "newerKept": [],
    }
    state = read_model.load("trainops-dev-read-model", "model#churn")
    assert state["lastSuccess"]["requestId"] == "req-7"
    assert state["counts"] == {"requested": 1, "started": 1}
