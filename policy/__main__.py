"""The trainops CrossGuard policy pack: `pulumi preview --policy-pack policy`.

Every rule in `rules.py` is one mandatory stack validation policy over all resources of the
stack, honouring `suppressions.json` exactly as the offline tests do.
"""

import pack  # the pack runs with this folder on sys.path
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="trainops-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=pack.policies(),
)
