"""How rules read the policy engine's values: its read-only proxies, and values unknown during
preview (which skip only the checks that need them)."""

from __future__ import annotations

import pack
import rules
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from tests.policy.support import (
    alarm,
    analyze_stack,
    bucket,
    changed,
    fn,
    log_group,
    mandatory,
    queue,
    redrive,
    role,
    urn_of,
)


def test_rules_read_the_engines_proxies() -> None:
    """The engine hands rules Mapping/Sequence proxies, not dicts and lists (the original bug:
    `alarmActions: []` and a managed-policy list passed, and the bucket rule crashed)."""
    props = unknown_checking_proxy({"alarmActions": [], "rules": [{"a": 1}]})
    assert not isinstance(props["alarmActions"], list)
    assert rules.as_list(props["alarmActions"]) == []
    assert [dict(r) for r in rules.as_list(props["rules"])] == [{"a": 1}]
    assert rules.as_list("one") == ["one"]
    wrapped = [
        rules.Resource(r.type, r.name, unknown_checking_proxy(dict(r.props)))
        for r in [
            *bucket(),
            alarm(alarmActions=[]),
            role(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]),
        ]
    ]
    assert {v.rule for v in rules.evaluate(rules.Stack(wrapped), suppressions=[])} == {
        "alarm-actions",
        "iam-managed-policies",
    }


# ---- values unknown during preview -------------------------------------------------------------


def test_an_unknown_value_skips_only_the_checks_that_need_it() -> None:
    """One queue's key is unknown: that queue is reported as unchecked (advisory), the others
    are still checked, so a queue without a key still fails the preview."""
    unknown = queue("unknown", kmsMasterKeyId=UNKNOWN_STRING_VALUE, redrivePolicy=redrive("d"))
    plain = queue("plain", kmsMasterKeyId=None, redrivePolicy=redrive("d"))
    diagnostics = analyze_stack([unknown, plain, queue("d")])
    assert [(d.policy, d.urn) for d in mandatory(diagnostics)] == [
        ("trainops-sqs-kms", urn_of(plain))
    ]
    advisories = [d for d in diagnostics if d.advisory]
    assert [(d.policy, d.urn) for d in advisories] == [(pack.UNKNOWNS_POLICY, urn_of(unknown))]
    assert "trainops-sqs-kms not checked for unknown" in advisories[0].message
    assert ".kmsMasterKeyId can't be known during preview" in advisories[0].message
    assert not any("can't run policy" in d.message for d in diagnostics)


def test_an_unknown_in_a_looked_up_resource_skips_only_its_dependents() -> None:
    """Function f1's log group has an unknown key: f1's log check waits for `pulumi up`. A third
    log group's name is unknown too, but f2's own group is found by its known name, so f2's
    missing retention is still reported."""
    diagnostics = analyze_stack(
        [
            fn("f1"),
            log_group("f1", kmsKeyId=UNKNOWN_STRING_VALUE),
            fn("f2"),
            log_group("f2", retentionInDays=None),
            changed(log_group("f3"), name=UNKNOWN_STRING_VALUE),
        ]
    )
    assert [(d.policy, d.urn) for d in mandatory(diagnostics)] == [
        ("trainops-lambda-logs", urn_of(fn("f2")))
    ]
    assert "keeps logs forever" in mandatory(diagnostics)[0].message
    # f1's log check waits; so does the length of f3's log group name (the quota check)
    assert [(d.policy, d.urn) for d in diagnostics if d.advisory] == [
        (pack.UNKNOWNS_POLICY, urn_of(fn("f1"))),
        (pack.UNKNOWNS_POLICY, urn_of(changed(log_group("f3"), name=UNKNOWN_STRING_VALUE))),
    ]


def test_a_lookup_that_depends_on_an_unknown_is_not_a_violation() -> None:
    """Without a known match, an unknown candidate may be the match: no verdict, no violation."""
    diagnostics = analyze_stack([fn("f1"), changed(log_group("f1"), name=UNKNOWN_STRING_VALUE)])
    assert mandatory(diagnostics) == []
    # f1's log check, and the quota check of the log group's name
    assert [d.policy for d in diagnostics] == [pack.UNKNOWNS_POLICY, pack.UNKNOWNS_POLICY]
