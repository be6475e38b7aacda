"""Approval-driven deployment, the use case: one event's run, behind ports.

The rules are `trainops_runtime.deployment`. An approval is settled against what ended unseen
first (a deployment whose final state change was lost is recorded before the next starts), then
decided: a deployment creates the version's model and endpoint config and updates the endpoint
(`DeploymentPorts.deploy`), and only then is it written to the ledger, so a ledger never names a
deployment that did not start (which would look like a rollback); a retry after the update
finds the endpoint updating to the version (a duplicate) and writes the ledger then. An endpoint's
state change settles the model's deployment in flight: completed, rolled back (one critical
alert) or failed (one critical alert), and then decides the approval that waited for the
endpoint (deferred because it was busy). The schedule's sweep does both for every deploying model,
so neither a lost state change nor a busy endpoint leaves a deployment unsettled or an approval
waiting for good.

Every step is a domain event with trigger `approval` under the request id `approval:M:vN`:
`ModelApproved` (data.decision `deploy` or `refused`), `ModelDeployed` (data.status `started`,
`completed` or `failed`) and `DeploymentRolledBack`. Events go out before the ledger write that
records their step (their ids are the same every time, so a retry sends the same event again and
the store keeps one). The ledger changes only by conditional writes on the revision read, and an
alert is marked sent after it went out, so a redelivered state change never alerts twice (unless
the function dies between SNS's answer and that mark). The handler
(`handlers/deploy_approved.py`) wires SageMaker, the ledger (DynamoDB), SNS and EventBridge behind
the ports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from trainops_runtime import domain_events as events
from trainops_runtime.catalog import DeploymentSpec, ModelCatalog
from trainops_runtime.deployment import (
    COMPLETED,
    FAILED,
    MAX_RACES,
    METRIC_DEFERRED,
    METRIC_IGNORED,
    METRIC_REFUSED,
    METRIC_STARTED,
    METRICS_BY_END,
    STARTED,
    TRIGGER,
    Approval,
    Busy,
    Deploy,
    DeploymentRecord,
    Duplicate,
    EndpointView,
    Ignored,
    InFlight,
    InvalidEvent,
    PackageView,
    Refuse,
    Settlement,
    Sweep,
    alert_text,
    decide,
    deferred,
    parse,
    pending,
    request_id,
    settle,
    settled,
    started,
    undeferred,
    unsettled,
    waiting,
)
from trainops_runtime.errors import RetryableError
from trainops_runtime.observability import Log
from trainops_runtime.outcomes import DeploymentOutcome


@dataclass(frozen=True)
class DeploymentPorts:
    """What the deploy function needs from the world."""

    describe_package: Callable[[str], PackageView]
    describe_endpoint: Callable[[str], EndpointView]
    # creates the version's model and endpoint config (if they do not exist yet) and updates the
    # endpoint to the config, blue/green with automatic rollback
    deploy: Callable[[DeploymentSpec, str, str], object]
    read: Callable[[str], DeploymentRecord | None]  # the model's ledger item (consistent read)
    save: Callable[[DeploymentRecord, int], bool]  # conditional on the revision given
    alert: Callable[[str, str], object]  # subject, message to the critical topic (None: none)
    publish: Callable[..., object]
    count: Callable[[str], object]
    log: Log


@dataclass
class ApprovalDeployer:
    """One event's run."""

    catalog: ModelCatalog
    ports: DeploymentPorts

    def run(self, event: Any, *, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        parsed = parse(event, self.catalog)
        if isinstance(parsed, Ignored):
            return self._ignored(parsed.reason, parsed.model)
        if isinstance(parsed, Sweep):
            return self._sweep(parsed.at)
        spec = self._spec(parsed.model)
        if isinstance(parsed, Approval):
            return self._approval(parsed, spec, now)
        result = self._endpoint_settled(parsed.model, spec, now)
        if result is None:
            reason = f"no deployment of {parsed.model} is in flight, and no approval waits"
            return self._ignored(reason, parsed.model)
        return result

    def _endpoint_settled(
        self, model: str, spec: DeploymentSpec, now: datetime
    ) -> dict[str, Any] | None:
        """Settles the model's deployment in flight, then decides the approval that waited for
        the endpoint (None: neither was there)."""
        outcome = self._settle(model, spec, now)
        if isinstance(outcome, InFlight):
            return {
                "status": DeploymentOutcome.IN_PROGRESS,
                "model": model,
                "detail": outcome.detail,
            }
        approval = waiting(self.ports.read(model), spec, now)
        decided = self._approval(approval, spec, now) if approval else None
        if outcome is None:
            return decided
        return {**self._result(outcome), **({"deferredApproval": decided} if decided else {})}

    def _sweep(self, now: datetime) -> dict[str, Any]:
        """Every deploying model: its deployment settled if it ended unseen, its deferred approval
        decided if the endpoint settled. A model with neither costs one ledger read. One model's
        failure does not stop the others; the run fails at the end (Lambda retries it, then its
        failure queue alarms)."""
        results: dict[str, Any] = {}
        failures: dict[str, str] = {}
        for model in self.catalog.deploying:
            try:
                record = self.ports.read(model)
                if record is None or not pending(record):
                    continue
                result = self._endpoint_settled(model, self._spec(model), now)
            except Exception as error:  # reported below, after the other models
                failures[model] = f"{type(error).__name__}: {error}"
                continue
            if result is not None and result["status"] != DeploymentOutcome.IN_PROGRESS:
                results[model] = result
        self.ports.log.info(
            "deployments swept",
            extra={"models": len(self.catalog.deploying), "acted": sorted(results)},
        )
        if failures:
            self.ports.log.warning("the sweep failed for some models", extra={"failures": failures})
            raise RetryableError(f"the sweep failed for {len(failures)} model(s): {failures}")
        return {
            "status": DeploymentOutcome.SWEPT,
            "models": len(self.catalog.deploying),
            "acted": results,
        }

    def _spec(self, model: str) -> DeploymentSpec:
        spec = self.catalog.get(model).deployment
        if spec is None:  # the catalog maps only models with a deployment to groups and endpoints
            raise InvalidEvent(f"{model} has no deployment in the catalog")
        return spec

    def _ignored(self, reason: str, model: str | None) -> dict[str, Any]:
        self.ports.log.info(
            "not a deployment of this stack; ignored", extra={"reason": reason, "model": model}
        )
        self.ports.count(METRIC_IGNORED)
        return {"status": DeploymentOutcome.IGNORED, "reason": reason}

    # ---- an approval ----

    def _approval(self, approval: Approval, spec: DeploymentSpec, now: datetime) -> dict[str, Any]:
        model, version = approval.model, approval.version
        # whatever ended without its state change being seen is recorded first
        self._settle(model, spec, now)
        package = self.ports.describe_package(approval.package_arn)
        endpoint = self.ports.describe_endpoint(spec.endpoint_name)
        record = self.ports.read(model)
        decision = decide(approval, package, endpoint, record, spec)
        result = {
            "model": model,
            "packageVersion": version,
            "requestId": request_id(model, version),
        }
        if isinstance(decision, Busy):
            return {**self._defer(approval, decision), **result}
        if isinstance(decision, Refuse):
            self.ports.count(METRIC_REFUSED)
            self._write(model, lambda record: undeferred(record, version))
            # its own fact: a version approved again after a refusal is recorded again
            self.ports.publish(self._approved(approval, "refused", decision.reason))
            self.ports.log.warning(
                "approved version not deployed",
                extra={"model": model, "version": version, "reason": decision.reason},
            )
            return {"status": DeploymentOutcome.REFUSED, "reason": decision.reason, **result}
        if isinstance(decision, Deploy):
            self.ports.deploy(spec, approval.package_arn, decision.config_name)
            self.ports.count(METRIC_STARTED)
        previous = endpoint.config_name if endpoint.config_name != decision.config_name else None
        self._record_start(approval, decision.config_name, previous, now)
        record = self.ports.read(model) or DeploymentRecord(model)
        self.ports.publish(
            self._approved(approval, "deploy"),
            self._event(
                events.MODEL_DEPLOYED,
                model,
                version,
                discriminator=STARTED,
                occurred_at=now,
                data={
                    "status": STARTED,
                    "packageArn": approval.package_arn,
                    "packageVersion": version,
                    "endpointName": spec.endpoint_name,
                    "endpointConfig": decision.config_name,
                    "previousConfig": record.previous_config,
                    "trafficRouting": spec.blue_green.traffic_routing,
                },
            ),
        )
        if isinstance(decision, Duplicate):
            self.ports.log.info(
                "approval seen before",
                extra={"model": model, "version": version, "detail": decision.detail},
            )
            self._settle(model, spec, now)  # a deployment that finished meanwhile is recorded
            return {"status": DeploymentOutcome.DUPLICATE, "detail": decision.detail, **result}
        self.ports.log.info(
            "deployment started",
            extra={"model": model, "version": version, "config": decision.config_name},
        )
        return {
            "status": DeploymentOutcome.STARTED,
            "endpointConfig": decision.config_name,
            **result,
        }

    def _record_start(
        self, approval: Approval, config: str, previous: str | None, now: datetime
    ) -> None:
        self._write(
            approval.model,
            lambda record: (
                started(record, approval, config, previous, now)
                or undeferred(record, approval.version)
            ),
        )

    def _defer(self, approval: Approval, busy: Busy) -> dict[str, Any]:
        """The approval waits in the ledger for the endpoint to settle."""
        if self._write(approval.model, lambda record: deferred(record, approval)):
            self.ports.count(METRIC_DEFERRED)
        self.ports.log.info(
            "approval deferred until the endpoint settles",
            extra={"model": approval.model, "version": approval.version, "detail": busy.detail},
        )
        return {"status": DeploymentOutcome.DEFERRED, "detail": busy.detail}

    def _write(
        self, model: str, change: Callable[[DeploymentRecord | None], DeploymentRecord | None]
    ) -> bool:
        """Applies ``change`` to the model's ledger item by a conditional write on the revision
        read; a lost race reads and changes again. False when ``change`` had nothing to write."""
        for _ in range(MAX_RACES):
            record = self.ports.read(model)
            after = change(record)
            if after is None:
                return False
            if self.ports.save(after, record.revision if record else 0):
                return True
        raise RetryableError(f"the deployment ledger of {model} changed {MAX_RACES} times")

    def _approved(
        self, approval: Approval, decision: str, reason: str | None = None
    ) -> events.DomainEvent:
        return self._event(
            events.MODEL_APPROVED,
            approval.model,
            approval.version,
            discriminator="" if decision == "deploy" else decision,
            occurred_at=approval.at,
            reason=reason,
            data={
                "packageArn": approval.package_arn,
                "packageGroup": approval.package_group,
                "packageVersion": approval.version,
                "decision": decision,
            },
        )

    # ---- how a deployment ended ----

    def _settle(
        self, model: str, spec: DeploymentSpec, now: datetime
    ) -> Settlement | InFlight | None:
        """Records how the model's deployment in flight ended, if it did (one conditional write;
        a lost race reads and decides again), publishes it and alerts on a rollback or failure."""
        endpoint: EndpointView | None = None
        for _ in range(MAX_RACES):
            record = self.ports.read(model)
            # the sweep asks SageMaker only about what is in flight
            if record is None or not unsettled(record):
                return None
            endpoint = endpoint or self.ports.describe_endpoint(spec.endpoint_name)
            outcome = settle(record, endpoint)
            if not isinstance(outcome, Settlement):
                return outcome
            # the event goes out before the write (its id is the same every time), so a run
            # that dies between the two leaves no hole in the history: the retry sends it again
            self._publish_end(model, spec, outcome, now)
            after = settled(record, outcome)
            if after is None or self.ports.save(after, record.revision):
                break
        else:
            raise RetryableError(f"the deployment ledger of {model} changed {MAX_RACES} times")
        if not outcome.retry:
            self.ports.count(METRICS_BY_END[outcome.kind])
        if outcome.kind != "completed":
            self._alert(model, outcome)
        return outcome

    def _publish_end(
        self, model: str, spec: DeploymentSpec, outcome: Settlement, now: datetime
    ) -> None:
        record = outcome.record
        version = record.package_version or 0
        common = {
            "packageArn": record.package_arn,
            "packageVersion": version,
            "endpointName": spec.endpoint_name,
            "endpointConfig": record.endpoint_config,
        }
        if outcome.kind == "rolled-back":
            event = self._event(
                events.DEPLOYMENT_ROLLED_BACK,
                model,
                version,
                occurred_at=now,
                reason=outcome.reason,
                data={**common, "servingConfig": outcome.serving},
            )
        else:
            status = COMPLETED if outcome.kind == "completed" else FAILED
            event = self._event(
                events.MODEL_DEPLOYED,
                model,
                version,
                discriminator=status,
                occurred_at=now,
                reason=outcome.reason if status == FAILED else None,
                data={**common, "status": status},
            )
        self.ports.publish(event)
        self.ports.log.info(
            "deployment ended", extra={"model": model, "version": version, "outcome": outcome.kind}
        )

    def _alert(self, model: str, outcome: Settlement) -> None:
        subject, message = alert_text(model, outcome)
        if self.ports.alert(subject, message) is None:
            self.ports.log.warning(
                "deployment ended badly and the stack has no critical topic", extra={"model": model}
            )
        for _ in range(MAX_RACES):
            record = self.ports.read(model)
            if record is None or record.alert_sent is not False:
                return
            if self.ports.save(
                replace(record, revision=record.revision + 1, alert_sent=True), record.revision
            ):
                return
        self.ports.log.warning(
            "could not mark the deployment's alert sent; a redelivery alerts again",
            extra={"model": model},
        )

    def _result(self, outcome: Settlement) -> dict[str, Any]:
        record = outcome.record
        status = {
            "completed": DeploymentOutcome.COMPLETED,
            "rolled-back": DeploymentOutcome.ROLLED_BACK,
            "failed": DeploymentOutcome.FAILED,
        }[outcome.kind]
        return {
            "status": status,
            "model": record.model,
            "packageVersion": record.package_version,
            "endpointConfig": record.endpoint_config,
            "serving": outcome.serving,
        }

    @staticmethod
    def _event(kind: str, model: str, version: int, **fields: Any) -> events.DomainEvent:
        return events.DomainEvent(
            type=kind,
            model=model,
            request_id=request_id(model, version),
            attempt=1,
            trigger=TRIGGER,
            **fields,
        )
