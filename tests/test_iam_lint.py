"""Every IAM policy document of both stacks, linted with parliament.

Trust policies (`assumeRolePolicy`) are not identity policies, which is what parliament audits;
they are checked by the `iam-trust-scoped` guardrail instead. Findings fail the build unless
`policy/parliament_suppressions.json` suppresses them with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from cli import offline

SUPPRESSIONS = json.loads(
    (Path(__file__).parent.parent / "policy" / "parliament_suppressions.json").read_text()
)


def findings(recording: offline.Recording) -> list[dict[str, Any]]:
    found = []
    for resource, document in recording.policy_documents():
        if (
            resource.inputs.get("assumeRolePolicy")
            and json.loads(resource.inputs["assumeRolePolicy"]) == document
        ):
            continue
        for finding in analyze_policy_string(json.dumps(document)).findings:
            found.append(
                {
                    "issue": finding.issue,
                    "resource": resource.name,
                    "resource_type": resource.type,
                    "detail": json.dumps(finding.detail),
                }
            )
    return found


def suppression_for(finding: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (
            s
            for s in SUPPRESSIONS
            if s["issue"] == finding["issue"]
            and s["resource_type"] == finding["resource_type"]
            and s["detail_contains"] in finding["detail"]
        ),
        None,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_parliament_reports_nothing_unsuppressed(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    unsuppressed = [f for f in findings(run_stack(stack)) if suppression_for(f) is None]
    assert unsuppressed == []


def test_every_suppression_has_a_reason_and_is_used(
    run_stack: Callable[..., offline.Recording],
) -> None:
    all_findings = findings(run_stack("dev")) + findings(run_stack("prod"))
    for suppression in SUPPRESSIONS:
        assert len(suppression["reason"]) >= 40, suppression
        assert any(suppression_for(f) is suppression for f in all_findings), f"stale: {suppression}"


def test_parliament_catches_a_bad_policy() -> None:
    """The lint is live: an unknown action and a wildcard resource are reported."""

    def issues(statement: dict[str, Any]) -> set[str]:
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
        return {f.issue for f in analyze_policy_string(json.dumps(document)).findings}

    assert "UNKNOWN_ACTION" in issues({"Action": ["s3:GetObjekt"], "Resource": "arn:aws:s3:::b/*"})
    assert "RESOURCE_STAR" in issues({"Action": ["sqs:SendMessage"], "Resource": "*"})
