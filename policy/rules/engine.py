"""The rule engine: how rules read resources, how a rule is declared, and how one is run.

Each rule is `check(resource, stack) -> [message, ...]`: the resource under review (its Pulumi
type token, logical name and properties, camelCase as the engine sees them) and the whole stack
(for rules that need another resource, e.g. a bucket's encryption configuration). A service
module declares each rule with `@rule(id, *types, source=...)` right above its check: its id, the
resource types it examines, the published check or AWS guidance it implements and its
enforcement level; the first paragraph of the check's docstring says what the rule requires (its
description), the rest says why. A check that is only a list of requirements, each with its
message, returns the requirements it finds `unmet` (conditions: `is_true`, `is_set`).

Property values may be plain dicts and lists (the tests) or the policy engine's read-only
`Mapping` / `Sequence` proxies, which raise on reading a value that is unknown during preview.
Rules therefore test for `Mapping` and non-string `Sequence`, never for `dict` / `list`, and look
other resources up through `Stack.find`, which tells "no such resource" from "not known yet".

This module only needs the standard library: the pack runs it in its own virtualenv.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# ---- reading properties ------------------------------------------------------------------------


def is_sequence(value: Any) -> bool:
    """A list-like value: a list, a tuple or the engine's list proxy (never a string)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def as_list(value: Any) -> list[Any]:
    """A property that may hold one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if is_sequence(value) else [value]


def dig(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None as soon as a level is missing or not a mapping."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def decoded(value: Any) -> Any:
    """A JSON-encoded property decoded (None if it is not valid JSON); other values as they are."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]

    def get(self, *path: str) -> Any:
        return dig(self.props, *path)


