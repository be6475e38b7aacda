"""KMS: keys rotate."""

from __future__ import annotations

from .engine import Rule, is_true, requirements_rule

kms_rotation = requirements_rule(
    "kms-rotation",
    description="KMS keys rotate",
    source="checkov CKV_AWS_7",
    types=("aws:kms/key:Key",),
    requires=[(is_true("enableKeyRotation"), "KMS key rotation is off")],
)

RULES: tuple[Rule, ...] = (kms_rotation,)
