"""Foundation: the shared platform every trainops component stands on.

* one customer-managed KMS key (with rotation) that encrypts logs, queues, topics, tables,
  buckets and training volumes, and whose key policy names exactly the services that use it;
* the artifacts bucket where training output, checkpoints and run logs land;
* the SageMaker execution role that training jobs and pipelines run as.

Other components receive these as explicit inputs (`foundation.key_arn`, ...), never by reaching
into this object's children.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import buckets, iam, naming
from components.config import ECR_IMAGE, S3_URI

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
    training_data_uris: Sequence[str] = field(default_factory=list)
    image_uris: Sequence[str] = field(default_factory=list)
    noncurrent_version_days: int = 90
    key_deletion_window_days: int = 30
    multipart_upload_abort_days: int = 7


def training_data_statements(ctx: iam.AwsContext, uris: Sequence[str]) -> list[iam.Statement]:
    """Read access to exactly the configured training-data prefixes, grouped per bucket."""
    prefixes: dict[str, set[str]] = defaultdict(set)
    for uri in uris:
        match = S3_URI.match(uri)
        if match is None:
            raise ValueError(f"not an S3 URI: {uri}")
        prefixes[match["bucket"]].add(match["key"] or "")
    statements: list[iam.Statement] = []
    for bucket in sorted(prefixes):
        keys = sorted(prefixes[bucket])
        statements.append(
            iam.allow(
                ["s3:GetObject"],
                [iam.s3_object_arn(ctx, bucket, key) for key in keys],
                sid=f"ReadTrainingData{len(statements)}",
            )
        )
        whole_bucket = "" in keys
        statements.append(
            iam.allow(
                ["s3:ListBucket"],
                [iam.s3_bucket_arn(ctx, bucket)],
                sid=f"ListTrainingData{len(statements)}",
                conditions=None
                if whole_bucket
                else {"StringLike": {"s3:prefix": [f"{k}*" for k in keys]}},
            )
        )
    return statements


def ecr_repository_arns(ctx: iam.AwsContext, image_uris: Sequence[str]) -> list[str]:
    """The ECR repositories behind the configured training images."""
    arns = set()
    for uri in image_uris:
        match = ECR_IMAGE.match(uri)
        if match is None:
            raise ValueError(f"not an ECR image URI: {uri}")
        arns.add(
            f"arn:{ctx.partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
        )
    return sorted(arns)


class Foundation(pulumi.ComponentResource):
    """KMS key, artifacts bucket and SageMaker execution role shared by the whole stack."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    key_alias: pulumi.Output[str]
    artifacts_bucket_name: pulumi.Output[str]
    artifacts_bucket_arn: pulumi.Output[str]
    sagemaker_role_arn: pulumi.Output[str]
    sagemaker_role_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:foundation:Foundation", name, None, opts)
        ctx = args.ctx
        child = pulumi.ResourceOptions(parent=self)

        # The role comes first: the key policy names it, and its own policy names the key.
        sagemaker_role = aws.iam.Role(
            f"{name}-sagemaker-execution",
            description="Execution role of trainops SageMaker training jobs and pipelines",
            assume_role_policy=iam.to_json(
                iam.service_trust_policy(ctx.service_principal("sagemaker"), ctx)
            ),
            max_session_duration=43200,  # long training jobs refresh credentials less often
            opts=child,
        )

        key = aws.kms.Key(
            f"{name}-key",
            description=f"trainops {args.environment}: logs, queues, topics, tables, artifacts",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=iam.to_json(self.key_policy(ctx, sagemaker_role.arn)),
            opts=child,
        )
        alias = aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{naming.physical_name(max_length=250)}",
            target_key_id=key.key_id,
            opts=child,
        )

        bucket = buckets.secure_bucket(
            f"{name}-artifacts",
            key_arn=key.arn,
            parent=self,
            noncurrent_version_days=args.noncurrent_version_days,
            multipart_upload_abort_days=args.multipart_upload_abort_days,
        )

        aws.iam.RolePolicy(
            f"{name}-sagemaker-execution-policy",
            role=sagemaker_role.id,
            policy=iam.to_json(
                iam.document(*self.sagemaker_statements(args, key.arn, bucket.bucket))
            ),
            opts=child,
        )

        self.key_arn = key.arn
        self.key_id = key.key_id
        self.key_alias = alias.name
        self.artifacts_bucket_name = bucket.bucket
        self.artifacts_bucket_arn = bucket.arn
        self.sagemaker_role_arn = sagemaker_role.arn
        self.sagemaker_role_name = sagemaker_role.name
        self.register_outputs(
            {
                "key_arn": self.key_arn,
                "key_id": self.key_id,
                "key_alias": self.key_alias,
                "artifacts_bucket_name": self.artifacts_bucket_name,
                "artifacts_bucket_arn": self.artifacts_bucket_arn,
                "sagemaker_role_arn": self.sagemaker_role_arn,
                "sagemaker_role_name": self.sagemaker_role_name,
            }
        )

    @staticmethod
    def key_policy(ctx: iam.AwsContext, sagemaker_role_arn: pulumi.Input[str]) -> dict:
        """The key policy: administrators, and each service that encrypts with the key.

        In a key policy `Resource: "*"` means "this key"; no other resource can be named there.
        """
        this_key = "*"
        return iam.document(
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
                conditions={
                    "StringEquals": {"aws:SourceAccount": ctx.account_id},
                    "ArnLike": {"aws:SourceArn": ctx.arn("cloudwatch", "alarm:*")},
                },
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
            # SageMaker encrypts training volumes and output as the execution role; volume
            # encryption goes through grants that only AWS services may use.
            iam.allow(
                [*KEY_USE_ACTIONS],
                this_key,
                sid="SageMakerExecutionRoleUsesKey",
                principals={"AWS": sagemaker_role_arn},
            ),
            iam.allow(
                ["kms:CreateGrant"],
                this_key,
                sid="SageMakerExecutionRoleGrantsToAwsResources",
                principals={"AWS": sagemaker_role_arn},
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        )

    @staticmethod
    def sagemaker_statements(
        args: FoundationArgs, key_arn: pulumi.Input[str], bucket_name: pulumi.Input[str]
    ) -> list[iam.Statement]:
        """Execution role permissions: read data, write artifacts, pull images, log, encrypt."""
        ctx = args.ctx
        bucket_arn = pulumi.Output.concat(f"arn:{ctx.partition}:s3:::", bucket_name)
        statements = training_data_statements(ctx, args.training_data_uris)
        statements += [
            iam.allow(
                ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                [pulumi.Output.concat(bucket_arn, "/*")],
                sid="WriteArtifacts",
            ),
            iam.allow(["s3:GetBucketLocation", "s3:ListBucket"], [bucket_arn], sid="ListArtifacts"),
            iam.allow(
                [
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                ],
                [key_arn],
                sid="UseStackKey",
            ),
            iam.allow(
                ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                [ctx.arn("logs", "log-group:/aws/sagemaker/*")],
                sid="SageMakerLogGroups",
            ),
            iam.allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [ctx.arn("logs", "log-group:/aws/sagemaker/*:log-stream:*")],
                sid="SageMakerLogStreams",
            ),
            # PutMetricData supports no resource ARN; scope it to SageMaker's namespaces instead:
            # training and endpoints publish under "/aws/sagemaker/...", Clarify's bias
            # monitoring under "aws/sagemaker/Endpoints/bias-metrics" (no leading slash).
            iam.allow(
                ["cloudwatch:PutMetricData"],
                "*",
                sid="SageMakerMetrics",
                conditions={
                    "StringLike": {
                        "cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/Endpoints/*"]
                    }
                },
            ),
        ]
        repositories = ecr_repository_arns(ctx, args.image_uris)
        if repositories:
            statements += [
                iam.allow(
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    repositories,
                    sid="PullTrainingImages",
                ),
                # GetAuthorizationToken is account-wide by design: it supports only Resource "*".
                iam.allow(["ecr:GetAuthorizationToken"], "*", sid="EcrLogin"),
            ]
        return statements
