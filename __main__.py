"""trainops: load the stack config, build the foundation, compose the enabled components, export.

Kept thin on purpose: every decision lives in `components/`, every value in the stack file.
"""

import pulumi
import pulumi_aws as aws

from components import (
    ApprovalDeployment,
    ApprovalDeploymentArgs,
    AwsContext,
    DashboardSources,
    Foundation,
    FoundationArgs,
    MaintenanceWindowArgs,
    MaintenanceWindowRetraining,
    OperationsDashboard,
    OperationsDashboardArgs,
    PlatformCriticalAlarm,
    PlatformCriticalAlarmArgs,
    QualityRetraining,
    QualityRetrainingArgs,
    ScheduledRetraining,
    ScheduledRetrainingArgs,
    TrainingEventStore,
    TrainingEventStoreArgs,
    TrainingMonitor,
    TrainingMonitorArgs,
    TrainingPipeline,
    TrainingPipelineArgs,
    TrainingQueue,
    TrainingQueueArgs,
    TrainingSlotsRef,
    config,
)
from components.budgets import SpendBudgets, SpendBudgetsArgs
from components.platform import naming, quota_guard, tagging
from components.training_pipeline.component import model_catalog as catalog_of

settings = config.load()
pulumi.runtime.register_resource_transform(tagging.trainops_tags)
# Refuses, at preview, any resource beyond an AWS quota (policy sizes, environments, patterns,
# names; components/platform/quota_guard.py).
pulumi.runtime.register_resource_transform(quota_guard.transform())

# The only provider invokes the program makes: who and where we are.
identity = aws.get_caller_identity()
partition = aws.get_partition()
ctx = AwsContext(
    account_id=identity.account_id,
    region=settings.region,
    partition=partition.partition,
    dns_suffix=partition.dns_suffix,
)

foundation = Foundation(
    "foundation",
    FoundationArgs(
        ctx=ctx,
        environment=settings.environment,
        noncurrent_version_days=settings.artifacts.noncurrent_version_days,
        access_log_destination=settings.access_logs.destination,
        access_log_retention_days=settings.access_logs.retention_days,
        # AWS Budgets publishes to the encrypted alert topics: the key lets it, only with budgets
        budget_notifications=settings.spend_guardrails.budgets.enabled,
    ),
)

# What every feature builds on; the pipelines add the model catalog, monitoring the alert
# ladder, event sourcing the bus.
platform = foundation.platform(
    log_retention_days=settings.log_retention_days,
    powertools_layer_version=settings.powertools_layer_version,
    models=settings.models,
    # The training queue's slot ledger (which models train now): the queue creates it; schedule
    # ticks and the stall check use it too, so it is named before any of them is built.
    training_slots=TrainingSlotsRef.for_stack(ctx) if settings.training_queue.enabled else None,
    spend=settings.spend_guardrails,
)

# One SageMaker pipeline per configured model: what every trigger below ends up starting.
pipelines = {
    model_name: TrainingPipeline(
        f"pipeline-{model_name}",
        TrainingPipelineArgs(model_name=model_name, model=model, platform=platform),
    )
    for model_name, model in settings.models.items()
}
platform = platform.with_catalog(catalog_of(pipelines))
dashboard_sources: list[DashboardSources] = []

# ---- Components, each created only when its feature is enabled in the stack config. ----------
# Monitoring comes first: its alert ladder is where every other component puts its alarms.
monitor = None
if settings.monitoring.enabled:
    monitor = TrainingMonitor(
        "monitoring",
        TrainingMonitorArgs(
            config=settings.monitoring,
            platform=platform,
            execution_roles={model: p.execution_role for model, p in pipelines.items()},
        ),
    )
    dashboard_sources.append(monitor.dashboard_sources)
alerts = monitor.ladder if monitor else None
platform = platform.with_alerts(alerts)

# Monthly AWS Budgets per model and for the stack, notifying monitoring's topics (the config
# requires monitoring); created after monitoring, so the topic policies that admit Budgets exist
# before a budget names their topics.
if settings.spend_guardrails.budgets.enabled and monitor is not None:
    budgets = SpendBudgets(
        "budgets",
        SpendBudgetsArgs(platform=platform),
        opts=pulumi.ResourceOptions(depends_on=[monitor]),
    )
    pulumi.export("modelBudgets", budgets.model_budget_names)
    if budgets.stack_budget_name is not None:
        pulumi.export("stackBudget", budgets.stack_budget_name)

