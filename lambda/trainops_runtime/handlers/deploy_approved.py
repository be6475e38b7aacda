"""deploy_approved: a model version approved in its package group is deployed to its endpoint.

EventBridge invokes this function asynchronously with one of two SageMaker events from the
default bus, or with its schedule's event:

* "SageMaker Model Package State Change" of this stack's package groups with
  `ModelApprovalStatus` `Approved`: deploy the version (`DeploymentsStarted`), or skip it as a
  duplicate, or refuse it (`ApprovalsRefused`: approval withdrawn, older than the serving
  version, rolled back before, endpoint broken), or defer it while the endpoint is busy with
  another update (`ApprovalsDeferred`);
* "SageMaker Endpoint State Change" of this stack's endpoints: settle the model's deployment in
  flight, completed (`DeploymentsCompleted`), rolled back or failed (`DeploymentsRolledBack`,
  `DeploymentsFailed`, one critical alert each), then decide the approval deferred for it;
* "Scheduled Event": the sweep does the same for every deploying model, so a lost state change
  leaves nothing waiting for good.

An event of a group or endpoint no model deploys from, or a state change with no deployment in
flight, is ignored and counted (`DeploymentEventsIgnored`); a malformed event raises (Lambda's
retries, then the failure destination, keep it). The rules are `trainops_runtime.deployment` and
`trainops_runtime.deployer` (behind ports, unit-tested with fakes); this module wires SageMaker,
the deployment ledger (DynamoDB), SNS and EventBridge behind them, and Powertools.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import catalog as catalog_module
from trainops_runtime import observability
from trainops_runtime.adapters import deployment_ledger, endpoints, event_bus
from trainops_runtime.adapters.notify import notify
from trainops_runtime.deployer import ApprovalDeployer, DeploymentPorts
from trainops_runtime.deployment import DeploymentRecord
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.settings import DeployApprovedSettings


def _ports(config: DeployApprovedSettings[str]) -> DeploymentPorts:
    """The real adapters behind the deployment's ports."""
    table = config.ledger_table

    def save(record: DeploymentRecord, expected_revision: int) -> bool:
        return deployment_ledger.save(table, record, expected_revision=expected_revision)

    return DeploymentPorts(
        describe_package=endpoints.describe_package,
        describe_endpoint=endpoints.describe_endpoint,
        deploy=endpoints.deploy,
        read=functools.partial(deployment_ledger.read, table),
        save=save,
        alert=lambda subject, text: notify(config.critical_topic_arn, subject, text),
        publish=functools.partial(event_bus.publish, config.event_bus),
        count=lambda name: metrics.add_metric(name=name, unit=MetricUnit.Count, value=1),
        log=logger,
    )


def run(event: Any) -> dict[str, Any]:
    config = DeployApprovedSettings[str].from_environment()
    catalog = catalog_module.load()
    observability.tag_stack(metrics)
    return ApprovalDeployer(catalog=catalog, ports=_ports(config)).run(event)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
