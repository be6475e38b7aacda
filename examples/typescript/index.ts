// trainops from TypeScript: the same stack as examples/yaml, through the SDK that
// `pulumi package add` generates (sdks/example-org-trainops, package.json's dependency).
// Example values only (AWS's documented example account 123456789012, example-ml-data buckets,
// example.com addresses): replace them with yours.
//
// tests/package/test_examples.py checks this file against package/schema.json without a
// TypeScript compiler, so it keeps to a small subset: `import * as x from "..."`, `const`
// declarations of object, array, string, number and boolean literals, references to other
// constants and to resource outputs (`foundation.keyArn`), shorthand properties, `...spread`
// of a constant, and `new trainops.<Component>("name", { ... })`. Anything else fails that test
// with the line it found.
import * as trainops from "@example-org/trainops";

const environment = "dev";

// The stack's models, as `trainops:models` holds them in a stack file (docs/configuration.md).
const models = {
    churn: {
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1.4.2",
        instanceType: "ml.m5.xlarge",
        trainingData: "s3://example-ml-data/churn/train/",
        maxRuntimeMinutes: 240,
        hyperparameters: {
            epochs: "20",
            learning_rate: "0.05",
        },
        // Its monthly AWS Budget (SpendBudgets), on the cost tagged trainops:model=churn.
        monthlyBudget: 150,
        // Trained versions are registered for approval; each version a person approves replaces
        // the one trainops-dev--churn serves (ApprovalDeployment), blue/green, rolled back when
        // its 5xx or latency alarm fires during the bake.
        registerModel: {
            enabled: true,
        },
        endpoint: {
            deploy: true,
            modelDataUrl: "s3://example-ml-data/churn/model/model.tar.gz",
            deployOnApproval: true,
        },
    },
    fraud: {
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:2.0.0",
        instanceType: "ml.g5.xlarge",
        trainingData: "s3://example-ml-data/fraud/train/",
        maxRuntimeMinutes: 480,
        monthlyBudget: 400,
        // Retrained through the queue when the team's evaluation service reports it degraded
        // (and when an alarm named trainops-dev--fraud--quality* fires: QualityRetraining).
        qualityRetraining: {
            eventPatterns: [
                {
                    source: ["com.example.model-quality"],
                    "detail-type": ["Model Quality Degraded"],
                    detail: {
                        model: ["fraud"],
                    },
                },
            ],
        },
    },
};

// No run may cost more than $20 (its projected maximum), on these instance families only.
const spendGuardrails = {
    maxCostPerRun: 20,
    allowedInstanceTypes: ["ml.m5.*", "ml.g5.*"],
};

// The stack's KMS key, artifacts bucket and access-log bucket: every other component's
// `platform` is made of these outputs.
const foundation = new trainops.Platform("foundation", {
    environment,
    artifacts: {
        noncurrentVersionDays: 30,
    },
    // AWS Budgets may publish to the encrypted alert topics (the stack has SpendBudgets).
    budgetNotifications: true,
});

const platform = {
    environment,
    keyArn: foundation.keyArn,
    artifactsBucketName: foundation.artifactsBucketName,
    artifactsBucketArn: foundation.artifactsBucketArn,
    accessLogsBucket: foundation.accessLogsBucket,
    logRetentionDays: 14,
};

// One SageMaker pipeline and execution role per model.
const churnPipeline = new trainops.TrainingPipeline("pipeline-churn", {
    modelName: "churn",
    model: models.churn,
    spendGuardrails,
    platform,
});
const fraudPipeline = new trainops.TrainingPipeline("pipeline-fraud", {
    modelName: "fraud",
    model: models.fraud,
    spendGuardrails,
    platform,
});

// What every feature shares: the platform, the models and the spend guardrails; the stack has
// a TrainingQueue, whose slot ledger the others claim and keep.
const stack = {
    platform,
    models,
    spendGuardrails,
    trainingSlots: true,
};

// Each model's execution role, for the components that act as it.
const executionRoles = {
    churn: {
        arn: churnPipeline.executionRoleArn,
        name: churnPipeline.executionRoleName,
    },
    fraud: {
        arn: fraudPipeline.executionRoleArn,
        name: fraudPipeline.executionRoleName,
    },
};

