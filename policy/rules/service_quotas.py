"""AWS service quotas (`policy/quotas/`, each quota cited beside its measure) as one rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .engine import Resource, Rule, Stack, rule

try:  # in the project: the module the program, the CLI and the tests use
    from policy import quotas
except ImportError:  # in the policy pack's own virtualenv, with the policy folder on sys.path
    import quotas  # type: ignore[no-redef]


def _same(key: str, value: Any) -> Callable[[Resource], bool]:
    return lambda other: other.props.get(key) == value


def _sharing(resource: Resource, stack: Stack) -> list[Resource]:
    """The resources whose quota adds up with this one's: the inline policies of its role, the
    tasks of its window, the stack's windows and roles (empty when it shares none)."""
    shared_by = {quotas.ROLE_POLICY: "role", quotas.WINDOW_TASK: "windowId"}
    if resource.type in (quotas.WINDOW, quotas.ROLE):
        return stack.of_type(resource.type)
    key = shared_by.get(resource.type)
    if key is None:
        return []
    value = resource.props.get(key)
    if not isinstance(value, str):
        return []
    return stack.find(resource.type, _same(key, value))


@rule("aws-quotas", "*", source="AWS service quotas and API limits (each cited in policy/quotas/)")
def aws_quotas(resource: Resource, stack: Stack) -> list[str]:
    """Every resource fits AWS's quotas: policy sizes, environments, patterns, names.

    Each quota the resource exceeds on its own, and the quotas that add up across resources
    (a role's inline policies, a window's tasks, the stack's windows and roles), reported once:
    on the last resource that contributes."""
    found = quotas.measure(resource.type, resource.name, resource.props)
    sharing = _sharing(resource, stack)
    if sharing and sharing[-1].name == resource.name:
        found += quotas.check_all((r.type, r.name, r.props) for r in sharing).aggregates()
    return [measurement.problem() for measurement in found if measurement.exceeded]


RULES: tuple[Rule, ...] = (aws_quotas,)
