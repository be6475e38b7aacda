"""KMS: keys rotate."""

from __future__ import annotations

from .engine import Resource, Rule, Stack, is_true, rule, unmet


@rule("kms-rotation", "aws:kms/key:Key", source="checkov CKV_AWS_7")
def kms_rotation(key: Resource, stack: Stack) -> list[str]:
    """KMS keys rotate.

    Automatic rotation limits how much data one key version protects; KMS keeps the old
    versions, so what they encrypted stays readable.
    """
    return unmet(key, stack, [(is_true("enableKeyRotation"), "KMS key rotation is off")])


RULES: tuple[Rule, ...] = (kms_rotation,)