// Alert topics, failure rules and the stall check; its topics are every other feature's
// `alerts`, so it comes first (its own stack has no alerts or event bus).
const monitoring = new trainops.TrainingMonitor("monitoring", {
    stack,
    config: {
        alertEmails: ["ml-oncall@example.com"],
        // dev stays cheap: alarms notify `warning` only (no escalation twins), no per-function
        // Throttles alarms; `alerts` below says the same.
        escalate: false,
        lambdaThrottleAlarms: false,
        dashboard: false,
    },
    executionRoles,
});

const alerts = {
    warningTopicArn: monitoring.warningTopicArn,
    criticalTopicArn: monitoring.criticalTopicArn,
    escalate: false,
    lambdaThrottleAlarms: false,
};

// Monthly AWS Budgets: churn's $150 and fraud's $400 (their `monthlyBudget`) and the stack's
// $1000, notifying the alert topics (actual cost from 100%: critical). Created after
// monitoring, before the event store, as the Python program does (it publishes no events).
const budgets = new trainops.SpendBudgets("budgets", {
    stack: { ...stack, alerts },
    config: {
        stackMonthlyLimit: 1000,
    },
});

// The training event bus, archive and event store; its bus is the other features' `eventBus`.
const eventSourcing = new trainops.TrainingEventStore("event-sourcing", {
    stack: { ...stack, alerts },
    config: {
        archiveRetentionDays: 30,
    },
});

const eventBus = {
    name: eventSourcing.eventBusName,
    arn: eventSourcing.eventBusArn,
};

// One EventBridge Scheduler schedule per model (06:00 UTC every day).
const scheduledRetraining = new trainops.ScheduledRetraining("scheduled-retraining", {
    stack: { ...stack, alerts, eventBus },
    config: {
        schedule: "cron(0 6 * * ? *)",
        timezone: "UTC",
    },
});

// The FIFO queue of training requests (`trainops submit`), at most 2 trainings at once.
const trainingQueue = new trainops.TrainingQueue("training-queue", {
    stack: { ...stack, alerts, eventBus },
    config: {
        maxConcurrentTrainings: 2,
    },
});

// Quality signals become requests on the training queue: at most 2 quality retrains of a model
// a day, 6 hours apart.
const qualityRetraining = new trainops.QualityRetraining("quality-retraining", {
    stack: { ...stack, alerts, eventBus },
    config: {
        cooldownMinutes: 360,
        maxPerDay: 2,
    },
    trainingQueue: {
        url: trainingQueue.queueUrl,
        arn: trainingQueue.queueArn,
    },
});

// Approved versions of the models with endpoint.deployOnApproval (churn) go to their
// endpoints, running as the model's execution role.
const approvalDeployment = new trainops.ApprovalDeployment("approval-deployment", {
    stack: { ...stack, alerts, eventBus },
    executionRoles,
});

// Retraining on your own hosts tagged Role=trainer, Sundays 04:00 UTC.
const maintenanceWindow = new trainops.MaintenanceWindowRetraining("maintenance-window", {
    stack: { ...stack, alerts, eventBus },
    config: {
        schedule: "cron(0 4 ? * SUN *)",
        targetTag: {
            key: "Role",
            values: ["trainer"],
        },
    },
});

export const kmsKeyArn = foundation.keyArn;
export const artifactsBucket = foundation.artifactsBucketName;
export const churnPipelineName = churnPipeline.pipelineName;
export const fraudPipelineName = fraudPipeline.pipelineName;
export const warningTopicArn = monitoring.warningTopicArn;
export const criticalTopicArn = monitoring.criticalTopicArn;
export const trainingEventBus = eventSourcing.eventBusName;
export const scheduleGroup = scheduledRetraining.scheduleGroupName;
export const trainingQueueUrl = trainingQueue.queueUrl;
export const trainingDeadLetterQueueUrl = trainingQueue.deadLetterQueueUrl;
export const qualityLedgerTable = qualityRetraining.ledgerTableName;
export const deploymentLedgerTable = approvalDeployment.ledgerTableName;
export const modelBudgets = budgets.modelBudgetNames;
export const stackBudget = budgets.stackBudgetName;
export const maintenanceWindowId = maintenanceWindow.windowId;
export const maintenanceWindowInstancePolicyArn = maintenanceWindow.instancePolicyArn;
