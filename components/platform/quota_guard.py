"""The AWS quota check (`policy/quotas/`) as a Pulumi resource transform.

Registered by `__main__.py`, it sees every resource the program registers, in order, with its
properties as the engine will send them, and refuses one that AWS would refuse: each problem is
logged as an error on the resource's registration (resource, quota, value, limit, fix) and the
registration fails, so `pulumi preview` fails and `pulumi up` stops before AWS is asked.

A value that is not known during preview (an ARN of a resource not created yet inside a policy)
cannot be measured then; `pulumi up` measures it before creating the resource, and
`trainops plan` measures everything offline. Pulumi's mocks run no transforms, so the offline
harness applies the same `QuotaCheck` to its recording (`cli/offline.py`).
"""

from __future__ import annotations

import pulumi

from policy import quotas


def transform(check: quotas.QuotaCheck | None = None) -> pulumi.ResourceTransform:
    """A transform that measures each custom resource with ``check`` (a fresh one by default)."""
    state = check if check is not None else quotas.QuotaCheck()

    def guard(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom:
            return None
        problems = state.add(args.type_, args.name, args.props)
        if problems:
            for problem in problems:
                pulumi.log.error(problem.message())
            raise quotas.QuotaError(problems)
        return None

    return guard
