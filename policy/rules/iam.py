"""IAM: no wildcard actions, Resource "*" only where AWS allows nothing else, no broad
AWS-managed policies, service trust scoped to this account.

The first two read every IAM-style document of any resource (policies, trust policies, a role's
inline policies, resource policies of queues, topics and buckets).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .common import statements
from .engine import Resource, Rule, Stack, as_list, dig, rule

# Actions AWS authorizes only on Resource "*" (no resource type in the Service Authorization
# Reference; tests/policy/test_iam.py checks each against parliament's copy of it).
STAR_ONLY_ACTIONS = frozenset(
    {
        "cloudwatch:PutMetricData",
        "dynamodb:ListStreams",
        "ecr:GetAuthorizationToken",
        "logs:DescribeLogGroups",
        "ssm:CancelCommand",
        "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
        "ssm:DescribeMaintenanceWindowExecutionTasks",
        "ssm:GetCommandInvocation",
        "ssm:ListCommandInvocations",
        "ssm:ListCommands",
        "tag:GetResources",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)
# Documents whose "Resource" means the resource itself (a key policy's "*" is "this key").
SELF_REFERENTIAL_POLICIES = frozenset({"aws:kms/key:Key"})
POLICY_PROPERTIES = ("policy", "assumeRolePolicy")
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "FullAccess", "IAMFullAccess")
SCOPING_CONDITION_KEYS = frozenset({"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"})
ROLE = "aws:iam/role:Role"


def _policy_documents(resource: Resource) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
    """Every IAM-style document of the resource: policy, trust policy, a role's inline policies."""
    for prop in POLICY_PROPERTIES:
        value = resource.props.get(prop)
        if isinstance(value, Mapping) or (isinstance(value, str) and value.strip().startswith("{")):
            yield prop, statements(value)
    for index, inline in enumerate(as_list(resource.props.get("inlinePolicies"))):
        document = dig(inline, "policy")
        if document:
            yield f"inlinePolicies[{index}]", statements(document)


def _allow_statements(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The Allow statements of every IAM-style document of the resource, with the property (or
    inline policy) each stands in."""
    for prop, found in _policy_documents(resource):
        for statement in found:
            if statement.get("Effect") == "Allow":
                yield prop, statement


def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def _is_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


@rule("iam-wildcard-actions", "*", source="cdk-nag AwsSolutions-IAM5")
def iam_no_wildcard_actions(resource: Resource, _: Stack) -> list[str]:
    """No Allow statement has a wildcard action.

    A wildcard grants every action the service has, and every one it adds later.
    """
    problems = []
    for prop, statement in _allow_statements(resource):
        wildcards = [a for a in _actions(statement) if _is_wildcard(a)]
        if wildcards:
            problems.append(f"{prop}: Allow with wildcard actions {wildcards}")
    return problems


@rule("iam-star-resource", "*", source="cdk-nag AwsSolutions-IAM5")
def iam_star_resource(resource: Resource, _: Stack) -> list[str]:
    """Resource "*" only for actions that allow nothing else.

    An action that can be scoped to a resource is scoped to this stack's, so a leaked credential
    reaches no further than the stack (a key policy's "*" is the key itself).
    """
    if resource.type in SELF_REFERENTIAL_POLICIES:
        return []
    problems = []
    for prop, statement in _allow_statements(resource):
        if "*" not in as_list(statement.get("Resource")):
            continue
        if "Principal" in statement and prop == "assumeRolePolicy":
            continue
        broad = sorted(set(_actions(statement)) - STAR_ONLY_ACTIONS)
        if broad:
            problems.append(
                f'{prop}: Resource "*" for {broad}, which support resource-level permissions'
            )
    return problems


@rule(
    "iam-managed-policies",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    ROLE,
    source="cdk-nag AwsSolutions-IAM4",
)
def iam_managed_policies(resource: Resource, _: Stack) -> list[str]:
    """No AWS-managed admin or FullAccess policies.

    They grant whole services on every resource of the account, and AWS widens them over time.
    """
    arns = as_list(resource.props.get("policyArn")) + as_list(
        resource.props.get("managedPolicyArns")
    )
    broad = [
        a
        for a in arns
        if isinstance(a, str)
        and ":iam::aws:policy/" in a
        and any(b in a for b in BROAD_MANAGED_POLICIES)
    ]
    return [f"AWS-managed broad policy attached: {arn}" for arn in broad]


@rule(
    "iam-trust-scoped", ROLE, source="AWS IAM user guide (cross-service confused deputy prevention)"
)
def iam_trust_scoped(resource: Resource, _: Stack) -> list[str]:
    """Service trust policies are scoped to this account.

    Without a source condition, the service may assume the role on behalf of another account's
    resources (the confused deputy).
    """
    problems = []
    for statement in statements(resource.props.get("assumeRolePolicy")):
        principal = statement.get("Principal")
        if (
            statement.get("Effect") != "Allow"
            or not isinstance(principal, Mapping)
            or "Service" not in principal
        ):
            continue
        condition = statement.get("Condition")
        keys = {
            key
            for operator in (condition.values() if isinstance(condition, Mapping) else ())
            if isinstance(operator, Mapping)
            for key in operator
        }
        if not keys & SCOPING_CONDITION_KEYS:
            problems.append(
                f"trust of {principal['Service']} has no aws:SourceAccount/SourceArn condition"
            )
    return problems


RULES: tuple[Rule, ...] = (
    iam_no_wildcard_actions,
    iam_star_resource,
    iam_managed_policies,
    iam_trust_scoped,
)
