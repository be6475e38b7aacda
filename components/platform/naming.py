"""Physical names for the few resources AWS (or trainops) needs to know in advance.

Most resources use Pulumi's auto-naming. A handful need a predictable name: a Lambda function
(its log group is `/aws/lambda/<name>`), a SageMaker pipeline (handlers address it by name) and a
model package group. Those are `trainops-<stack>-<part>...`, with the stack name folded into
the characters SageMaker and Lambda accept.

Resources that exist once per model are `trainops-<stack>--<model>...`: the double hyphen ends
the stack part (a stack slug never contains one), so `trainops-<stack>--` is a prefix that
names exactly this stack's models. Shared documents (IAM policies, event patterns) match that
prefix instead of listing every model, and a stack `dev` never matches `dev-2`'s pipelines.
"""

from __future__ import annotations

import re

import pulumi

PREFIX = "trainops"


def stack_slug(stack: str | None = None) -> str:
    """The stack name in lowercase letters, digits and single hyphens."""
    raw = (stack if stack is not None else pulumi.get_stack()).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", raw).strip("-")
    if not slug:
        raise ValueError(f"stack name {raw!r} has no letters or digits to build names from")
    return slug


def physical_name(*parts: str, max_length: int = 63, stack: str | None = None) -> str:
    """``trainops-<stack>-<parts>``; fails (at preview) when it would exceed ``max_length``."""
    name = "-".join([PREFIX, stack_slug(stack), *parts])
    if len(name) > max_length:
        raise ValueError(
            f"name {name!r} is {len(name)} characters; the limit here is {max_length}. "
            "Use a shorter stack or model name."
        )
    return name


MODEL_SEPARATOR = "--"


def model_prefix(stack: str | None = None) -> str:
    """``trainops-<stack>--``: the start of every per-model name of this stack (lowercase, as
    SageMaker writes names inside ARNs and events)."""
    return f"{PREFIX}-{stack_slug(stack)}{MODEL_SEPARATOR}"


def model_name(model: str, *parts: str, max_length: int = 63, stack: str | None = None) -> str:
    """``trainops-<stack>--<model>[-<parts>]``; fails (at preview) beyond ``max_length``."""
    name = "-".join([model_prefix(stack) + model, *parts])
    if len(name) > max_length:
        raise ValueError(
            f"name {name!r} is {len(name)} characters; the limit here is {max_length}. "
            f"Use a shorter stack name or model name (trainops:models.{model})."
        )
    return name


def role_path(stack: str | None = None) -> str:
    """``/trainops/<stack>/``: the IAM path of the stack's per-model roles. IAM puts it into
    each role's ARN, so a grant (a deployer's iam:PassRole, say) can name all of the stack's
    model roles as ``role/trainops/<stack>/*`` instead of listing them."""
    return f"/{PREFIX}/{stack_slug(stack)}/"
