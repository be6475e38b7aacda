"""The CrossGuard policies built from `rules.RULES` (kept apart from `__main__.py`, which serves
the pack, so tests can run the policies through pulumi-policy's own analyzer).

Each rule is one stack policy, at the enforcement level it declares (all are mandatory today),
that checks every resource on its own: during preview a value that is not known yet
(pulumi-policy raises `UnknownValueError` on reading it) skips only the checks that depend on
it, and the advisory `trainops-preview-unknowns` policy lists those skipped checks. (Left to the
engine, one unknown value anywhere would turn the whole rule into a single advisory note.)
`pulumi up` runs the stack policies again once every value is known.
"""

from __future__ import annotations

from collections.abc import Iterator

import rules
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

UNKNOWNS_POLICY = "trainops-preview-unknowns"


def stack_of(args: StackValidationArgs, rule: rules.Rule | None = None) -> rules.Stack:
    """The stack as the rules see it (``resources[i]`` is ``args.resources[i]``), with the
    policy's configuration (`--policy-pack-config`) for a rule that takes one."""
    config = {rule.id: dict(args.get_config())} if rule and rule.config_schema else {}
    return rules.Stack(
        [rules.Resource(type=r.resource_type, name=r.name, props=r.props) for r in args.resources],
        unknown_errors=(UnknownValueError,),
        config=config,
    )


Result = list[rules.Violation] | UnknownValueError


def _checks(
    rule: rules.Rule, args: StackValidationArgs, suppressions: list[rules.Suppression]
) -> Iterator[tuple[str, rules.Resource, Result]]:
    """``rule`` on every resource it examines, with the resource's URN: its violations, or the
    unknown value that stopped the check."""
    stack = stack_of(args, rule)
    for policy_resource, resource in zip(args.resources, stack.resources, strict=True):
        if not rules.in_scope(rule, resource, suppressions):
            continue
        try:
            yield policy_resource.urn, resource, rules.check(rule, resource, stack)
        except UnknownValueError as unknown:
            yield policy_resource.urn, resource, unknown


def policy_for(rule: rules.Rule, suppressions: list[rules.Suppression]) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for urn, _, result in _checks(rule, args, suppressions):
            if isinstance(result, UnknownValueError):
                continue  # reported by the advisory policy
            for violation in result:
                report_violation(
                    f"{violation.resource} ({violation.type}): {violation.message}", urn
                )

    return StackValidationPolicy(
        name=f"trainops-{rule.id}",
        description=f"{rule.description} [{rule.source}]",
        validate=validate,
        enforcement_level=EnforcementLevel(rule.enforcement_level),
        config_schema=PolicyConfigSchema(properties=dict(rule.config_schema))
        if rule.config_schema
        else None,
    )


def unknowns_policy(suppressions: list[rules.Suppression]) -> StackValidationPolicy:
    """Advisory: the checks preview could not run because a value is not known yet."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for rule in rules.RULES:
            for urn, resource, result in _checks(rule, args, suppressions):
                if isinstance(result, UnknownValueError):
                    report_violation(
                        f"trainops-{rule.id} not checked for {resource.name} ({resource.type}): "
                        f"{result.message}; `pulumi up` checks it once the value is known",
                        urn,
                    )

    return StackValidationPolicy(
        name=UNKNOWNS_POLICY,
        description="Guardrail checks that preview could not run (values known only on update)",
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY,
    )


def policies() -> list[Policy]:
    suppressions = rules.load_suppressions()
    return [
        *(policy_for(rule, suppressions) for rule in rules.RULES),
        unknowns_policy(suppressions),
    ]
