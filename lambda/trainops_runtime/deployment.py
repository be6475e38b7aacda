"""Approval-driven deployment, the rules: what an approval or an endpoint's state change means.

A person approves version N of model M in its package group (`trainops-<stack>--M`). SageMaker
says so on the default bus ("SageMaker Model Package State Change", `ModelApprovalStatus`
`Approved`; `parse`), and what it does is decided from the package and the endpoint as they are
now (`decide`), not from the event alone:

* *deploy*: the endpoint is InService with an older version (or the config Pulumi made from
  `modelDataUrl`): a model and an endpoint config named `trainops-<stack>--M-vN`
  (`resource_name`) are created from the package, and the endpoint is updated to them,
  blue/green with automatic rollback on the endpoint's deployment alarms;
* *duplicate*: the endpoint already serves, or is updating to, `...-vN` (a redelivered event, a
  retry): nothing is created or updated again;
* *refuse*: the package is no longer approved, version N is older than the one the endpoint
  serves or deploys (trainops never replaces a newer version with an older one), N was rolled
  back before, or the endpoint is broken (Failed): recorded, counted, never deployed;
* *busy*: the endpoint is updating to something else (another version's deployment, or a
  change made by hand): the approval is *deferred*, remembered in the model's ledger item
  (`deferred`; a later approval replaces an earlier one, never a newer one), and decided again
  when the endpoint settles: on its next state change, or by the sweep that the deploy
  function's schedule runs every few minutes, whichever comes first. Waiting for an update that
  may bake for an hour is the deployment working, not failing, so it neither alarms nor spends
  Lambda's retries.

An approval of a package group no model deploys from is `Ignored` (counted, never an error).

The deployment ledger (one item per model, `DeploymentRecord`) remembers the deployment in flight:
which config it set and which one served before. SageMaker documents no event that tells a
rollback apart ("SageMaker Endpoint State Change" reports the status; after an automatic
rollback the endpoint is InService again with its previous config, and `FailureReason` is
documented only for Failed endpoints), so a rollback is read from DescribeEndpoint (`settle`): a
deployment in flight whose endpoint is InService with another config than the one it set was
rolled back; with the config it set, it completed; a Failed endpoint failed it.

Pure: the use case that reaches AWS through ports is `trainops_runtime.deployer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from trainops_runtime.catalog import DeploymentSpec, ModelCatalog

TRIGGER = "approval"
SOURCE = "aws.sagemaker"
PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
APPROVED = "Approved"
PACKAGE_COMPLETED = "Completed"
# The deploy function's schedule (EventBridge's documented "Scheduled Event"): the sweep that
# decides deferred approvals and settles deployments whose final state change was lost.
SCHEDULE_SOURCE = "aws.events"
SCHEDULED_EVENT = "Scheduled Event"
# SageMaker names (models, endpoint configs) are at most 63 characters.
MAX_NAME = 63
REQUEST_PREFIX = "approval:"
MAX_RACES = 5
# DescribeEndpoint's EndpointStatus values.
IN_SERVICE = "InService"
IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
BROKEN = frozenset({"Failed", "UpdateRollbackFailed", "OutOfService", "Deleting"})
# The ledger's states of a model's last deployment.
STARTED, COMPLETED, ROLLED_BACK, FAILED = "started", "completed", "rolledBack", "failed"

# The handler's metrics (EMF).
METRIC_STARTED = "DeploymentsStarted"
METRIC_COMPLETED = "DeploymentsCompleted"
METRIC_ROLLED_BACK = "DeploymentsRolledBack"
METRIC_FAILED = "DeploymentsFailed"
METRIC_REFUSED = "ApprovalsRefused"
METRIC_DEFERRED = "ApprovalsDeferred"
METRIC_IGNORED = "DeploymentEventsIgnored"


class InvalidEvent(ValueError):
    """Neither an approval nor an endpoint state change as AWS documents them: a deployment bug
    (the function is invoked asynchronously, so the event lands in its failure destination)."""


# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approval:
    """Version ``version`` of ``model``'s package group was approved."""

    model: str
    package_group: str
    package_arn: str
    version: int
    at: datetime  # when EventBridge saw the change


@dataclass(frozen=True)
class EndpointChange:
    """The endpoint serving ``model`` changed its state (which one: DescribeEndpoint tells)."""

    model: str
    endpoint_name: str
    status: str  # as the event writes it (`IN_SERVICE`, `UPDATING`, ...)


