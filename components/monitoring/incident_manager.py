"""Optional AWS Systems Manager Incident Manager escalation (part of TrainingMonitor).

Personal contacts (e-mail channels), an escalation contact whose plan engages them one stage at
a time, and a response plan that engages the escalation contact. Critical (escalated) alarms
name the response plan as an alarm action, so an incident opens when a condition persists.
Incident Manager needs a replication set once per account; `createReplicationSet` creates it
here, otherwise it must already exist.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.monitoring.config import SSM_CONTACTS_STAGE_MAX, IncidentManagerConfig
from components.platform import naming


def build_incident_manager(
    name: str,
    config: IncidentManagerConfig,
    *,
    region: str,
    stage_minutes: int,
    critical_topic_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.ssmincidents.ResponsePlan:
    """Creates contacts, the escalation plan and the response plan; returns the response plan.

    ``stage_minutes`` is how long each contact has before the next is engaged: 1-30 (SSM
    Contacts rejects longer stages).
    """
    if not 1 <= stage_minutes <= SSM_CONTACTS_STAGE_MAX:
        raise ValueError(
            f"an escalation stage lasts 1-{SSM_CONTACTS_STAGE_MAX} minutes, got {stage_minutes}"
        )
    child = pulumi.ResourceOptions(parent=parent)
    depends: list[pulumi.Resource] = []
    if config.create_replication_set:
        depends.append(
            aws.ssmincidents.ReplicationSet(
                f"{name}-replication-set", regions=[{"name": region}], opts=child
            )
        )
    after_replication = pulumi.ResourceOptions(parent=parent, depends_on=depends)
    person_arns: list[pulumi.Output[str]] = []
    for contact in config.contacts:
        person = aws.ssmcontacts.Contact(
            f"{name}-contact-{contact.alias}",
            alias=naming.physical_name(contact.alias, max_length=255),
            display_name=contact.name,
            type="PERSONAL",
            opts=after_replication,
        )
        channel = aws.ssmcontacts.ContactChannel(
            f"{name}-contact-{contact.alias}-email",
            contact_id=person.arn,
            name=f"{contact.alias}-email",
            type="EMAIL",
            delivery_address={"simple_address": contact.email},
            opts=child,
        )
        aws.ssmcontacts.Plan(
            f"{name}-contact-{contact.alias}-plan",
            contact_id=person.arn,
            stages=[
                {
                    "duration_in_minutes": 0,
                    "targets": [
                        {
                            "channel_target_info": {
                                "contact_channel_id": channel.arn,
                                "retry_interval_in_minutes": 5,
                            }
                        }
                    ],
                }
            ],
            opts=child,
        )
        person_arns.append(person.arn)

    escalation = aws.ssmcontacts.Contact(
        f"{name}-escalation",
        alias=naming.physical_name("escalation", max_length=255),
        display_name="trainops training escalation",
        type="ESCALATION",
        opts=after_replication,
    )
    aws.ssmcontacts.Plan(
        f"{name}-escalation-plan",
        contact_id=escalation.arn,
        stages=[
            {
                "duration_in_minutes": stage_minutes,
                "targets": [{"contact_target_info": {"contact_id": arn, "is_essential": True}}],
            }
            for arn in person_arns
        ],
        opts=child,
    )
    return aws.ssmincidents.ResponsePlan(
        f"{name}-response-plan",
        name=naming.physical_name("training-response", max_length=200),
        display_name="trainops: training keeps failing",
        incident_template={
            "title": "trainops: a training alarm stayed in ALARM",
            "impact": 3,
            "notification_targets": [{"sns_topic_arn": critical_topic_arn}],
        },
        engagements=[escalation.arn],
        opts=after_replication,
    )
