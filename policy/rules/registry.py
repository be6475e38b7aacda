"""The rule set, assembled from the service modules, and running it over a stack: suppressions
(validated against the rule set) and `evaluate`.

The order of `RULES` is the order of the pack's policies and of `evaluate`'s violations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from . import (
    cloudwatch,
    dynamodb,
    events,
    iam,
    kms,
    lambda_,
    s3,
    sagemaker,
    scheduler,
    service_quotas,
    sns,
    sqs,
)
from .engine import Rule, Stack, Suppression, Violation, check, in_scope

SERVICES = (
    sqs,
    sns,
    lambda_,
    events,
    scheduler,
    dynamodb,
    s3,
    kms,
    iam,
    cloudwatch,
    sagemaker,
    service_quotas,
)
RULES: tuple[Rule, ...] = tuple(rule for service in SERVICES for rule in service.RULES)
if len({rule.id for rule in RULES}) != len(RULES):
    raise ValueError(f"duplicate rule ids in {[rule.id for rule in RULES]}")


# ---- suppressions ------------------------------------------------------------------------------

SUPPRESSIONS_FILE = Path(__file__).parent.parent / "suppressions.json"
GLOB_CHARACTERS = frozenset("*?[]!")


def _pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` does not name one resource (or one component's resources), if it doesn't."""
    literal, star, rest = pattern.partition("*")
    if not literal or not literal[0].isalnum():
        return "must start with a resource's logical name"
    if rest or any(c in GLOB_CHARACTERS for c in literal):
        return "may only end in a single '*', after a literal name prefix"
    if star and (len(literal) < 3 or literal[-1] not in "-_./:"):
        return "may only put '*' after a whole name segment of 3+ characters, e.g. 'legacy-*'"
    return None


def validate_suppression(suppression: Suppression) -> None:
    """Suppressions are explicit (a known rule), per resource (no catch-all) and give a reason."""
    where = f"suppression of {suppression.rule} for {suppression.resource!r}"
    if suppression.rule not in {rule.id for rule in RULES}:
        raise ValueError(f"{where} names no rule of the pack")
    problem = _pattern_problem(suppression.resource)
    if problem:
        raise ValueError(f"{where} is not per resource: the pattern {problem}")
    if len(suppression.reason.strip()) < 20:
        raise ValueError(f"{where} needs a real reason")


def load_suppressions(path: Path = SUPPRESSIONS_FILE) -> list[Suppression]:
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    suppressions = [Suppression(**entry) for entry in entries]
    for suppression in suppressions:
        validate_suppression(suppression)
    return suppressions


# ---- evaluating --------------------------------------------------------------------------------


def evaluate(
    stack: Stack, rules: Iterable[Rule] = RULES, suppressions: Iterable[Suppression] | None = None
) -> list[Violation]:
    """Every unsuppressed violation in the stack."""
    active = list(load_suppressions() if suppressions is None else suppressions)
    return [
        violation
        for rule in rules
        for resource in stack.resources
        if in_scope(rule, resource, active)
        for violation in check(rule, resource, stack)
    ]
