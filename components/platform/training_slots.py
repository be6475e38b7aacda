"""The training-slot ledger table, and the grants of the functions that use it.

The TrainingQueue component owns the table (the queue's `maxConcurrentTrainings` is what it
enforces); schedule ticks and the stall detector use it too. Its name is fixed per stack, so
components built before the queue (monitoring) can be granted access by reference, the way
they name the platform-critical alarm before it exists. Runtime semantics live in
`lambda/trainops_runtime/adapters/slots.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.platform import iam, naming


@dataclass(frozen=True)
class TrainingSlotsRef:
    """Name and ARN of this stack's slot ledger (the table may be created later in the run)."""

    name: str
    arn: str

    @classmethod
    def for_stack(cls, ctx: iam.AwsContext) -> TrainingSlotsRef:
        name = naming.physical_name("training-slots", max_length=255)
        return cls(name=name, arn=ctx.arn("dynamodb", f"table/{name}"))

    def statement(self, *, read: bool) -> iam.Statement:
        """UpdateItem (claim, release); GetItem too for callers that count (``read``). The
        table is encrypted with the stack key: callers also need kms:Decrypt and
        kms:GenerateDataKey on it."""
        actions = ["dynamodb:UpdateItem", *(["dynamodb:GetItem"] if read else [])]
        return iam.allow(actions, [self.arn], sid="TrainingSlots")

    def event_records_statement(self, function_name: str) -> iam.Statement:
        """A function's Powertools idempotency records in the ledger table: only items whose
        key starts with its name (so it can read, write and delete those, not the ledger)."""
        return iam.allow(
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            [self.arn],
            sid="RememberHandledEvents",
            conditions={
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{function_name}.*"]}
            },
        )

    def statements(self, key_arn: pulumi.Input[str]) -> list[iam.Statement]:
        """Read and update the ledger, with the stack key it is encrypted with (for functions
        whose policy grants that key for nothing else)."""
        return [
            self.statement(read=True),
            iam.use_key(key_arn, sid="TrainingSlotsTableKey"),
        ]


def slots_table(
    resource_name: str,
    ref: TrainingSlotsRef,
    *,
    key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.dynamodb.Table:
    """One item, a few hundred bytes: on-demand costs nothing idle. PITR and deletion protection
    as for every table (switching the queue off later means turning deletion protection off
    first; the ledger holds only what runs now). The outcome handler's records of the events it
    handled live here too, and expire by TTL (`expiration`, Powertools' attribute)."""
    return aws.dynamodb.Table(
        resource_name,
        name=ref.name,
        billing_mode="PAY_PER_REQUEST",
        hash_key="id",
        attributes=[{"name": "id", "type": "S"}],
        server_side_encryption={"enabled": True, "kms_key_arn": key_arn},
        point_in_time_recovery={"enabled": True},
        deletion_protection_enabled=True,
        ttl={"attribute_name": "expiration", "enabled": True},
        opts=pulumi.ResourceOptions(parent=parent),
    )