# Event sourcing comes before the components that publish to its bus.
if settings.event_sourcing.enabled:
    event_store = TrainingEventStore(
        "event-sourcing",
        TrainingEventStoreArgs(config=settings.event_sourcing, platform=platform),
    )
    platform = platform.with_event_bus(event_store.bus)
    dashboard_sources.append(event_store.dashboard_sources)
    pulumi.export("trainingEventBus", event_store.bus.name)
    pulumi.export("eventStoreTable", event_store.events_table_name)
    pulumi.export("readModelTable", event_store.read_model_table_name)
    pulumi.export("rawEventsBucket", event_store.raw_events_bucket_name)
    pulumi.export("eventArchive", event_store.archive_name)

if settings.scheduled_retraining.enabled:
    retraining = ScheduledRetraining(
        "scheduled-retraining",
        ScheduledRetrainingArgs(config=settings.scheduled_retraining, platform=platform),
    )
    dashboard_sources.append(retraining.dashboard_sources)
    pulumi.export("scheduleGroup", retraining.schedule_group_name)

training_queue = None
if settings.training_queue.enabled:
    training_queue = TrainingQueue(
        "training-queue",
        TrainingQueueArgs(
            config=settings.training_queue,
            platform=platform,
            # The stall check keeps the slot ledger; without monitoring the queue does.
            keep_slots=monitor is None,
        ),
    )
    dashboard_sources.append(training_queue.dashboard_sources)
    pulumi.export("trainingQueueUrl", training_queue.queue_url)
    pulumi.export("trainingDeadLetterQueueUrl", training_queue.dead_letter_queue_url)
    pulumi.export("trainingSlotsTable", training_queue.training_slots_table)

# Quality signals become requests on the training queue (the config requires the queue).
if settings.quality_retraining.enabled and training_queue is not None:
    quality = QualityRetraining(
        "quality-retraining",
        QualityRetrainingArgs(
            config=settings.quality_retraining,
            platform=platform,
            request_queue_url=training_queue.queue_url,
            request_queue_arn=training_queue.queue_arn,
        ),
    )
    dashboard_sources.append(quality.dashboard_sources)
    pulumi.export("qualityLedgerTable", quality.ledger_table_name)

# Approved model versions are deployed to their endpoints (the config requires monitoring).
if settings.approval_deployment.enabled:
    deployment = ApprovalDeployment(
        "approval-deployment",
        ApprovalDeploymentArgs(
            config=settings.approval_deployment,
            platform=platform,
            execution_roles={model: p.execution_role for model, p in pipelines.items()},
        ),
    )
    dashboard_sources.append(deployment.dashboard_sources)
    pulumi.export("deploymentLedgerTable", deployment.ledger_table_name)

# The platform-critical composite alarm is built last (it summarises every escalation), but
# its name is fixed, so components can refer to it before it exists.
platform_critical_alarm = naming.physical_name("platform-critical", max_length=255)

if settings.maintenance_window.enabled:
    window = MaintenanceWindowRetraining(
        "maintenance-window",
        MaintenanceWindowArgs(
            config=settings.maintenance_window,
            platform=platform,
            guard_alarm_name=platform_critical_alarm if alerts else None,
        ),
    )
    dashboard_sources.append(window.dashboard_sources)
    pulumi.export("maintenanceWindowId", window.window_id)
    pulumi.export("maintenanceWindowInstancePolicyArn", window.instance_policy_arn)

if monitor is not None and monitor.ladder.escalations:
    PlatformCriticalAlarm(
        "platform-critical",
        PlatformCriticalAlarmArgs(ladder=monitor.ladder, alarm_name=platform_critical_alarm),
    )

if monitor is not None and settings.monitoring.dashboard:
    dashboard = OperationsDashboard(
        "dashboard",
        OperationsDashboardArgs(
            sources=DashboardSources().merged(*dashboard_sources), region=settings.region
        ),
    )
    pulumi.export("dashboard", dashboard.dashboard_name)

pulumi.export("environment", settings.environment)
pulumi.export("kmsKeyArn", foundation.key_arn)
pulumi.export("kmsKeyAlias", foundation.key_alias)
pulumi.export("artifactsBucket", foundation.artifacts_bucket_name)
if foundation.access_log_bucket_name is not None:
    pulumi.export("accessLogBucket", foundation.access_log_bucket_name)
pulumi.export(
    "sagemakerExecutionRoles", {model: p.execution_role.arn for model, p in pipelines.items()}
)
pulumi.export("pipelines", {model: p.pipeline_name for model, p in pipelines.items()})
if monitor is not None:
    pulumi.export("warningTopicArn", monitor.warning_topic_arn)
    pulumi.export("criticalTopicArn", monitor.critical_topic_arn)
