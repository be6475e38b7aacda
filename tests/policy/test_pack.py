"""The pack: one CrossGuard policy per rule, at the rule's enforcement level, plus the advisory
policy that lists the checks preview could not run."""

from __future__ import annotations

import pack
import rules
from pulumi_policy import EnforcementLevel

from tests.policy.support import Diagnostic, analyze_stack, resource, urn_of


def test_the_pack_reports_through_crossguard() -> None:
    """The pack's policies, run by pulumi-policy's analyzer, report on the resource's URN."""
    key = resource("aws:kms/key:Key", "k", enableKeyRotation=False)
    assert analyze_stack([key]) == [
        Diagnostic(
            "trainops-kms-rotation",
            "KMS keys rotate [checkov CKV_AWS_7]\nk (aws:kms/key:Key): KMS key rotation is off",
            urn_of(key),
            advisory=False,
        )
    ]
    policies = pack.policies()
    assert [p.name for p in policies] == [
        *(f"trainops-{r.id}" for r in rules.RULES),
        pack.UNKNOWNS_POLICY,
    ]
    assert [p.enforcement_level for p in policies] == [EnforcementLevel.MANDATORY] * len(
        rules.RULES
    ) + [EnforcementLevel.ADVISORY]
