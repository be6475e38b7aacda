"""Approval-driven deployment's use case with fakes for its ports: what one event's run deploys,
records, publishes and alerts, and what the event store and read model make of it (the rules are
tests/handlers/test_deployment.py; the moto-backed end-to-end runs
tests/e2e/test_approval_deployment.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.handlers.test_deployment import (
    ARN,
    CATALOG,
    GROUP,
    KEY,
    NOW,
    PULUMI_CONFIG,
    SPEC,
    approved,
    endpoint,
    endpoint_changed,
    package,
    sample,
)
from trainops_runtime import domain_events as events
from trainops_runtime import projection, recording
from trainops_runtime.catalog import DeploymentSpec, ModelCatalog
from trainops_runtime.deployer import ApprovalDeployer, DeploymentPorts
from trainops_runtime.deployment import (
    COMPLETED,
    ROLLED_BACK,
    STARTED,
    DeploymentRecord,
    EndpointView,
    PackageView,
)
from trainops_runtime.errors import RetryableError
from trainops_runtime.outcomes import DeploymentOutcome

# ---- one event's run, with fakes ---------------------------------------------------------------


@dataclass
class World:
    """The fakes behind the ports: SageMaker's packages and endpoint (an update moves the
    endpoint to Updating towards the config), the ledger, the critical topic, the bus."""

    packages: dict[str, PackageView] = field(
        default_factory=lambda: {ARN.format(v): package(v) for v in range(1, 6)}
    )
    endpoint: EndpointView = field(default_factory=endpoint)
    items: dict[str, DeploymentRecord] = field(default_factory=dict)
    deployed: list[tuple[str, str]] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    published: list[events.DomainEvent] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)
    deploy_fails: bool = False
    publish_fails: bool = False
    alert_fails: bool = False
    described: int = 0  # DescribeEndpoint calls
    reads: list[str] = field(default_factory=list)  # the ledger's items read, by model

    def read(self, model: str) -> DeploymentRecord | None:
        self.reads.append(model)
        return self.items.get(model)

    def describe_endpoint(self, name: str) -> EndpointView:
        assert name == SPEC.endpoint_name
        self.described += 1
        return self.endpoint

    def deploy(self, spec: DeploymentSpec, package_arn: str, name: str) -> None:
        if self.deploy_fails:
            raise RuntimeError("ValidationException: the role cannot be assumed")
        self.deployed.append((package_arn, name))
        self.endpoint = replace(self.endpoint, status="Updating", pending_config_name=name)

    def finish(self, *, rolled_back: bool = False) -> None:
        """SageMaker ends the update: the new config serves, or the old one again."""
        config = self.endpoint.config_name if rolled_back else self.endpoint.pending_config_name
        self.endpoint = endpoint(config=config)

    def save(self, new: DeploymentRecord, expected_revision: int) -> bool:
        current = self.items.get(new.model)
        if (current.revision if current else 0) != expected_revision:
            return False
        self.items[new.model] = new
        return True

    def alert(self, subject: str, message: str) -> str:
        if self.alert_fails:
            raise RuntimeError("SNS unavailable")
        self.alerts.append((subject, message))
        return "alert-id"

    def publish(self, *published: events.DomainEvent) -> None:
        if self.publish_fails:
            raise RuntimeError("EventBridge unavailable")
        self.published.extend(published)

    def info(self, msg: str, *, extra: Any) -> None:
        self.logged.append(msg)

    warning = info

    def run(self, event: Any) -> dict[str, Any]:
        ports = DeploymentPorts(
            describe_package=self.packages.__getitem__,
            describe_endpoint=self.describe_endpoint,
            deploy=self.deploy,
            read=self.read,
            save=self.save,
            alert=self.alert,
            publish=self.publish,
            count=self.counted.append,
            log=self,
        )
        return ApprovalDeployer(CATALOG, ports).run(event, now=NOW)

    def kinds(self) -> list[tuple[str, str | None]]:
        """(type, data.status or decision) of every event published."""
        return [(e.type, e.data.get("status") or e.data.get("decision")) for e in self.published]


def test_an_approval_deploys_once_and_its_redelivery_changes_nothing() -> None:
    world = World()
    first = world.run(approved())
    assert first == {
        "status": DeploymentOutcome.STARTED,
        "endpointConfig": "trainops-dev--churn-v2",
        "model": "churn",
        "packageVersion": 2,
        "requestId": "approval:churn:v2",
    }
    assert world.deployed == [(ARN.format(2), "trainops-dev--churn-v2")]
    assert world.items["churn"] == DeploymentRecord(
        model="churn",
        revision=1,
        package_arn=ARN.format(2),
        package_version=2,
        endpoint_config="trainops-dev--churn-v2",
        previous_config=PULUMI_CONFIG,
        status=STARTED,
        started_at=NOW.isoformat(),
    )
    assert world.kinds() == [("ModelApproved", "deploy"), ("ModelDeployed", "started")]
    started = world.published[1]
    assert started.data["previousConfig"] == PULUMI_CONFIG
    assert started.data["trafficRouting"] == "ALL_AT_ONCE"
    assert {e.trigger for e in world.published} == {"approval"}
    assert world.counted == ["DeploymentsStarted"]
    again = world.run(approved())
    assert again["status"] == DeploymentOutcome.DUPLICATE
    assert world.deployed == [(ARN.format(2), "trainops-dev--churn-v2")]  # no second update
    # the same facts again (the store keeps each once)
    assert [e.event_id for e in world.published[2:]] == [e.event_id for e in world.published[:2]]
    assert world.counted == ["DeploymentsStarted"]


def test_the_endpoint_coming_back_with_the_version_completes_the_deployment() -> None:
    world = World()
    world.run(approved())
    assert world.run(endpoint_changed("UPDATING"))["status"] == DeploymentOutcome.IN_PROGRESS
    world.finish()
    done = world.run(endpoint_changed())
    assert done["status"] == DeploymentOutcome.COMPLETED
    assert done["serving"] == "trainops-dev--churn-v2"
    assert world.items["churn"].status == COMPLETED
    assert world.kinds()[-1] == ("ModelDeployed", "completed")
    assert world.alerts == []
    # its state change delivered again, and the next ones: nothing in flight
    assert world.run(endpoint_changed())["status"] == DeploymentOutcome.IGNORED
    assert world.counted == [
        "DeploymentsStarted",
        "DeploymentsCompleted",
        "DeploymentEventsIgnored",
    ]
    # an approval of the serving version again is a duplicate
    assert world.run(approved())["status"] == DeploymentOutcome.DUPLICATE
    assert len(world.deployed) == 1


def test_a_rollback_is_recorded_and_alerts_once() -> None:
    world = World()
    world.run(approved())
    world.finish(rolled_back=True)
    result = world.run(endpoint_changed())
    assert result["status"] == DeploymentOutcome.ROLLED_BACK
    assert result["serving"] == PULUMI_CONFIG
    (rolled_back,) = [e for e in world.published if e.type == events.DEPLOYMENT_ROLLED_BACK]
    assert rolled_back.request_id == "approval:churn:v2"
    assert rolled_back.data["servingConfig"] == PULUMI_CONFIG
    assert rolled_back.data["endpointConfig"] == "trainops-dev--churn-v2"
    ((subject, message),) = world.alerts
    assert subject == "trainops: deployment of churn v2 rolled back"
    assert f"serving now: {PULUMI_CONFIG}" in message
    assert world.items["churn"].status == ROLLED_BACK
    assert world.items["churn"].alert_sent is True
    # delivered again: nothing more
    assert world.run(endpoint_changed())["status"] == DeploymentOutcome.IGNORED
    assert len(world.alerts) == 1
    # the rolled-back version approved again is refused; a newer one deploys
    refused = world.run(approved())
    assert refused["status"] == DeploymentOutcome.REFUSED
    assert "rolled back" in refused["reason"]
    assert world.run(approved(3))["status"] == DeploymentOutcome.STARTED
    assert world.deployed[-1] == (ARN.format(3), "trainops-dev--churn-v3")
    assert world.items["churn"].previous_config == PULUMI_CONFIG


def test_an_alert_that_failed_goes_out_on_the_retry() -> None:
    world = World()
    world.run(approved())
    world.finish(rolled_back=True)
    world.alert_fails = True
    with pytest.raises(RuntimeError, match="SNS unavailable"):
        world.run(endpoint_changed())
    assert world.items["churn"].alert_sent is False
    world.alert_fails = False
    assert world.run(endpoint_changed())["status"] == DeploymentOutcome.ROLLED_BACK
    assert len(world.alerts) == 1
    assert world.counted.count("DeploymentsRolledBack") == 1
    rolled_back = [e for e in world.published if e.type == events.DEPLOYMENT_ROLLED_BACK]
    assert len({e.event_id for e in rolled_back}) == 1  # the same fact, sent again


def test_a_failed_endpoint_fails_the_deployment_with_an_alert() -> None:
    world = World()
    world.run(approved())
    world.endpoint = endpoint("UpdateRollbackFailed", reason="the old fleet did not come back")
    assert world.run(endpoint_changed("FAILED"))["status"] == DeploymentOutcome.FAILED
    assert world.kinds()[-1] == ("ModelDeployed", "failed")
    assert world.published[-1].reason is not None
    assert "the old fleet did not come back" in world.published[-1].reason
    ((subject, _),) = world.alerts
    assert subject == "trainops: deployment of churn v2 failed"


def test_an_update_that_failed_records_nothing_so_no_rollback_is_reported() -> None:
    world = World(deploy_fails=True)
    with pytest.raises(RuntimeError, match="ValidationException"):
        world.run(approved())
    assert world.items == {}
    assert world.published == []
    assert world.run(endpoint_changed())["status"] == DeploymentOutcome.IGNORED
    assert world.alerts == []


def test_a_publish_that_failed_after_the_update_is_sent_again_without_a_second_update() -> None:
    world = World(publish_fails=True)
    with pytest.raises(RuntimeError, match="EventBridge unavailable"):
        world.run(approved())
    assert len(world.deployed) == 1
    assert world.items["churn"].status == STARTED  # recorded before the events
    world.publish_fails = False
    assert world.run(approved())["status"] == DeploymentOutcome.DUPLICATE
    assert len(world.deployed) == 1
    assert world.kinds() == [("ModelApproved", "deploy"), ("ModelDeployed", "started")]


BY_HAND = "monitoring-churn-config-9z9z9z9"  # an update trainops did not make


def test_a_busy_endpoint_defers_the_approval_until_it_settles() -> None:
    world = World(endpoint=endpoint("Updating", pending=BY_HAND))
    waits = world.run(approved(3))
    assert waits["status"] == DeploymentOutcome.DEFERRED
    assert "is Updating" in waits["detail"]
    assert (world.deployed, world.published) == ([], [])  # decided when it is deployed
    assert world.items["churn"] == DeploymentRecord(
        model="churn",
        revision=1,
        deferred_arn=ARN.format(3),
        deferred_version=3,
        deferred_at="2021-03-16T09:30:00+00:00",
    )
    assert world.run(approved(3))["status"] == DeploymentOutcome.DEFERRED  # redelivered
    assert world.counted == ["ApprovalsDeferred"]
    # still updating: the deferral waits
    assert world.run(endpoint_changed("UPDATING"))["status"] == DeploymentOutcome.DEFERRED
    assert world.deployed == []
    world.finish()
    deployed = world.run(endpoint_changed())
    assert deployed["status"] == DeploymentOutcome.STARTED
    assert deployed["packageVersion"] == 3
    assert world.deployed == [(ARN.format(3), "trainops-dev--churn-v3")]
    record = world.items["churn"]
    assert (record.status, record.package_version, record.previous_config) == (
        STARTED,
        3,
        BY_HAND,
    )
    assert (record.deferred_arn, record.deferred_version, record.deferred_at) == (None, None, None)
    assert world.kinds() == [("ModelApproved", "deploy"), ("ModelDeployed", "started")]
    assert world.published[0].occurred_at == datetime(2021, 3, 16, 9, 30, tzinfo=UTC)  # approved


def test_an_approval_waiting_behind_a_deployment_follows_it_and_the_newest_wins() -> None:
    world = World()
    world.run(approved(2))
    assert world.run(approved(3))["status"] == DeploymentOutcome.DEFERRED
    assert world.run(approved(4))["status"] == DeploymentOutcome.DEFERRED
    assert world.items["churn"].deferred_version == 4
    world.finish()
    result = world.run(endpoint_changed())
    assert result["status"] == DeploymentOutcome.COMPLETED  # v2 first
    assert result["deferredApproval"]["status"] == DeploymentOutcome.STARTED
    assert result["deferredApproval"]["packageVersion"] == 4
    assert [name for _, name in world.deployed] == [
        "trainops-dev--churn-v2",
        "trainops-dev--churn-v4",
    ]
    assert world.kinds()[-3:] == [
        ("ModelDeployed", "completed"),
        ("ModelApproved", "deploy"),
        ("ModelDeployed", "started"),
    ]
    assert world.items["churn"].previous_config == "trainops-dev--churn-v2"
    # v3, approved again later, is older than v4: refused, never deployed
    assert world.run(approved(3))["status"] == DeploymentOutcome.REFUSED


def test_a_deferred_approval_withdrawn_meanwhile_is_refused_and_forgotten() -> None:
    world = World(endpoint=endpoint("Updating", pending=BY_HAND))
    world.run(approved(3))
    world.packages[ARN.format(3)] = package(3, approval_status="Rejected")
    world.finish()
    refused = world.run(endpoint_changed())
    assert refused["status"] == DeploymentOutcome.REFUSED
    assert "is Rejected now" in refused["reason"]
    assert world.deployed == []
    assert world.items["churn"].deferred_version is None
    assert world.kinds() == [("ModelApproved", "refused")]
    assert world.run(endpoint_changed())["status"] == DeploymentOutcome.IGNORED


def test_the_sweep_settles_what_ended_unseen_and_deploys_what_waited() -> None:
    world = World()
    world.run(approved(2))
    world.run(approved(3))  # deferred behind v2
    world.finish()  # v2's final state change is lost
    swept = world.run(sample("eventbridge_scheduled_event"))
    assert swept["status"] == DeploymentOutcome.SWEPT
    assert swept["models"] == 1
    churn = swept["acted"]["churn"]
    assert (churn["status"], churn["deferredApproval"]["packageVersion"]) == (
        DeploymentOutcome.COMPLETED,
        3,
    )
    assert world.deployed[-1] == (ARN.format(3), "trainops-dev--churn-v3")
    # v3 is deploying: the next sweep has nothing to do
    assert world.run(sample("eventbridge_scheduled_event"))["acted"] == {}
    world.finish()
    assert world.run(sample("eventbridge_scheduled_event"))["acted"]["churn"]["status"] == (
        DeploymentOutcome.COMPLETED
    )
    assert world.kinds().count(("ModelDeployed", "completed")) == 2
    assert len(world.deployed) == 2


def test_the_sweep_asks_sagemaker_only_about_what_is_in_flight_or_waits() -> None:
    """500 models swept every 10 minutes: a settled model costs one ledger read, no
    DescribeEndpoint (whose request rate SageMaker limits)."""
    world = World()
    world.run(approved())
    world.finish()
    world.run(endpoint_changed())
    world.described = 0
    world.reads.clear()
    assert world.run(sample("eventbridge_scheduled_event"))["acted"] == {}
    assert (world.described, world.reads) == (0, ["churn"])
    world.run(approved(3))  # in flight: the sweep looks
    world.described = 0
    world.run(sample("eventbridge_scheduled_event"))
    assert world.described == 1


def test_a_sweep_that_failed_keeps_the_deferral_and_fails_for_lambda_to_retry() -> None:
    world = World(endpoint=endpoint("Updating", pending=BY_HAND))
    world.run(approved(3))
    world.finish()
    world.deploy_fails = True
    with pytest.raises(
        RetryableError, match=r"failed for 1 model\(s\).*churn.*ValidationException"
    ):
        world.run(sample("eventbridge_scheduled_event"))
    assert world.items["churn"].deferred_version == 3
    world.deploy_fails = False
    assert world.run(sample("eventbridge_scheduled_event"))["acted"]["churn"]["status"] == (
        DeploymentOutcome.STARTED
    )


def test_an_older_or_withdrawn_version_is_refused_and_recorded() -> None:
    world = World(endpoint=endpoint(config=f"{GROUP}-v4"))
    older = world.run(approved(3))
    assert older["status"] == DeploymentOutcome.REFUSED
    assert "never replaces a newer version with an older one" in older["reason"]
    world.packages[ARN.format(5)] = package(5, approval_status="Rejected")
    withdrawn = world.run(approved(5))
    assert withdrawn["status"] == DeploymentOutcome.REFUSED
    assert world.deployed == []
    assert world.kinds() == [("ModelApproved", "refused"), ("ModelApproved", "refused")]
    assert world.published[0].reason == older["reason"]
    assert world.counted == ["ApprovalsRefused", "ApprovalsRefused"]


def test_a_deployment_that_ended_unseen_is_settled_before_the_next_starts() -> None:
    world = World()
    world.run(approved())
    world.finish()  # its final state change was lost
    assert world.run(approved(3))["status"] == DeploymentOutcome.STARTED
    assert world.kinds() == [
        ("ModelApproved", "deploy"),
        ("ModelDeployed", "started"),
        ("ModelDeployed", "completed"),
        ("ModelApproved", "deploy"),
        ("ModelDeployed", "started"),
    ]
    assert world.items["churn"].previous_config == "trainops-dev--churn-v2"


def test_an_event_of_no_deploying_model_is_ignored_and_counted() -> None:
    world = World()
    for event in (
        sample("sagemaker_model_package_state_change_rejected"),
        approved(group="trainops-dev--fraud"),
        endpoint_changed(),  # nothing in flight
    ):
        assert world.run(event)["status"] == DeploymentOutcome.IGNORED
    assert world.counted == ["DeploymentEventsIgnored"] * 3
    assert (world.deployed, world.published) == ([], [])


# ---- the catalog, the store and the read model ------------------------------------------------


def test_the_catalog_entry_carries_the_deployment() -> None:
    raw = {
        "pipelineName": "trainops-dev--churn",
        "trainingData": "s3://data/churn/",
        "maxRuntimeMinutes": 60,
        "deployment": {
            "packageGroup": GROUP,
            "endpointName": GROUP,
            "variantName": "AllTraffic",
            "instanceType": "ml.m5.large",
            "instanceCount": 1,
            "executionRoleArn": SPEC.execution_role_arn,
            "volumeKmsKeyArn": KEY,
            "dataCapture": {
                "destination": "s3://artifacts/data-capture/churn",
                "samplingPercent": 100,
                "kmsKeyArn": KEY,
            },
            "blueGreen": {
                "trafficRouting": "ALL_AT_ONCE",
                "canarySizePercent": 10,
                "waitIntervalSeconds": 600,
                "terminationWaitSeconds": 300,
                "maximumExecutionTimeoutSeconds": 3600,
            },
            "rollbackAlarms": list(SPEC.rollback_alarms),
            "tags": {"trainops:stack": "dev", "trainops:model": "churn"},
        },
    }
    catalog = ModelCatalog.from_json(json.dumps({"churn": raw}))
    assert catalog.get("churn").deployment == SPEC
    assert catalog.by_package_group("TRAINOPS-DEV--CHURN") == "churn"
    assert catalog.by_endpoint(GROUP) == "churn"
    local = {**raw["deployment"], "volumeKmsKeyArn": None, "dataCapture": None}
    plain = ModelCatalog.from_json(json.dumps({"churn": {**raw, "deployment": local}}))
    deployment = plain.get("churn").deployment
    assert deployment is not None
    assert (deployment.volume_kms_key_arn, deployment.data_capture) == (None, None)


def _stored(event: events.DomainEvent, version: int) -> dict[str, Any]:
    envelope = {
        "id": f"e-{version}",
        "source": events.SOURCE,
        "detail-type": event.type,
        "time": "2026-11-22T12:00:00Z",
        "detail": event.detail(),
    }
    stored = recording.to_stored(json.loads(json.dumps(envelope, default=str)), CATALOG)
    assert stored.streams == ("model#churn",)
    return {"version": version, "type": stored.type, "payload": stored.payload, "time": stored.time}


def test_the_store_records_each_step_and_the_read_model_counts_them() -> None:
    world = World()
    world.run(approved())
    world.finish(rolled_back=True)
    world.run(endpoint_changed())
    world.run(approved(3))
    world.finish()
    world.run(endpoint_changed())
    folded = projection.fold(
        "model#churn",
        [_stored(event, version) for version, event in enumerate(world.published, 1)],
    )
    assert folded["counts"] == {
        "modelApproved": 2,
        "deploymentsStarted": 2,
        "deploymentsRolledBack": 1,
        "deploymentsCompleted": 1,
    }
    last = dict(folded["lastDeployment"])
    last.pop("at")
    assert last == {
        "requestId": "approval:churn:v3",
        "packageVersion": 3,
        "endpointConfig": "trainops-dev--churn-v3",
        "status": "completed",
    }


def test_the_end_of_a_deployment_wins_over_its_start_in_any_order() -> None:
    world = World()
    world.run(approved())
    world.finish(rolled_back=True)
    world.run(endpoint_changed())
    steps = [_stored(event, version) for version, event in enumerate(world.published, 1)]
    started, rolled_back = steps[1], steps[2]
    later_start = {**started, "version": 4, "time": "2026-11-22T13:00:00+00:00"}
    for order in ([started, rolled_back], [rolled_back, later_start]):
        numbered = [{**step, "version": n} for n, step in enumerate(order, 1)]
        assert projection.fold("model#churn", numbered)["lastDeployment"]["status"] == (
            "rolledBack"
        )


def test_the_event_types_and_trigger_are_known() -> None:
    assert {"ModelApproved", "ModelDeployed", "DeploymentRolledBack"} <= events.EVENT_TYPES
    assert "approval" in events.TRIGGERS
    stamp = NOW + timedelta(seconds=1)
    one = events.DomainEvent(
        type=events.MODEL_DEPLOYED,
        model="churn",
        request_id="approval:churn:v2",
        attempt=1,
        trigger="approval",
        discriminator=STARTED,
        occurred_at=stamp,
    )
    assert one.event_id != replace(one, discriminator=COMPLETED).event_id
    assert one.event_id == replace(one, occurred_at=NOW).event_id
