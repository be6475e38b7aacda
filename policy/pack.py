"""The CrossGuard policies built from `rules.RULES` (kept apart from `__main__.py`, which serves
the pack, so tests can call each policy's validate function with a collecting reporter)."""

from __future__ import annotations

import rules
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)


def stack_of(args: StackValidationArgs) -> rules.Stack:
    return rules.Stack(
        [rules.Resource(type=r.resource_type, name=r.name, props=r.props) for r in args.resources]
    )


def policy_for(rule: rules.Rule, suppressions: list[rules.Suppression]) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for violation in rules.evaluate(stack_of(args), [rule], suppressions):
            report_violation(f"{violation.resource} ({violation.type}): {violation.message}", None)

    return StackValidationPolicy(
        name=f"trainops-{rule.id}",
        description=f"{rule.description} [{rule.source}]",
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def policies() -> list[Policy]:
    suppressions = rules.load_suppressions()
    return [policy_for(rule, suppressions) for rule in rules.RULES]
