"""Suppressions: explicit (a known rule), per resource (no catch-all), with a reason, and used."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import rules

from cli import offline
from tests.policy.support import resource, stack_of

REASON = "imported key managed by the security team's rotation runbook"


def test_suppressions_are_explicit_per_resource_with_a_reason(tmp_path: Path) -> None:
    bad = resource("aws:kms/key:Key", "legacy-key", enableKeyRotation=False)
    rule = next(r for r in rules.RULES if r.id == "kms-rotation")
    for pattern in ("legacy-key", "legacy-*"):
        suppression = rules.Suppression("kms-rotation", pattern, REASON)
        rules.validate_suppression(suppression)
        assert rules.evaluate(rules.Stack([bad]), [rule], [suppression]) == []
        other = resource("aws:kms/key:Key", "new-key", enableKeyRotation=False)
        assert len(rules.evaluate(rules.Stack([bad, other]), [rule], [suppression])) == 1
    path = tmp_path / "suppressions.json"
    path.write_text(
        json.dumps([{"rule": "kms-rotation", "resource": "legacy-key", "reason": "because"}])
    )
    with pytest.raises(ValueError, match="needs a real reason"):
        rules.load_suppressions(path)


@pytest.mark.parametrize(
    "pattern", ["*", "**", "?*", "*-key", "[a-z]*", "-*", "a-*", "legacy*", "legacy-*-key", ""]
)
def test_catch_all_suppressions_are_rejected(tmp_path: Path, pattern: str) -> None:
    path = tmp_path / "suppressions.json"
    path.write_text(json.dumps([{"rule": "kms-rotation", "resource": pattern, "reason": REASON}]))
    with pytest.raises(ValueError, match="is not per resource"):
        rules.load_suppressions(path)


def test_suppressions_of_unknown_rules_are_rejected() -> None:
    with pytest.raises(ValueError, match="names no rule"):
        rules.validate_suppression(rules.Suppression("kms-rotaton", "legacy-key", REASON))


def test_the_committed_suppressions_file_is_read() -> None:
    assert Path(rules.__file__).parent.parent / "suppressions.json" == rules.SUPPRESSIONS_FILE
    assert rules.SUPPRESSIONS_FILE.is_file()


def test_committed_suppressions_are_all_used(run_stack: Callable[..., offline.Recording]) -> None:
    stacks = [stack_of(run_stack("dev")), stack_of(run_stack("prod"))]
    for suppression in rules.load_suppressions():
        rule = next(r for r in rules.RULES if r.id == suppression.rule)
        matched = [
            res
            for stack in stacks
            for res in stack.resources
            if rules.suppressed(rule, res, [suppression])
        ]
        assert matched, f"stale suppression {suppression}"
