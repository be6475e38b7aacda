"""stop_maintenance: the exact Systems Manager calls (Stubber) when the platform turns critical."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.lambda_context import LambdaContext
from trainops_runtime.adapters import clients
from trainops_runtime.handlers import stop_maintenance

NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
WINDOW = "mw-0c50858d01a1b2c3d"
ALARM = "trainops-prod-platform-critical"
# Systems Manager ids are UUIDs (the Stubber checks the documented shapes).
RUNNING = "a1b2c3d4-0000-4000-8000-000000000001"
PENDING = "a1b2c3d4-0000-4000-8000-000000000002"
TASK = "b2c3d4e5-0000-4000-8000-000000000003"
DONE_TASK = "b2c3d4e5-0000-4000-8000-00000000000a"
COMMAND_1 = "c3d4e5f6-0000-4000-8000-000000000004"
COMMAND_2 = "c3d4e5f6-0000-4000-8000-000000000005"
FIXTURE = Path(__file__).parent.parent / "fixtures" / "events"


def alarm_event(state: str = "ALARM") -> dict[str, Any]:
    event = json.loads((FIXTURE / "cloudwatch_composite_alarm_state_change_alarm.json").read_text())
    event["detail"]["state"]["value"] = state
    return event


@pytest.fixture(autouse=True)
def environment(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINOPS_MAINTENANCE_WINDOW_ID", WINDOW)
    monkeypatch.setenv("TRAINOPS_GUARD_ALARM_NAME", ALARM)
    monkeypatch.setenv("TRAINOPS_STACK", "test")


def test_running_retraining_is_cancelled_and_pending_never_starts() -> None:
    ssm = clients.client("ssm")
    with Stubber(ssm) as stubber:
        stubber.add_response(
            "describe_maintenance_window_executions",
            {
                "WindowExecutions": [
                    {
                        "WindowId": WINDOW,
                        "WindowExecutionId": RUNNING,
                        "Status": "IN_PROGRESS",
                    },
                    {
                        "WindowId": WINDOW,
                        "WindowExecutionId": "0f6f2e0c-4e1d-4a0e-9d61-1c3f9d7e5a42",
                        "Status": "SUCCESS",
                    },
                ]
            },
            {
                "WindowId": WINDOW,
                # 30 days back: tasks may run on past the window (CONTINUE_TASK)
                "Filters": [{"Key": "ExecutedAfter", "Values": ["2026-10-23T05:00:00Z"]}],
            },
        )
        stubber.add_response(
            "describe_maintenance_window_execution_tasks",
            {
                "WindowExecutionTaskIdentities": [
                    {
                        "WindowExecutionId": RUNNING,
                        "TaskExecutionId": TASK,
                        "Status": "IN_PROGRESS",
                    },
                    {
                        "WindowExecutionId": RUNNING,
                        "TaskExecutionId": DONE_TASK,
                        "Status": "SUCCESS",
                    },
                ]
            },
            {"WindowExecutionId": RUNNING},
        )
        # in-flight commands are read before the execution is cancelled
        stubber.add_response(
            "describe_maintenance_window_execution_task_invocations",
            {
                "WindowExecutionTaskInvocationIdentities": [
                    {
                        "InvocationId": "d4e5f6a7-0000-4000-8000-000000000006",
                        "ExecutionId": COMMAND_1,
                        "Status": "IN_PROGRESS",
                    },
                    {
                        "InvocationId": "d4e5f6a7-0000-4000-8000-000000000007",
                        "ExecutionId": COMMAND_2,
                        "Status": "PENDING",
                    },
                    {
                        "InvocationId": "d4e5f6a7-0000-4000-8000-000000000008",
                        "ExecutionId": "c3d4e5f6-0000-4000-8000-000000000009",
                        "Status": "SUCCESS",
                    },
                ]
            },
            {"WindowExecutionId": RUNNING, "TaskId": TASK},
        )
        stubber.add_response(
            "cancel_maintenance_window_execution",
            {"WindowExecutionId": RUNNING},
            {"WindowExecutionId": RUNNING},
        )
        stubber.add_response("cancel_command", {}, {"CommandId": COMMAND_1})
        stubber.add_response("cancel_command", {}, {"CommandId": COMMAND_2})
        result = stop_maintenance.run(alarm_event(), now=NOW)
        stubber.assert_no_pending_responses()
    assert result == {
        "state": "ALARM",
        "stoppedExecutions": [RUNNING],
        "cancelledCommands": [COMMAND_1, COMMAND_2],
    }


def test_nothing_running_means_nothing_cancelled() -> None:
    with Stubber(clients.client("ssm")) as stubber:
        stubber.add_response("describe_maintenance_window_executions", {"WindowExecutions": []})
        result = stop_maintenance.run(alarm_event(), now=NOW)
        stubber.assert_no_pending_responses()
    assert result["stoppedExecutions"] == []
    assert result["cancelledCommands"] == []


def test_recovery_stops_nothing() -> None:
    with Stubber(clients.client("ssm")) as stubber:  # no responses: any call fails the test
        assert stop_maintenance.run(alarm_event("OK"), now=NOW)["stoppedExecutions"] == []
        stubber.assert_no_pending_responses()


def test_a_cancel_that_fails_raises_for_lambda_to_retry() -> None:
    with Stubber(clients.client("ssm")) as stubber:
        stubber.add_response(
            "describe_maintenance_window_executions",
            {
                "WindowExecutions": [
                    {"WindowId": WINDOW, "WindowExecutionId": PENDING, "Status": "PENDING"}
                ]
            },
        )
        stubber.add_response("describe_maintenance_window_execution_tasks", {})
        stubber.add_client_error(
            "cancel_maintenance_window_execution", service_error_code="ThrottlingException"
        )
        with pytest.raises(Exception, match="ThrottlingException"):
            stop_maintenance.handler(alarm_event(), LambdaContext())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update({"detail-type": "EC2 Instance State-change Notification"}), "not a"),
        (lambda e: e["detail"].update({"alarmName": "someone-else"}), "not 'trainops-prod"),
        (lambda e: e["detail"].pop("state"), "without detail.state.value"),
    ],
)
def test_an_unexpected_event_is_refused_loudly(change: Any, message: str) -> None:
    event = copy.deepcopy(alarm_event())
    change(event)
    with pytest.raises(stop_maintenance.UnexpectedEvent, match=message):
        stop_maintenance.run(event, now=NOW)
