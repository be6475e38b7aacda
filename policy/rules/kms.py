"""KMS: keys rotate."""

from __future__ import annotations

from .engine import Resource, Rule, Stack, rule


@rule(
    "kms-rotation",
    description="KMS keys rotate",
    source="checkov CKV_AWS_7",
    types=("aws:kms/key:Key",),
)
def kms_rotation(resource: Resource, _: Stack) -> list[str]:
    if resource.props.get("enableKeyRotation") is not True:
        return ["KMS key rotation is off"]
    return []


RULES: tuple[Rule, ...] = (kms_rotation,)