@dataclass(frozen=True)
class Sweep:
    """The deploy function's schedule fired: every deploying model's ledger item is looked at."""

    at: datetime


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that concerns no model deployed on approval, and why."""

    reason: str
    model: str | None = None


def _shown(value: Any) -> str:
    return repr(value)[:300]


def _text(detail: dict[str, Any], name: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise InvalidEvent(f"detail.{name} must be a non-empty string, got {_shown(value)}")
    return value


def _time(event: dict[str, Any]) -> datetime:
    text = event.get("time")
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(f"event time {_shown(text)} is not an ISO 8601 time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _approval(event: dict[str, Any], detail: dict[str, Any], catalog: ModelCatalog) -> Any:
    group = _text(detail, "ModelPackageGroupName")
    arn = _text(detail, "ModelPackageArn")
    version = detail.get("ModelPackageVersion")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidEvent(f"detail.ModelPackageVersion must be a version number, got {version!r}")
    status = detail.get("ModelApprovalStatus")
    model = catalog.by_package_group(group)
    if model is None:
        return Ignored(f"{group} is not the package group of a model deployed on approval")
    if status != APPROVED:
        return Ignored(f"{group} v{version} is {status}, not {APPROVED}", model=model)
    return Approval(
        model=model, package_group=group, package_arn=arn, version=version, at=_time(event)
    )


def parse(event: Any, catalog: ModelCatalog) -> Approval | EndpointChange | Sweep | Ignored:
    """What ``event`` is about; `InvalidEvent` for anything but the two SageMaker events and the
    function's schedule."""
    if (
        isinstance(event, dict)
        and event.get("source") == SCHEDULE_SOURCE
        and event.get("detail-type") == SCHEDULED_EVENT
    ):
        return Sweep(at=_time(event))
    if not isinstance(event, dict) or event.get("source") != SOURCE:
        raise InvalidEvent(f"not a SageMaker event: {_shown(event)}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent(f"SageMaker event without a detail object: {_shown(event)}")
    kind = event.get("detail-type")
    if kind == PACKAGE_STATE_CHANGE:
        return _approval(event, detail, catalog)
    if kind == ENDPOINT_STATE_CHANGE:
        name = _text(detail, "EndpointName")
        model = catalog.by_endpoint(name)
        if model is None:
            return Ignored(f"{name} is not the endpoint of a model deployed on approval")
        return EndpointChange(
            model=model, endpoint_name=name, status=_text(detail, "EndpointStatus")
        )
    raise InvalidEvent(f"want {PACKAGE_STATE_CHANGE!r} or {ENDPOINT_STATE_CHANGE!r}, got {kind!r}")


# ---- names ----------------------------------------------------------------------------------


def resource_name(spec: DeploymentSpec, version: int) -> str:
    """`<package group>-v<version>`: the model and the endpoint config of one version. Derived
    from the version alone, so a retry creates nothing new."""
    name = f"{spec.package_group}-v{version}"
    if len(name) > MAX_NAME:
        raise InvalidEvent(f"{name} is longer than SageMaker's {MAX_NAME} characters")
    return name


def version_of(config_name: str | None, spec: DeploymentSpec) -> int | None:
    """The version an endpoint config deploys, when trainops created it for this model."""
    match = re.fullmatch(re.escape(spec.package_group) + r"-v(\d+)", config_name or "")
    return int(match[1]) if match else None


def request_id(model: str, version: int) -> str:
    return f"{REQUEST_PREFIX}{model}:v{version}"


# ---- what AWS says --------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageView:
    """DescribeModelPackage, as far as the decision needs it."""

    arn: str
    approval_status: str | None
    status: str  # ModelPackageStatus


@dataclass(frozen=True)
class EndpointView:
    """DescribeEndpoint, as far as the decision needs it."""

    name: str
    status: str
    config_name: str | None
    pending_config_name: str | None = None  # PendingDeploymentSummary: the config it moves to
    failure_reason: str | None = None


@dataclass(frozen=True)
class DeploymentRecord:
    """One model's item in the deployment ledger: its last deployment (DynamoDB, key `model`)."""

    model: str
    revision: int = 0  # 0: no item yet
    package_arn: str | None = None
    package_version: int | None = None
    endpoint_config: str | None = None  # the config the deployment set
    previous_config: str | None = None  # what the endpoint served before
    status: str | None = None  # started | completed | rolledBack | failed
    started_at: str | None = None
    alert_sent: bool | None = None  # rolled back or failed: whether the alert went out
    # an approval that found the endpoint busy, decided again when the endpoint settles
    deferred_arn: str | None = None
    deferred_version: int | None = None
    deferred_at: str | None = None  # when it was approved


def deferred(record: DeploymentRecord | None, approval: Approval) -> DeploymentRecord | None:
    """The record once ``approval`` waits for the endpoint (None: it waits already, or a newer
    version does: that one is decided first, and this one would be refused as older then)."""
    base = record or DeploymentRecord(approval.model)
    if base.deferred_version is not None and base.deferred_version >= approval.version:
        return None
    return replace(
        base,
        revision=base.revision + 1,
        deferred_arn=approval.package_arn,
        deferred_version=approval.version,
        deferred_at=approval.at.astimezone(UTC).isoformat(),
    )


def waiting(
    record: DeploymentRecord | None, spec: DeploymentSpec, now: datetime
) -> Approval | None:
    """The approval deferred in ``record``, as it was approved (``now`` if the time is lost)."""
    if record is None or record.deferred_arn is None or record.deferred_version is None:
        return None
    return Approval(
        model=record.model,
        package_group=spec.package_group,
        package_arn=record.deferred_arn,
        version=record.deferred_version,
        at=datetime.fromisoformat(record.deferred_at) if record.deferred_at else now,
    )


def undeferred(record: DeploymentRecord | None, version: int) -> DeploymentRecord | None:
    """The record once the deferred approval of ``version`` (or an older one) was decided
    (None: nothing deferred up to ``version``, nothing to write)."""
    if record is None or record.deferred_version is None or record.deferred_version > version:
        return None
    return replace(
        record,
        revision=record.revision + 1,
        deferred_arn=None,
        deferred_version=None,
        deferred_at=None,
    )


# ---- decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deploy:
    config_name: str


@dataclass(frozen=True)
class Duplicate:
    config_name: str
    detail: str


@dataclass(frozen=True)
class Refuse:
    reason: str


@dataclass(frozen=True)
class Busy:
    detail: str


def decide(  # noqa: PLR0911 - one exit per rule
    approval: Approval,
    package: PackageView,
    endpoint: EndpointView,
    record: DeploymentRecord | None,
    spec: DeploymentSpec,
) -> Deploy | Duplicate | Refuse | Busy:
    """What the approval of ``approval.version`` does, given the package and the endpoint now."""
    version, name = approval.version, resource_name(spec, approval.version)
    if package.approval_status != APPROVED:
        return Refuse(
            f"v{version} is {package.approval_status or 'not approved'} now, not Approved"
        )
    if package.status != PACKAGE_COMPLETED:
        return Refuse(f"v{version}'s package is {package.status}, not {PACKAGE_COMPLETED}")
    if endpoint.config_name == name:
        return Duplicate(name, f"{endpoint.name} serves v{version}")
    if endpoint.pending_config_name == name:
        return Duplicate(name, f"{endpoint.name} is updating to v{version}")
    if record and record.package_version == version and record.status in (ROLLED_BACK, FAILED):
        ended = "rolled back" if record.status == ROLLED_BACK else "failed"
        return Refuse(
            f"v{version} was deployed and {ended}; a version is not deployed again "
            "automatically: approve a fixed version"
        )
    for config in (endpoint.config_name, endpoint.pending_config_name):
        newer = version_of(config, spec)
        if newer is not None and newer > version:
            return Refuse(
                f"v{version} is older than v{newer}, which {endpoint.name} serves or deploys; "
                "trainops never replaces a newer version with an older one"
            )
    if endpoint.status in BROKEN:
        reason = f": {endpoint.failure_reason}" if endpoint.failure_reason else ""
        return Refuse(f"{endpoint.name} is {endpoint.status}{reason}; it needs a person first")
    if endpoint.status != IN_SERVICE:
        return Busy(f"{endpoint.name} is {endpoint.status}")
    return Deploy(name)


@dataclass(frozen=True)
class Settlement:
    """How a deployment in flight ended."""

    kind: Literal["completed", "rolled-back", "failed"]
    record: DeploymentRecord  # as it was in flight
    serving: str | None  # the config the endpoint serves now
    reason: str
    retry: bool = False  # ended before; its alert may not have gone out


@dataclass(frozen=True)
class InFlight:
    detail: str


_ENDED = {"completed": COMPLETED, "rolled-back": ROLLED_BACK, "failed": FAILED}
METRICS_BY_END = {
    "completed": METRIC_COMPLETED,
    "rolled-back": METRIC_ROLLED_BACK,
    "failed": METRIC_FAILED,
}


def unsettled(record: DeploymentRecord) -> bool:
    """Whether ``record`` holds a deployment whose end is not recorded (or whose alert did not
    go out): only then does settling it need to ask DescribeEndpoint."""
    return record.status == STARTED or (
        record.status in (ROLLED_BACK, FAILED) and record.alert_sent is False
    )


def pending(record: DeploymentRecord) -> bool:
    """Whether the sweep has anything to do for ``record``: a deployment to settle, or an
    approval that waits."""
    return unsettled(record) or record.deferred_version is not None


def settle(  # noqa: PLR0911 - one exit per rule
    record: DeploymentRecord | None, endpoint: EndpointView
) -> Settlement | InFlight | None:
    """How the model's last deployment stands, from the endpoint now (None: nothing to settle)."""
    if record is None or record.status is None:
        return None
    target = record.endpoint_config
    if record.status in (ROLLED_BACK, FAILED) and record.alert_sent is False:
        kind: Literal["rolled-back", "failed"] = (
            "rolled-back" if record.status == ROLLED_BACK else "failed"
        )
        return Settlement(kind, record, endpoint.config_name, "ended before", retry=True)
    if record.status != STARTED:
        return None
    if endpoint.status in IN_PROGRESS:
        return InFlight(f"{endpoint.name} is {endpoint.status} (deploying {target})")
    if endpoint.status == IN_SERVICE and endpoint.config_name == target:
        return Settlement("completed", record, target, f"{endpoint.name} serves {target}")
    if endpoint.status == IN_SERVICE:
        return Settlement(
            "rolled-back",
            record,
            endpoint.config_name,
            f"{endpoint.name} serves {endpoint.config_name} again, not {target}: SageMaker "
            "rolled the deployment back (a deployment alarm fired, or the new fleet did not "
            "come up)",
        )
    reason = endpoint.failure_reason or "no failure reason given"
    return Settlement(
        "failed", record, endpoint.config_name, f"{endpoint.name} is {endpoint.status}: {reason}"
    )


def settled(record: DeploymentRecord, settlement: Settlement) -> DeploymentRecord | None:
    """The record once ``settlement`` is recorded (None: a retry, nothing to write)."""
    if settlement.retry:
        return None
    alerts = settlement.kind != "completed"
    return replace(
        record,
        revision=record.revision + 1,
        status=_ENDED[settlement.kind],
        alert_sent=False if alerts else None,
    )


def started(
    record: DeploymentRecord | None,
    approval: Approval,
    config_name: str,
    previous: str | None,
    now: datetime,
) -> DeploymentRecord | None:
    """The record of a deployment just started (None: the record has it already). A deferred
    approval of this version or an older one is decided by it."""
    base = record or DeploymentRecord(approval.model)
    if base.package_version == approval.version and base.status is not None:
        return None
    base = undeferred(base, approval.version) or base
    return replace(
        base,
        revision=(record.revision if record else 0) + 1,
        package_arn=approval.package_arn,
        package_version=approval.version,
        endpoint_config=config_name,
        previous_config=previous,
        status=STARTED,
        started_at=now.astimezone(UTC).isoformat(),
        alert_sent=None,
    )


def alert_text(model: str, settlement: Settlement) -> tuple[str, str]:
    """The critical alert of a rolled-back or failed deployment: subject and message."""
    record = settlement.record
    what = "rolled back" if settlement.kind == "rolled-back" else "failed"
    subject = f"trainops: deployment of {model} v{record.package_version} {what}"
    message = (
        f"The deployment of model {model} version {record.package_version} "
        f"({record.package_arn}) {what}.\n\n"
        f"{settlement.reason}.\n"
        f"Deployed config: {record.endpoint_config}; serving now: {settlement.serving}; "
        f"started {record.started_at}.\n\n"
        f"The endpoint keeps serving the previous version; this version is not deployed again "
        f"automatically. Check the deployment alarms and the new model's logs, then approve a "
        f"fixed version (runbook: docs/operations.md, approval-driven deployment)."
    )
    return subject, message
