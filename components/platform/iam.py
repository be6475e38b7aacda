"""Small helpers that build least-privilege IAM policy documents as plain dicts.

Documents are dicts (serialised by `to_json`) rather than provider invokes such as
`aws.iam.get_policy_document`, so the program runs offline, fast, and under mocks.
Wildcard actions (`*`, `service:*`) are refused in Allow statements: least privilege is checked
where the statement is built, not only in review.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

VERSION = "2012-10-17"

Statement = dict[str, Any]


@dataclass(frozen=True)
class AwsContext:
    """Where the stack runs: what ARNs and service principals are built from."""

    account_id: str
    region: str
    partition: str = "aws"
    dns_suffix: str = "amazonaws.com"

    def arn(
        self, service: str, resource: str, *, region: str | None = None, account: str | None = None
    ) -> str:
        """An ARN in this account and region (pass ``region=""`` for global services)."""
        use_region = self.region if region is None else region
        use_account = self.account_id if account is None else account
        return f"arn:{self.partition}:{service}:{use_region}:{use_account}:{resource}"

    def service_principal(self, service: str) -> str:
        return f"{service}.{self.dns_suffix}"

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def on_behalf_of_this_account(self, source_arn: str | None = None) -> dict[str, Any]:
        """Confused-deputy conditions for a service principal: it acts for this account (and,
        with ``source_arn``, for the resources that pattern matches) and no other."""
        conditions: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": self.account_id}}
        if source_arn:
            conditions["ArnLike"] = {"aws:SourceArn": source_arn}
        return conditions


def _is_wildcard_action(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def allow(
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]] | pulumi.Input[str],
    *,
    sid: str | None = None,
    conditions: Mapping[str, Any] | None = None,
    principals: Mapping[str, Any] | None = None,
) -> Statement:
    """An Allow statement. Actions must be explicit (no `*`, no `service:*`)."""
    wildcards = [action for action in actions if _is_wildcard_action(action)]
    if wildcards:
        raise ValueError(f"wildcard actions are not allowed in Allow statements: {wildcards}")
    if not actions:
        raise ValueError("a statement needs at least one action")
    statement: Statement = {"Effect": "Allow", "Action": sorted(set(actions))}
    if sid:
        statement = {"Sid": sid, **statement}
    if principals is not None:
        statement["Principal"] = dict(principals)
    statement["Resource"] = list(resources) if isinstance(resources, (list, tuple)) else resources
    if conditions:
        statement["Condition"] = dict(conditions)
    return statement


def use_key(key_arn: pulumi.Input[str], *, sid: str = "StackKey") -> Statement:
    """Use of the stack's KMS key to read and write what it encrypts (queues, topics, tables,
    buckets, logs): `Decrypt` and `GenerateDataKey` on that key alone."""
    return allow(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn], sid=sid)


def deny_insecure_transport(
    service: str, resources: Sequence[pulumi.Input[str]], *, sid: str = "DenyInsecureTransport"
) -> Statement:
    """Deny every request that does not use TLS.

    The only place a `service:*` action appears in trainops: in a Deny, conditioned on
    `aws:SecureTransport = false`, where a wildcard is what makes the denial complete.
    """
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": f"{service}:*",
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def document(*statements: Statement) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


@dataclass(frozen=True)
class _Slot:
    """Where the ``index``-th Output of a document goes once it resolves."""

    index: int


def _template(value: Any, outputs: list[pulumi.Output[Any]]) -> Any:
    """A copy of ``value`` with each Output replaced by a `_Slot` (taken when `to_json` is
    called, so a document changed afterwards does not change what is serialised)."""
    if isinstance(value, pulumi.Output):
        outputs.append(value)
        return _Slot(len(outputs) - 1)
    if isinstance(value, Mapping):
        return {key: _template(item, outputs) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_template(item, outputs) for item in value]
    return value


def _filled(value: Any, values: Sequence[Any]) -> Any:
    if isinstance(value, _Slot):
        return values[value.index]
    if isinstance(value, dict):
        return {key: _filled(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    return value


def to_json(doc: Mapping[str, Any]) -> pulumi.Output[str]:
    """Serialises a document that may hold Outputs (ARNs of resources not yet created).

    One `Output.all` over the Outputs the document holds, rather than `Output.json_dumps`,
    which lifts every key and value into an Output of its own: with a few thousand documents
    (hundreds of models) that bookkeeping dominated the program's run time. Unknown and
    secret values behave as with `Output.all`.
    """
    outputs: list[pulumi.Output[Any]] = []
    template = _template(doc, outputs)
    if not outputs:
        return pulumi.Output.from_input(json.dumps(template))
    return pulumi.Output.all(*outputs).apply(lambda values: json.dumps(_filled(template, values)))


def service_trust_policy(
    service_principal: str, ctx: AwsContext, *, source_arn: str | None = None
) -> dict[str, Any]:
    """Trust policy for one AWS service, scoped to this account (confused-deputy protection)."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service_principal},
            "Action": "sts:AssumeRole",
            "Condition": ctx.on_behalf_of_this_account(source_arn),
        }
    )


def s3_object_arn(ctx: AwsContext, bucket: str, key_prefix: str = "") -> str:
    return f"arn:{ctx.partition}:s3:::{bucket}/{key_prefix}*"


def s3_bucket_arn(ctx: AwsContext, bucket: str) -> str:
    return f"arn:{ctx.partition}:s3:::{bucket}"


def wildcard_allow_actions(doc: Mapping[str, Any]) -> list[str]:
    """Every wildcard action in the document's Allow statements (for tests and policy checks)."""
    found: list[str] = []
    for statement in doc.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if _is_wildcard_action(action):
                found.append(action)
    return found
