"""Approval-driven deployment's rules, pure: the two event shapes (AWS's documented samples), the
names of a version's resources, the decision on an approval (a table of every branch) and how a
deployment in flight ends (the use case with fakes for its ports is tests/handlers/
test_deployer.py; the moto-backed end-to-end runs tests/e2e/test_approval_deployment.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trainops_runtime.catalog import (
    BlueGreen,
    CatalogEntry,
    DataCapture,
    DeploymentSpec,
    ModelCatalog,
)
from trainops_runtime.deployment import (
    COMPLETED,
    FAILED,
    ROLLED_BACK,
    STARTED,
    Approval,
    Busy,
    Deploy,
    DeploymentRecord,
    Duplicate,
    EndpointChange,
    EndpointView,
    Ignored,
    InFlight,
    InvalidEvent,
    PackageView,
    Refuse,
    Settlement,
    Sweep,
    decide,
    deferred,
    parse,
    resource_name,
    settle,
    settled,
    started,
    undeferred,
    version_of,
    waiting,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "events"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP = "trainops-dev--churn"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/trainops-dev--churn/{}"
PULUMI_CONFIG = "monitoring-churn-config-1a2b3c4"  # what Pulumi made from modelDataUrl
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

SPEC = DeploymentSpec(
    package_group=GROUP,
    endpoint_name=GROUP,
    variant_name="AllTraffic",
    instance_type="ml.m5.large",
    instance_count=1,
    execution_role_arn="arn:aws:iam::123456789012:role/trainops/dev/pipeline-churn-execution",
    volume_kms_key_arn=KEY,
    data_capture=DataCapture("s3://artifacts/data-capture/churn", 100, KEY),
    blue_green=BlueGreen("ALL_AT_ONCE", 10, 600, 300, 3600),
    rollback_alarms=("trainops-dev--churn--deploy-5xx", "trainops-dev--churn--deploy-latency"),
    tags=(("trainops:model", "churn"), ("trainops:stack", "dev")),
)


def entry(deployment: DeploymentSpec | None = None) -> CatalogEntry:
    return CatalogEntry(
        pipeline_name="trainops-dev--m",
        training_data="s3://data/m/",
        max_runtime_minutes=60,
        deployment=deployment,
    )


CATALOG = ModelCatalog({"churn": entry(SPEC), "fraud": entry()})


def sample(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def approved(version: int = 2, group: str = GROUP) -> dict[str, Any]:
    """AWS's documented package state change, approved, for ``version`` of ``group``."""
    event = sample("sagemaker_model_package_state_change_approved")
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"
    event["detail"].update(
        ModelPackageGroupName=group, ModelPackageVersion=version, ModelPackageArn=arn
    )
    event["resources"] = [arn]
    return event


def endpoint_changed(status: str = "IN_SERVICE") -> dict[str, Any]:
    event = sample("sagemaker_endpoint_state_change_in_service")
    event["detail"]["EndpointStatus"] = status
    return event


def approval(version: int = 2) -> Approval:
    return Approval(
        model="churn",
        package_group=GROUP,
        package_arn=ARN.format(version),
        version=version,
        at=datetime(2021, 3, 16, 9, 30, tzinfo=UTC),
    )


def endpoint(
    status: str = "InService",
    config: str | None = PULUMI_CONFIG,
    pending: str | None = None,
    reason: str | None = None,
) -> EndpointView:
    return EndpointView(GROUP, status, config, pending, reason)


def package(version: int = 2, approval_status: str = "Approved", status: str = "Completed"):
    return PackageView(ARN.format(version), approval_status, status)


def record(version: int = 2, status: str = STARTED, **changes: Any) -> DeploymentRecord:
    return replace(
        DeploymentRecord(
            model="churn",
            revision=1,
            package_arn=ARN.format(version),
            package_version=version,
            endpoint_config=f"{GROUP}-v{version}",
            previous_config=PULUMI_CONFIG,
            status=status,
            started_at="2026-11-22T11:00:00+00:00",
        ),
        **changes,
    )


# ---- the two event shapes -----------------------------------------------------------------------


def test_the_documented_approval_is_an_approval_of_its_model() -> None:
    assert parse(sample("sagemaker_model_package_state_change_approved"), CATALOG) == Approval(
        model="churn",
        package_group=GROUP,
        package_arn=ARN.format(2),
        version=2,
        at=datetime(2021, 3, 16, 9, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            sample("sagemaker_model_package_state_change_rejected"),
            "trainops-dev--churn v2 is Rejected, not Approved",
        ),
        (
            sample("sagemaker_model_package_state_change_pending"),
            "trainops-dev--churn v2 is PendingManualApproval, not Approved",
        ),
        (
            approved(group="trainops-dev--fraud"),  # fraud does not deploy on approval
            "trainops-dev--fraud is not the package group of a model deployed on approval",
        ),
        (
            approved(group="trainops-prod--churn"),  # another stack's group
            "trainops-prod--churn is not the package group of a model deployed on approval",
        ),
    ],
    ids=["rejected", "pending", "model-not-opted-in", "other-stack"],
)
def test_what_is_no_approval_of_a_deploying_model_is_ignored(
    event: dict[str, Any], reason: str
) -> None:
    parsed = parse(event, CATALOG)
    assert isinstance(parsed, Ignored)
    assert parsed.reason == reason


