"""PlatformContext: what every feature builds on, made once in `__main__.py`.

Every feature needs the same few things from the stack: where it runs (account, region,
partition), the stack's KMS key, how long logs are kept, which Powertools layer its functions
use, the artifacts bucket and where buckets log their requests (the Foundation's), where alarms
go (the alert ladder, when monitoring is on), where domain events go (the training bus, when
event sourcing is on), the training-slot ledger (when the queue is on), the stack's models and
the model catalog its functions ship. They were threaded through every component's Args one by
one; the context carries them together, so a feature's Args say only what is particular to
that feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

from components.platform import alarms, buckets, iam, naming
from components.platform.model_config import ModelConfig
from components.platform.spend_config import SpendGuardrailsConfig
from components.platform.training_slots import TrainingSlotsRef


@dataclass
class EventBusRef:
    """The training event bus handlers publish domain events to (when event sourcing is on)."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True)
class Storage:
    """The Foundation's storage: the artifacts bucket (models, checkpoints, data capture, bias
    reports and maintenance-run output, each under `<kind>/<model>/`), and where every bucket
    of the stack logs its requests."""

    artifacts_bucket_name: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    access_logs: buckets.AccessLogs


@dataclass(frozen=True)
class PlatformContext:
    """The stack-wide inputs every feature shares."""

    ctx: iam.AwsContext
    key_arn: pulumi.Input[str]
    log_retention_days: int
    # AWS's published Powertools for AWS Lambda (Python) V3 layer version.
    powertools_layer_version: int
    # `trainops:environment` (e.g. `prod`): what stateful resources default their protection to.
    environment: str = ""
    # The stack's models (`trainops:models`): what the features act on per model.
    models: Mapping[str, ModelConfig] = field(default_factory=dict)
    # model -> catalog entry (`training_pipeline.component.model_catalog`): shipped in the
    # code of the functions that act on models (`trainops_runtime.catalog`).
    model_catalog: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The Foundation's buckets (None only where a test builds a feature without them).
    storage: Storage | None = None
    # Where alarms go; None when monitoring is off (then nothing alarms).
    alerts: alarms.AlertLadder | None = None
    # Where domain events go; None when event sourcing is off (then nothing publishes).
    event_bus: EventBusRef | None = None
    # The training queue's slot ledger (which models train now); None without a queue. Schedule
    # ticks and the stall check claim and keep slots there, so a tick and a queued request never
    # overlap a model.
    training_slots: TrainingSlotsRef | None = None
    # `trainops:spendGuardrails`: the caps the starters hold each run to (shipped per model in
    # the catalog's `cost`), the allowed instance types, the budgets.
    spend: SpendGuardrailsConfig = field(default_factory=SpendGuardrailsConfig)

    def with_catalog(self, model_catalog: Mapping[str, Mapping[str, Any]]) -> PlatformContext:
        """The same context, shipping ``model_catalog`` (built from the pipelines)."""
        return replace(self, model_catalog=model_catalog)

    @property
    def buckets(self) -> Storage:
        """The Foundation's buckets, for the features that write to them; a clear error where a
        context was built without them (a test's minimal context)."""
        if self.storage is None:
            raise ValueError(
                "this feature needs the Foundation's buckets (PlatformContext.storage)"
            )
        return self.storage

    def required_alerts(self, feature: str) -> alarms.AlertLadder:
        """The alert ladder of a feature that cannot work without one (a person must hear of
        what it does); config validation says so first, this holds for a program that builds
        the component itself."""
        if self.alerts is None:
            raise ValueError(f"{feature} needs the monitoring component (its alert topics)")
        return self.alerts

    def with_alerts(self, alerts: alarms.AlertLadder | None) -> PlatformContext:
        """The same context, alarming on ``alerts`` (monitoring builds the ladder)."""
        return replace(self, alerts=alerts)

    @property
    def event_bus_name(self) -> pulumi.Input[str] | None:
        """The training bus functions publish to (their settings' `event_bus`); None without."""
        return self.event_bus.name if self.event_bus is not None else None

    @property
    def slots_table_name(self) -> str | None:
        """The slot ledger functions claim in (their settings' `slots_table`); None without."""
        return self.training_slots.name if self.training_slots is not None else None

    def publish_statements(self) -> list[iam.Statement]:
        """What a function needs to publish domain events: PutEvents on the training bus alone
        (nothing when the stack has no bus)."""
        if self.event_bus is None:
            return []
        return [iam.allow(["events:PutEvents"], [self.event_bus.arn], sid="PublishDomainEvents")]

    def approved_metric_statements(self) -> list[iam.Statement]:
        """What a starter needs when a model's gate compares with the approved version
        (`evaluation.compareWithApproved`): find the newest approved version in this stack's
        package groups, read its evaluation report from the artifacts bucket's `evaluation/`
        prefix (encrypted with the stack key). By prefix, so the policy does not grow with the
        models; nothing when no gate compares."""
        if not any(
            model.evaluation is not None and model.evaluation.compare_with_approved
            for model in self.models.values()
        ):
            return []
        ctx, prefix = self.ctx, naming.model_prefix()
        packages = ctx.arn("sagemaker", f"model-package/{prefix}*/*")
        return [
            # ListModelPackages names the group; its versions are the packages under it.
            iam.allow(
                ["sagemaker:ListModelPackages"],
                [ctx.arn("sagemaker", f"model-package-group/{prefix}*"), packages],
                sid="FindApprovedVersions",
            ),
            iam.allow(["sagemaker:DescribeModelPackage"], [packages], sid="ReadApprovedVersions"),
            iam.allow(
                ["s3:GetObject"],
                [pulumi.Output.concat(self.buckets.artifacts_bucket_arn, "/evaluation/*")],
                sid="ReadEvaluationReports",
            ),
            iam.allow(["kms:Decrypt"], [self.key_arn], sid="DecryptEvaluationReports"),
        ]

    def with_event_bus(self, event_bus: EventBusRef | None) -> PlatformContext:
        """The same context, publishing to ``event_bus`` (event sourcing builds the bus)."""
        return replace(self, event_bus=event_bus)
