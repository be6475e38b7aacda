"""Measuring resources against the quotas the service modules declare: one resource on its own
(`measure`), and in registration order with the quotas that add up across resources
(`QuotaCheck`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import cloudwatch, events, iam, kms, lambda_, logs, s3, sagemaker, scheduler, sns, sqs, ssm
from .base import Measure, Measurement, Quota, Service, Shared, Sizes, as_text, measure_text, size

# Pulumi's default auto-name: the logical name, "-" and 7 random characters.
AUTONAME_SUFFIX = 8

SERVICES: tuple[Service, ...] = (
    iam.SERVICE,
    lambda_.SERVICE,
    events.SERVICE,
    scheduler.SERVICE,
    sqs.SERVICE,
    sns.SERVICE,
    s3.SERVICE,
    kms.SERVICE,
    sagemaker.SERVICE,
    cloudwatch.SERVICE,
    logs.SERVICE,
    ssm.SERVICE,
)

_V = TypeVar("_V")


def _merged(tables: Iterable[Mapping[str, _V]]) -> dict[str, _V]:
    """The services' tables as one (a resource type measured by two services is a mistake)."""
    merged: dict[str, _V] = {}
    for table in tables:
        for key, value in table.items():
            if key in merged:
                raise ValueError(f"{key} is declared by two quota services")
            merged[key] = value
    return merged


QUOTAS: dict[str, Quota] = _merged(
    {quota.id: quota for quota in service.quotas} for service in SERVICES
)
# Resource type -> (name property, quota).
NAMES: dict[str, tuple[str, str]] = _merged(service.names for service in SERVICES)
# Resource type -> (JSON text property, quota, how it is measured).
DOCUMENTS: dict[str, tuple[str, str, str]] = _merged(service.documents for service in SERVICES)
MEASURES: dict[str, Measure] = _merged(service.measures for service in SERVICES)
# Quotas that add up across resources: resource type -> the quota, the property that groups
# them (or None for the stack's whole count), and how a member counts.
SHARED: dict[str, Shared] = _merged(service.shared for service in SERVICES)
STACK = "this stack's"


def aws_name(resource_type: str, logical_name: str, props: Mapping[str, Any]) -> str | None:
    """The name AWS will see: the explicit one, or Pulumi's auto-name (None when unknown)."""
    key, _ = NAMES[resource_type]
    explicit = props.get(key)
    if explicit is not None:
        return as_text(explicit)
    name = logical_name + "-" + "x" * (AUTONAME_SUFFIX - 1)
    if resource_type == sqs.SQS_QUEUE and props.get("fifoQueue") is True:
        name += ".fifo"  # pulumi-aws adds the suffix FIFO queues must have
    return name


def measure(resource_type: str, name: str, props: Mapping[str, Any]) -> list[Measurement]:
    """What one resource, on its own, measures against each quota that applies to it."""
    sizes: Sizes = []
    if resource_type in NAMES:
        physical = aws_name(resource_type, name, props)
        if physical is not None:
            sizes.append((NAMES[resource_type][1], len(physical), f"name {physical!r}"))
    if resource_type in DOCUMENTS:
        key, quota, how = DOCUMENTS[resource_type]
        sizes += measure_text(props, quota, (key,), key, lambda text: size(text, how))
    if resource_type in MEASURES:
        sizes += MEASURES[resource_type](props)
    return [
        Measurement(name, resource_type, QUOTAS[quota], value, subject)
        for quota, value, subject in sizes
    ]


def _share(resource_type: str, props: Mapping[str, Any]) -> tuple[str, int] | None:
    """The group a resource's share counts towards, and its share (None when not known)."""
    shared = SHARED[resource_type]
    group = STACK if shared.key is None else as_text(props.get(shared.key))
    if group is None:
        return None
    share = shared.share(props)
    return None if share is None else (group, share)


@dataclass
class QuotaCheck:
    """Measures resources in the order they are registered, including the quotas that add up
    across resources: the inline policies of one role, the tasks of one maintenance window,
    the stack's roles and windows. `add` returns the problems this resource causes."""

    measurements: list[Measurement] = field(default_factory=list)
    # (resource type, group) -> member -> its share, in registration order
    _groups: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, resource_type: str, name: str, props: Mapping[str, Any]) -> list[Measurement]:
        own = measure(resource_type, name, props)
        self.measurements += own
        problems = [m for m in own if m.exceeded]
        share = _share(resource_type, props) if resource_type in SHARED else None
        if share is not None:
            group, amount = share
            members = self._groups.setdefault((resource_type, group), {})
            members[name] = amount
            total = self._total(resource_type, group, members)
            if total.exceeded:
                problems.append(total)
        return problems

    @staticmethod
    def _total(resource_type: str, group: str, members: Mapping[str, int]) -> Measurement:
        """A group's total, on its last registered member (the one that took it over)."""
        shared = SHARED[resource_type]
        return Measurement(
            list(members)[-1],
            resource_type,
            QUOTAS[shared.quota],
            sum(members.values()),
            shared.subject(group, members),
        )

    def aggregates(self) -> list[Measurement]:
        """The quotas that add up across resources, each at its current total."""
        return [
            self._total(resource_type, group, members)
            for (resource_type, group), members in self._groups.items()
        ]

    def all_measurements(self) -> list[Measurement]:
        return [*self.measurements, *self.aggregates()]

    def problems(self) -> list[Measurement]:
        return [m for m in self.all_measurements() if m.exceeded]


def check_all(resources: Iterable[tuple[str, str, Mapping[str, Any]]]) -> QuotaCheck:
    """Every (type, logical name, properties), in registration order."""
    check = QuotaCheck()
    for resource_type, name, props in resources:
        check.add(resource_type, name, props)
    return check
