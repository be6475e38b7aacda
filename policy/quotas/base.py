"""What the service modules declare with: a `Quota` (the limit and where AWS says so), how a
resource type is measured against it (`Service`, `Shared`), and the measure helpers.

A service module names, beside each quota, what measures it: the name property of a resource
type (``names``), the JSON text property (``documents``), a function over the properties
(``measures``), or the group whose members add up (``shared``). What recurs across services is
declared once here: a name's quota (`name_quota`), a service that only bounds a resource policy
(`resource_policy`), and measuring one text property (`measure_text`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SHORTER_NAME = "use a shorter stack, model or component name"
SCOPE_INSTEAD_OF_LISTING = (
    "scope statements by name prefix or tag instead of listing resources, or split the grant"
)


@dataclass(frozen=True)
class Quota:
    """One AWS limit: what it bounds, the limit, its unit, the usual fix and where AWS says so."""

    id: str
    what: str
    limit: int
    unit: str
    fix: str
    source: str

    @property
    def kind(self) -> str:
        """`name`, `count` (alarms, widgets, tasks, windows) or `document` (a size in
        characters or bytes: policies, patterns, environments, templates, queries)."""
        if self.id.endswith("-name"):
            return "name"
        if self.unit.startswith(("characters", "bytes")):
            return "document"
        return "count"


def name_quota(quota_id: str, what: str, limit: int, source: str) -> Quota:
    """A quota on a name's length: counted in characters, and met with shorter names."""
    return Quota(quota_id, what, limit, "characters", SHORTER_NAME, source)


@dataclass(frozen=True)
class Measurement:
    """One resource's value against one quota (``subject`` says what exactly was measured)."""

    resource: str
    type: str
    quota: Quota
    value: int
    subject: str = ""

    @property
    def exceeded(self) -> bool:
        return self.value > self.quota.limit

    @property
    def share(self) -> float:
        """The value as a fraction of the quota."""
        return self.value / self.quota.limit

    def problem(self) -> str:
        """The quota, the value, the limit and the fix (without the resource)."""
        quota = self.quota
        subject = f" ({self.subject})" if self.subject else ""
        return (
            f"{quota.what}{subject} is {self.value:,} {quota.unit}; AWS allows "
            f"{quota.limit:,}. Fix: {quota.fix}. [{quota.source}]"
        )

    def message(self) -> str:
        return f"{self.resource} ({self.type}): {self.problem()}"


class QuotaError(ValueError):
    """Resources AWS would refuse; ``problems`` holds one measurement per exceeded quota."""

    def __init__(self, problems: Sequence[Measurement]) -> None:
        self.problems = list(problems)
        super().__init__(
            "AWS would refuse these resources (service quotas):\n  "
            + "\n  ".join(problem.message() for problem in self.problems)
        )


# What a resource of one type measures beyond its name and JSON document: (quota, value,
# subject) for each value that is known.
Sizes = list[tuple[str, int, str]]
Measure = Callable[[Mapping[str, Any]], Sizes]


def _one(_: Mapping[str, Any]) -> int | None:
    return 1


@dataclass(frozen=True)
class Shared:
    """A quota that adds up across resources of one type."""

    quota: str
    key: str | None  # the property that groups them (None: the stack's whole count)
    # what the total measures, from the group and its members (for the message)
    subject: Callable[[str, Mapping[str, int]], str]
    # one resource's share (None when it is not known yet)
    share: Callable[[Mapping[str, Any]], int | None] = _one


@dataclass(frozen=True)
class Service:
    """One service's quotas, and how its resource types are measured against them."""

    quotas: tuple[Quota, ...]
    # resource type -> (name property, quota)
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # resource type -> (JSON text property, quota, how it is measured: iam, bytes, characters)
    documents: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    measures: Mapping[str, Measure] = field(default_factory=dict)
    shared: Mapping[str, Shared] = field(default_factory=dict)


def resource_policy(resource_type: str, quota: Quota) -> Service:
    """A service whose one quota bounds a resource policy: the ``policy`` JSON text of
    ``resource_type``, measured in bytes."""
    return Service(quotas=(quota,), documents={resource_type: ("policy", quota.id, "bytes")})


# ---- measuring ---------------------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def plain(value: Any) -> Any:
    """Engine proxies and other mappings/sequences as plain dicts and lists (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    return value


def iam_size(text: str) -> int:
    """IAM's measure: characters, not counting whitespace."""
    return len(re.sub(r"\s", "", text))


def byte_size(text: str) -> int:
    return len(text.encode("utf-8"))


def size(text: str, how: str) -> int:
    if how == "iam":
        return iam_size(text)
    if how == "bytes":
        return byte_size(text)
    return len(text)


def nested(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def items(value: Any) -> list[Any]:
    """A list-like value as a list (anything else as an empty one)."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def measure_text(
    props: Mapping[str, Any],
    quota: str,
    path: Sequence[str],
    subject: str,
    measure: Callable[[str], int] = len,
) -> Sizes:
    """The text at ``path`` measured against ``quota`` (its length, unless ``measure`` counts
    something else), or nothing when there is no text there or it is not known yet."""
    text = as_text(nested(props, *path))
    return [] if text is None else [(quota, measure(text), subject)]