@dataclass
class Stack:
    """Every resource of a stack, with the look-ups rules need.

    ``unknown_errors`` are what reading a value raises when the engine cannot know it yet
    (pulumi-policy's ``UnknownValueError`` in the pack; nothing offline).
    """

    resources: list[Resource]
    unknown_errors: tuple[type[Exception], ...] = ()
    # rule id -> that rule's configuration (the pack's policy config; empty: the defaults)
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _by_type: dict[str, list[Resource]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    def of_type(self, type_token: str) -> list[Resource]:
        return self._by_type.get(type_token, [])

    def config_of(self, rule_id: str) -> Mapping[str, Any]:
        """The configuration of rule ``rule_id`` (empty when none was given)."""
        return self.config.get(rule_id) or {}

    def find(
        self, type_tokens: str | Iterable[str], matches: Callable[[Resource], bool]
    ) -> list[Resource]:
        """Resources of the given types that ``matches`` accepts.

        A candidate whose relevant value is unknown is passed over when a known match exists
        (the references rules follow, names and ARNs, are unique). With no known match the
        unknown is raised again: the answer depends on a value preview cannot know.
        """
        tokens = [type_tokens] if isinstance(type_tokens, str) else list(type_tokens)
        found: list[Resource] = []
        unknown: Exception | None = None
        for token in tokens:
            for candidate in self.of_type(token):
                try:
                    if matches(candidate):
                        found.append(candidate)
                except self.unknown_errors as error:
                    unknown = unknown or error
        if not found and unknown is not None:
            raise unknown
        return found

    def known(self, read: Callable[[], Any]) -> Any:
        """``read()``, or None when it reads a value that is not known yet."""
        try:
            return read()
        except self.unknown_errors:
            return None

    def referencing(self, type_token: str, prop: str, value: Any) -> list[Resource]:
        """Resources of ``type_token`` whose ``prop`` equals ``value``."""
        if not isinstance(value, str) or not value:
            return []
        return self.find(type_token, lambda r: r.props.get(prop) == value)


# ---- declaring rules ---------------------------------------------------------------------------

Check = Callable[[Resource, Stack], list[str]]
# pulumi-policy's EnforcementLevel values (the pack maps them; this module imports no engine)
MANDATORY = "mandatory"
ADVISORY = "advisory"


@dataclass(frozen=True)
class Rule:
    id: str
    source: str  # where the rule comes from (checkov / cdk-nag id, or the AWS guidance)
    description: str
    types: tuple[str, ...]  # resource types it examines ("*" for every type)
    check: Check
    enforcement_level: str = MANDATORY
    # JSON-schema properties of the rule's configuration (None: the rule takes none)
    config_schema: Mapping[str, Any] | None = None

    def applies_to(self, type_token: str) -> bool:
        return "*" in self.types or type_token in self.types

    def __call__(self, resource: Resource, stack: Stack) -> list[str]:
        """The check itself: the rule's messages for ``resource``."""
        return self.check(resource, stack)


def _description(check: Check) -> str:
    """The first paragraph of ``check``'s docstring, on one line and without its full stop."""
    paragraph = (inspect.getdoc(check) or "").split("\n\n", 1)[0]
    return " ".join(paragraph.split()).removesuffix(".")


def rule(
    rule_id: str,
    *types: str,
    source: str,
    related: str = "",
    enforcement_level: str = MANDATORY,
    config: Mapping[str, Any] | None = None,
) -> Callable[[Check], Rule]:
    """Declares the check below it as a rule, with its metadata beside it: the rule id, the
    resource types it examines ("*" for every type) and where the rule comes from.

    What the rule requires (its description) is the first paragraph of the check's docstring:
    written once, where the check's reader looks first, with the why after it. The pack thus
    needs docstrings at run time (under ``python -OO`` declaring a rule raises).

    ``source`` names the check the rule implements; ``related`` a check that guards a
    neighbouring property (the closest published check), not this exact one, cited after the
    source as "related: ...". ``config`` declares the rule's settings (JSON-schema properties),
    which the check reads with `Stack.config_of`.
    """
    if enforcement_level not in (MANDATORY, ADVISORY):
        raise ValueError(f"{rule_id}: unknown enforcement level {enforcement_level!r}")
    if not types:
        raise ValueError(f"{rule_id}: examines no resource type")
    cited = f"{source}; related: {related}" if related else source

    def declare(check: Check) -> Rule:
        description = _description(check)
        if not description:
            raise ValueError(f"{rule_id}: the check's docstring must say what the rule requires")
        return Rule(rule_id, cited, description, types, check, enforcement_level, config)

    return declare


# A requirement: what a resource (in its stack) must meet, and the message when it does not.
# Most guardrails are "this property is on, that key is set": as data they read as the list of
# what a resource must have, and each message stands beside the property it guards.
Condition = Callable[[Resource, Stack], bool]
Requirement = tuple[Condition, str]


def unmet(resource: Resource, stack: Stack, requirements: Iterable[Requirement]) -> list[str]:
    """The messages of the requirements ``resource`` does not meet, in order."""
    return [message for meets, message in requirements if not meets(resource, stack)]


def is_true(*path: str) -> Condition:
    """The property at ``path`` is exactly True (a missing flag, or a truthy string, is not on)."""
    return lambda resource, _: resource.get(*path) is True


def is_set(*path: str) -> Condition:
    """The property at ``path`` has a value (neither missing nor empty)."""
    return lambda resource, _: bool(resource.get(*path))


# ---- running rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    rule: str
    resource: str  # one logical name, or "<prefix>-*" for the resources of one component
    reason: str


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str
    type: str
    message: str


def suppressed(
    rule: Rule, resource: Resource, suppressions: Iterable[Suppression]
) -> Suppression | None:
    return next(
        (
            s
            for s in suppressions
            if s.rule == rule.id and fnmatch.fnmatchcase(resource.name, s.resource)
        ),
        None,
    )


def in_scope(rule: Rule, resource: Resource, suppressions: Iterable[Suppression]) -> bool:
    """Whether ``rule`` examines ``resource``: its type, and not suppressed for it."""
    return rule.applies_to(resource.type) and suppressed(rule, resource, suppressions) is None


def check(rule: Rule, resource: Resource, stack: Stack) -> list[Violation]:
    """One rule on one resource (raises what reading an unknown value raises)."""
    return [
        Violation(rule.id, resource.name, resource.type, message)
        for message in rule.check(resource, stack)
    ]
