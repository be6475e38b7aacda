"""`trainops policy-config`: the policy pack's configuration for one stack, from its stack file.

The pack's `instance-types` rule holds the stack to `trainops:spendGuardrails.allowedInstanceTypes`;
the pack cannot read the stack's config itself, so `pulumi preview`/`up` get it as a policy-pack
config file (`--policy-pack-config`, or pulumi/actions' `policyPackConfigs`) written by this
command in the workflow, from the same Pulumi.<stack>.yaml the program reads.
"""

from __future__ import annotations

from typing import Any

from cli import offline
from components import config as config_module

INSTANCE_TYPES_POLICY = "trainops-instance-types"


def policy_config(stack: str) -> dict[str, Any]:
    """The pack's config for ``stack``: each configurable policy's properties."""
    settings = config_module.parse(offline.stack_config(stack))
    return {
        INSTANCE_TYPES_POLICY: {
            # stated, so the level cannot fall back to advisory when a config is given
            "enforcementLevel": "mandatory",
            "allowedInstanceTypes": list(settings.spend_guardrails.allowed_instance_types),
        }
    }
