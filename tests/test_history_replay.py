"""`trainops history` and `trainops replay` against a moto event store named like the dev stack's."""

from __future__ import annotations

import json

import pytest

from cli import events
from cli.main import main
from tests.catalog_file import use_catalog
from tests.event_store_helpers import create_tables
from trainops_runtime.adapters import read_model
from trainops_runtime.domain_events import DomainEvent
from trainops_runtime.handlers import recorder

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


def test_history_shows_each_step_of_a_deployment(
    dev_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [
        ("ModelApproved", "", {"decision": "deploy", "packageVersion": 2}),
        (
            "ModelDeployed",
            "started",
            {"status": "started", "endpointConfig": "trainops-dev--churn-v2"},
        ),
        ("DeploymentRolledBack", "", {"endpointConfig": "trainops-dev--churn-v2"}),
    ]
    for index, (kind, discriminator, data) in enumerate(steps):
        event = DomainEvent(
            type=kind,
            model="churn",
            request_id="approval:churn:v2",
            attempt=1,
            trigger="approval",
            data=data,
            discriminator=discriminator,
        )
        recorder.run(
            {
                "id": f"eb-deploy-{index}",
                "source": "trainops.training",
                "detail-type": kind,
                "time": "2026-11-22T09:00:00Z",
                "detail": event.detail(),
            }
        )
    assert main(["history", "--stack", "dev", "--model", "churn"]) == 0
    lines = capsys.readouterr().out.splitlines()[4:]
    assert [line.split()[2] for line in lines] == [kind for kind, _, _ in steps]
    assert "trigger=approval decision=deploy" in lines[0]
    assert "status=started endpointConfig=trainops-dev--churn-v2" in lines[1]
    assert "requestId=approval:churn:v2" in lines[2]


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


FORGED = "oom\n    9  2026-11-22T09:00:00Z  TrainingSucceeded  requestId=req-7"
ESCAPES = "\x1b[2J\x1b]0;owned\x07done\rTrainingSucceeded\u2028next \\x1b"


def test_history_shows_producer_text_inert(
    dev_store: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reason with a newline cannot forge a history line; ANSI escapes, a carriage return and
    a Unicode line separator do not reach the terminal; a literal backslash stays visible."""
    failed = DomainEvent(
        type="TrainingFailed",
        model="churn",
        request_id="req-8",
        attempt=1,
        trigger="cli",
        execution_arn=EXECUTION,
        reason=FORGED + ESCAPES,
    )
    recorder.run(
        {
            "id": "eb-forged",
            "source": "trainops.training",
            "detail-type": "TrainingFailed",
            "time": "2026-11-22T08:30:00Z",
            "detail": failed.detail(),
        }
    )
    assert main(["history", "--stack", "dev", "--model", "churn"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "churn (dev): 4 events"
    assert len(lines) == 5  # the header and one line per event: nothing forged
    assert not any(char in out for char in "\x1b\r\x07\u2028")
    assert "reason=oom\\n    9  2026-11-22T09:00:00Z" in lines[4]
    assert "\\x1b[2J\\x1b]0;owned\\x07done\\rTrainingSucceeded\\u2028next \\\\x1b" in lines[4]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, ünïcode", "plain text, ünïcode"),
        ("tab\there", "tab\\there"),
        ("bidi \u202e override", "bidi \\u202e override"),
        ("nul \x00", "nul \\x00"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_printable_escapes_exactly_the_invisible_characters(raw: str, shown: str) -> None:
    assert events.printable(raw) == shown
