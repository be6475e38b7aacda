"""Foundation: the shared platform every trainops component stands on.

* one customer-managed KMS key (with rotation) that encrypts logs, queues, topics, tables,
  buckets and training volumes, and whose key policy names exactly the services that use it;
* the artifacts bucket where training output, checkpoints and run logs land.

Each model's SageMaker execution role belongs to its `TrainingPipeline`: one shared role would
need a policy naming every model's data, image and package group, and IAM caps a role's inline
policies at 10,240 characters (about five models). Roles use the key through their own IAM
policies (the key policy delegates to IAM), so the key policy does not grow with models either.

Other components receive these as explicit inputs (`foundation.key_arn`, ...), never by reaching
into this object's children.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.platform import buckets, iam, naming, topics
from components.platform.context import PlatformContext, Storage
from components.platform.model_config import ModelConfig
from components.platform.spend_config import SpendGuardrailsConfig
from components.platform.training_slots import TrainingSlotsRef

# What the account's administrators may do with the key, listed explicitly rather than `kms:*`.
# Keeping PutKeyPolicy/GetKeyPolicy here is what keeps the key manageable (no lock-out).
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# Cryptographic use. Delegated to IAM through the account root, so a role's own policy decides.
KEY_USE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
# What a service publishing to an encrypted SNS topic or SQS queue needs.
PUBLISHER_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass
class FoundationArgs:
    """Inputs of the foundation, all plain values from the validated stack config."""

    ctx: iam.AwsContext
    environment: str
    noncurrent_version_days: int = 90
    # "server": server access logs into the stack's access-log bucket; "cloudtrail": a trail
    # the account runs records S3 data events (no log bucket is created)
    access_log_destination: Literal["server", "cloudtrail"] = "server"
    access_log_retention_days: int = 90
    key_deletion_window_days: int = 30
    multipart_upload_abort_days: int = 7
    # `spendGuardrails.budgets.enabled`: AWS Budgets publishes to the encrypted alert topics, so
    # the key policy lets it encrypt with the key (and only then)
    budget_notifications: bool = False


class Foundation(pulumi.ComponentResource):
    """KMS key, artifacts bucket and access-log bucket shared by the whole stack."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    key_alias: pulumi.Output[str]
    artifacts_bucket_name: pulumi.Output[str]
    artifacts_bucket_arn: pulumi.Output[str]
    # where every bucket of the stack logs its requests (components pass it to secure_bucket)
    access_logs: buckets.AccessLogs
    access_log_bucket_name: pulumi.Output[str] | None
    # the two above, as the features take them (PlatformContext.storage)
    storage: Storage

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:foundation:Foundation", name, None, opts)
        ctx = args.ctx
        child = pulumi.ResourceOptions(parent=self)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"trainops {args.environment}: logs, queues, topics, tables, artifacts",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=iam.to_json(self.key_policy(ctx, budgets=args.budget_notifications)),
            opts=child,
        )
        alias = aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{naming.physical_name(max_length=250)}",
            target_key_id=key.key_id,
            opts=child,
        )

        log_bucket: aws.s3.Bucket | None = None
        access_logs = buckets.AccessLogs(target_bucket=None)  # CloudTrail data events
        if args.access_log_destination == "server":
            log_bucket, access_logs = buckets.access_log_bucket(
                f"{name}-access-logs",
                ctx=ctx,
                parent=self,
                retention_days=args.access_log_retention_days,
            )
        elif args.access_log_destination != "cloudtrail":
            raise ValueError("access_log_destination must be 'server' or 'cloudtrail'")

        bucket = buckets.secure_bucket(
            f"{name}-artifacts",
            key_arn=key.arn,
            parent=self,
            noncurrent_version_days=args.noncurrent_version_days,
            multipart_upload_abort_days=args.multipart_upload_abort_days,
            access_logs=access_logs,
        )

        self.key_arn = key.arn
        self.key_id = key.key_id
        self.key_alias = alias.name
        self.artifacts_bucket_name = bucket.bucket
        self.artifacts_bucket_arn = bucket.arn
        self.access_logs = access_logs
        self.storage = Storage(
            artifacts_bucket_name=bucket.bucket,
            artifacts_bucket_arn=bucket.arn,
            access_logs=access_logs,
        )
        self.access_log_bucket_name = log_bucket.bucket if log_bucket is not None else None
        self._args = args
        self.register_outputs(
            {
                "access_log_bucket_name": self.access_log_bucket_name,
                "key_arn": self.key_arn,
                "key_id": self.key_id,
                "key_alias": self.key_alias,
                "artifacts_bucket_name": self.artifacts_bucket_name,
                "artifacts_bucket_arn": self.artifacts_bucket_arn,
            }
        )

    def platform(
        self,
        *,
        log_retention_days: int,
        powertools_layer_version: int,
        models: Mapping[str, ModelConfig],
        training_slots: TrainingSlotsRef | None = None,
        spend: SpendGuardrailsConfig | None = None,
    ) -> PlatformContext:
        """What every feature builds on: this foundation's account, environment, key and
        buckets, with the stack's log retention, Powertools layer, models, slot ledger and
        spend guardrails."""
        return PlatformContext(
            ctx=self._args.ctx,
            environment=self._args.environment,
            key_arn=self.key_arn,
            storage=self.storage,
            log_retention_days=log_retention_days,
            powertools_layer_version=powertools_layer_version,
            models=models,
            training_slots=training_slots,
            spend=spend or SpendGuardrailsConfig(),
        )

    @staticmethod
    def key_policy(ctx: iam.AwsContext, *, budgets: bool = False) -> dict:
        """The key policy: administrators, and each service that encrypts with the key.

        Roles of the stack (functions, per-model SageMaker roles) use the key through their own
        IAM policies: the first statement delegates to IAM. In a key policy `Resource: "*"`
        means "this key"; no other resource can be named there. AWS Budgets is named only with
        ``budgets`` (`spendGuardrails.budgets.enabled`): a stack without budgets keeps the
        document it had.
        """
        this_key = "*"
        statements = [
            iam.allow(
                [*KEY_ADMIN_ACTIONS, *KEY_USE_ACTIONS],
                this_key,
                sid="AccountAdministersAndDelegatesToIam",
                principals={"AWS": ctx.root_arn},
            ),
            # DescribeKey is left out: it has no encryption context, so the condition could never
            # match it (parliament: UNKNOWN_CONDITION_FOR_ACTION).
            iam.allow(
                [a for a in KEY_USE_ACTIONS if a != "kms:DescribeKey"],
                this_key,
                sid="CloudWatchLogsInThisRegion",
                principals={"Service": f"logs.{ctx.region}.{ctx.dns_suffix}"},
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": ctx.arn("logs", "log-group:*")
                    }
                },
            ),
            # CloudWatch alarms publishing to the encrypted alert topics. CloudWatch sends the
            # source account/ARN with the request, so the grant is scoped to this account's alarms.
            iam.allow(
                PUBLISHER_KEY_ACTIONS,
                this_key,
                sid="CloudWatchAlarmsPublishToEncryptedTopics",
                principals={"Service": ctx.service_principal("cloudwatch")},
                conditions=ctx.on_behalf_of_this_account(ctx.arn("cloudwatch", "alarm:*")),
            ),
            # EventBridge rules delivering to encrypted topics and dead-letter queues. AWS
            # documents that EventBridge's KMS requests carry no aws:SourceAccount/SourceArn, so a
            # condition here would silently drop every delivery; the topic and queue policies
            # carry the account scoping instead.
            iam.allow(
                PUBLISHER_KEY_ACTIONS,
                this_key,
                sid="EventBridgeDeliversToEncryptedTopicsAndQueues",
                principals={"Service": ctx.service_principal("events")},
            ),
        ]
        if budgets:
            # AWS Budgets publishing budget notifications to the encrypted alert topics, scoped
            # like its topic-policy grant: AWS documents aws:SourceAccount and aws:SourceArn
            # `arn:aws:budgets::<account>:*` for budget notifications ("Creating an Amazon SNS
            # topic for budget notifications"), and public key policies for Budgets carry the
            # same pair. Should Budgets' KMS requests lack them (as EventBridge's do), deliveries
            # would be dropped: CloudTrail then shows budgets.amazonaws.com denied
            # kms:GenerateDataKey (docs: "Spend guardrails: budgets").
            statements.append(
                iam.allow(
                    PUBLISHER_KEY_ACTIONS,
                    this_key,
                    sid="BudgetsPublishToEncryptedTopics",
                    principals={"Service": ctx.service_principal("budgets")},
                    conditions=ctx.on_behalf_of_this_account(topics.budgets_source_arn(ctx)),
                )
            )
        return iam.document(*statements)
