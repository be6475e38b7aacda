"""The trainops CrossGuard policy pack: `pulumi preview --policy-pack policy`.

Every rule in `rules/` is one mandatory stack validation policy that checks each resource on
its own (a value unknown during preview skips only the checks that need it; the advisory
`trainops-preview-unknowns` policy lists them), honouring `suppressions.json` exactly as the
offline tests do. See `pack.py`.
"""

import pack  # the pack runs with this folder on sys.path
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="trainops-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=pack.policies(),
)
