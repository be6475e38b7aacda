"""The package's features that close the loop around a trained model: quality signals retrain it
(through the training queue), approvals deploy it (facades, as in `facades`).

The annotations here are read at run time by the SDK's analyzer, so this module does not
use `from __future__ import annotations` (which would turn them into strings it cannot follow).
"""

from typing import Required, TypedDict

import pulumi

from components.approval_deployment.component import (
    ApprovalDeployment as ApprovalDeploymentComponent,
)
from components.approval_deployment.component import ApprovalDeploymentArgs
from components.package import refs
from components.package.facades import (
    StackRef,
    child,
    feature_platform,
    feature_settings,
    token,
)
from components.package.settings import ApprovalDeploymentSettings, QualityRetrainingSettings
from components.quality_retraining.component import (
    QualityRetraining as QualityRetrainingComponent,
)
from components.quality_retraining.component import QualityRetrainingArgs


class QualityRetrainingInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to (its alerts are required: the circuit breaker's)."""
    config: QualityRetrainingSettings
    """Quality retraining's settings (`trainops:qualityRetraining`)."""
    training_queue: refs.TrainingQueueRef
    """The training queue quality retrains are sent to (required: they are queued requests)."""


class QualityRetraining(pulumi.ComponentResource):
    """Turns a model's quality signals (alarms named as such, event patterns, bias alarms) into
    training requests on the training queue, with a cooldown and a daily circuit breaker."""

    ledger_table_name: pulumi.Output[str]
    """The cooldown and circuit-breaker ledger."""
    function_name: pulumi.Output[str]
    """The function that turns signals into training requests."""

    def __init__(
        self,
        name: str,
        args: QualityRetrainingInputs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(token(QualityRetraining), name, None, opts)
        queue = args.get("training_queue")
        settings = feature_settings(
            args["stack"],
            "qualityRetraining",
            args.get("config"),
            QualityRetrainingSettings,
            implied={"trainingQueue": {"enabled": queue is not None}},
        )
        assert queue is not None  # noqa: S101 - the stack file's rules require the queue
        quality = QualityRetrainingComponent(
            name,
            QualityRetrainingArgs(
                config=settings.quality_retraining,
                platform=feature_platform(args["stack"], settings),
                request_queue_url=queue["url"],
                request_queue_arn=queue["arn"],
            ),
            opts=child(self),
        )
        self.ledger_table_name = quality.ledger_table_name
        self.function_name = quality.function_name
        self.register_outputs({"ledger_table_name": self.ledger_table_name})


class ApprovalDeploymentInputs(TypedDict, total=False):
    stack: Required[StackRef]
    """The stack this component belongs to (its alerts are required: rollbacks alert them)."""
    config: ApprovalDeploymentSettings
    """Approval-driven deployment's settings (`trainops:approvalDeployment`)."""
    execution_roles: Required[dict[str, refs.ExecutionRoleRef]]
    """Each model's execution role (TrainingPipeline outputs), by model name."""


class ApprovalDeployment(pulumi.ComponentResource):
    """Deploys each version approved in a model's package group to the model's endpoint
    (models with endpoint.deployOnApproval), blue/green with rollback on its alarms."""

    ledger_table_name: pulumi.Output[str]
    """The deployment ledger (the deployment in flight, the approval that waits)."""
    function_name: pulumi.Output[str]
    """The function that deploys approved versions."""

    def __init__(
        self,
        name: str,
        args: ApprovalDeploymentInputs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(token(ApprovalDeployment), name, None, opts)
        settings = feature_settings(
            args["stack"],
            "approvalDeployment",
            args.get("config"),
            ApprovalDeploymentSettings,
        )
        deployment = ApprovalDeploymentComponent(
            name,
            ApprovalDeploymentArgs(
                config=settings.approval_deployment,
                platform=feature_platform(args["stack"], settings),
                execution_roles=refs.execution_roles(args["execution_roles"], settings.models),
            ),
            opts=child(self),
        )
        self.ledger_table_name = deployment.ledger_table_name
        self.function_name = deployment.function_name
        self.register_outputs({"ledger_table_name": self.ledger_table_name})


COMPONENTS: tuple[type[pulumi.ComponentResource], ...] = (QualityRetraining, ApprovalDeployment)