def test_the_documented_endpoint_state_change_names_its_model() -> None:
    assert parse(sample("sagemaker_endpoint_state_change_in_service"), CATALOG) == EndpointChange(
        model="churn", endpoint_name=GROUP, status="IN_SERVICE"
    )
    other = endpoint_changed()
    other["detail"]["EndpointName"] = "trainops-dev--fraud"
    assert parse(other, CATALOG) == Ignored(
        "trainops-dev--fraud is not the endpoint of a model deployed on approval"
    )


def test_the_documented_scheduled_event_is_the_sweep() -> None:
    assert parse(sample("eventbridge_scheduled_event"), CATALOG) == Sweep(
        at=datetime(2015, 10, 8, 16, 53, 6, tzinfo=UTC)
    )
    assert CATALOG.deploying == ["churn"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"detail": None}, "without a detail object"),
        ({"detail-type": "SageMaker Training Job State Change"}, "want 'SageMaker Model Package"),
        ({"source": "aws.events"}, "not a SageMaker event"),
        ({"detail": {"ModelPackageGroupName": GROUP}}, "detail.ModelPackageArn must be"),
        (
            {"detail": {"ModelPackageGroupName": GROUP, "ModelPackageArn": "a"}},
            "ModelPackageVersion must be a version number",
        ),
        ({"time": "yesterday"}, "event time 'yesterday' is not an ISO 8601 time"),
    ],
    ids=["no-detail", "other-type", "other-source", "no-arn", "no-version", "bad-time"],
)
def test_a_malformed_event_raises(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        parse({**approved(), **change}, CATALOG)


# ---- names ---------------------------------------------------------------------------------------


def test_a_versions_resources_are_named_after_the_group_and_the_version() -> None:
    assert resource_name(SPEC, 12) == "trainops-dev--churn-v12"
    assert version_of("trainops-dev--churn-v12", SPEC) == 12
    for other in (PULUMI_CONFIG, "trainops-dev--churn-eu-v3", "trainops-dev--churn-v", None):
        assert version_of(other, SPEC) is None
    long = replace(SPEC, package_group="trainops-" + "s" * 30 + "--" + "m" * 20)
    with pytest.raises(InvalidEvent, match="longer than SageMaker's 63 characters"):
        resource_name(long, 1234567)


# ---- the decision on an approval --------------------------------------------------------------


@pytest.mark.parametrize(
    ("package_view", "endpoint_view", "ledger", "expected"),
    [
        # the first approval replaces the config Pulumi made, or an older version
        (package(), endpoint(), None, Deploy("trainops-dev--churn-v2")),
        (package(), endpoint(config=f"{GROUP}-v1"), record(1, COMPLETED), Deploy(f"{GROUP}-v2")),
        # a newer version than the one rolled back is deployed
        (package(3), endpoint(config=f"{GROUP}-v1"), record(2, ROLLED_BACK), Deploy(f"{GROUP}-v3")),
        # seen before
        (package(), endpoint(config=f"{GROUP}-v2"), None, Duplicate(f"{GROUP}-v2", "serves")),
        (
            package(),
            endpoint("Updating", pending=f"{GROUP}-v2"),
            record(),
            Duplicate(f"{GROUP}-v2", "is updating to"),
        ),
        # refused
        (package(approval_status="Rejected"), endpoint(), None, Refuse("is Rejected now")),
        (package(status="InProgress"), endpoint(), None, Refuse("package is InProgress")),
        (package(), endpoint(config=f"{GROUP}-v3"), None, Refuse("older than v3")),
        (
            package(),
            endpoint("Updating", config=f"{GROUP}-v1", pending=f"{GROUP}-v5"),
            None,
            Refuse("older than v5"),
        ),
        (package(), endpoint(config=f"{GROUP}-v1"), record(2, ROLLED_BACK), Refuse("rolled back")),
        (package(), endpoint(config=f"{GROUP}-v1"), record(2, FAILED), Refuse("and failed")),
        (package(), endpoint("Failed", reason="no capacity"), None, Refuse("Failed: no capacity")),
        # busy: deferred until the endpoint settles
        (package(), endpoint("Updating", pending=f"{GROUP}-v1"), None, Busy("is Updating")),
        (package(), endpoint("SystemUpdating"), None, Busy("is SystemUpdating")),
    ],
)
def test_an_approval_is_decided_by_the_package_and_the_endpoint_now(
    package_view: PackageView,
    endpoint_view: EndpointView,
    ledger: DeploymentRecord | None,
    expected: Any,
) -> None:
    version = int(package_view.arn.rsplit("/", 1)[1])
    decision = decide(approval(version), package_view, endpoint_view, ledger, SPEC)
    assert type(decision) is type(expected)
    if isinstance(expected, Deploy):
        assert decision == expected
    elif isinstance(expected, Duplicate):
        assert isinstance(decision, Duplicate)
        assert decision.config_name == expected.config_name
        assert expected.detail in decision.detail
    else:
        assert isinstance(decision, Refuse | Busy)
        text = decision.reason if isinstance(decision, Refuse) else decision.detail
        assert (expected.reason if isinstance(expected, Refuse) else expected.detail) in text


# ---- how a deployment in flight ends ------------------------------------------------------------


def test_a_deployment_ends_as_the_endpoint_says() -> None:
    target = f"{GROUP}-v2"
    assert settle(None, endpoint()) is None
    assert settle(record(status=COMPLETED), endpoint(config=target)) is None
    assert isinstance(settle(record(), endpoint("Updating", pending=target)), InFlight)
    done = settle(record(), endpoint(config=target))
    assert isinstance(done, Settlement)
    assert (done.kind, done.serving) == ("completed", target)
    back = settle(record(), endpoint(config=PULUMI_CONFIG))
    assert isinstance(back, Settlement)
    assert (back.kind, back.serving) == ("rolled-back", PULUMI_CONFIG)
    assert "rolled the deployment back" in back.reason
    failed = settle(record(), endpoint("UpdateRollbackFailed", reason="mixed fleet"))
    assert isinstance(failed, Settlement)
    assert failed.kind == "failed"
    assert "UpdateRollbackFailed: mixed fleet" in failed.reason
    # an end whose alert did not go out yet is settled again, as a retry
    again = settle(record(status=ROLLED_BACK, alert_sent=False), endpoint())
    assert isinstance(again, Settlement)
    assert (again.kind, again.retry) == ("rolled-back", True)
    assert settle(record(status=ROLLED_BACK, alert_sent=True), endpoint()) is None


def test_a_settled_deployment_is_written_once() -> None:
    back = settle(record(), endpoint())
    assert isinstance(back, Settlement)
    after = settled(record(), back)
    assert after == record(revision=2, status=ROLLED_BACK, alert_sent=False)
    assert settled(record(), replace(back, retry=True)) is None
    done = settle(record(), endpoint(config=f"{GROUP}-v2"))
    assert isinstance(done, Settlement)
    assert settled(record(), done) == record(revision=2, status=COMPLETED)


# ---- an approval that waits for a busy endpoint ----------------------------------------------------


def test_a_deferred_approval_keeps_the_newest_version_and_is_read_back_as_approved() -> None:
    first = deferred(None, approval(3))
    assert first == DeploymentRecord(
        model="churn",
        revision=1,
        deferred_arn=ARN.format(3),
        deferred_version=3,
        deferred_at="2021-03-16T09:30:00+00:00",
    )
    assert deferred(first, approval(3)) is None  # a redelivery: waiting already
    assert deferred(first, approval(2)) is None  # an older one: v3 is decided first
    newer = deferred(first, approval(4))
    assert newer is not None
    assert (newer.revision, newer.deferred_version) == (2, 4)
    assert waiting(first, SPEC, NOW) == approval(3)
    assert waiting(record(), SPEC, NOW) is None
    # the ledger's deployment fields are kept while an approval waits
    in_flight = deferred(record(), approval(3))
    assert in_flight is not None
    assert (in_flight.status, in_flight.endpoint_config) == (STARTED, f"{GROUP}-v2")


def test_a_deferred_approval_is_forgotten_once_it_or_a_newer_version_is_decided() -> None:
    waits = deferred(record(status=COMPLETED), approval(3))
    assert waits is not None
    assert undeferred(waits, 2) is None  # an older version's decision leaves v3 waiting
    assert undeferred(waits, 3) == replace(
        waits, revision=3, deferred_arn=None, deferred_version=None, deferred_at=None
    )
    assert undeferred(record(), 3) is None
    begun = started(waits, approval(4), f"{GROUP}-v4", f"{GROUP}-v2", NOW)
    assert begun is not None
    assert (begun.package_version, begun.status, begun.revision) == (4, STARTED, 3)
    assert (begun.deferred_arn, begun.deferred_version, begun.deferred_at) == (None, None, None)
