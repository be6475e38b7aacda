"""Typed stack configuration: the `trainops:` config contract, its defaults and its validation.

Every key a stack file may hold is declared here once. The models mirror the YAML (camelCase
keys), forbid unknown keys, and validate what AWS would otherwise reject half-way through a
`pulumi up`: names, URIs, instance types, schedule expressions, time zones, e-mail addresses and
numeric ranges. `load()` turns every problem into one `pulumi.RunError` whose lines read
``trainops:<key path>: <problem> (got <value>)``; Pulumi prints a RunError without a traceback.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.schedules import (
    rule_schedule_problem,
    schedule_expression_problem,
    ssm_window_schedule_problem,
)
from trainops_runtime import training_request
from trainops_runtime.pipeline_contract import hyperparameter_parameter

NAMESPACE = "trainops"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# SageMaker resource names: alphanumerics and hyphens, no leading/trailing hyphen. Lowercase
# only, because SageMaker lowercases names inside some ARNs and events, and trainops matches
# them exactly; at most 32 characters (SageMaker allows 63) so the stack prefix and suffixes fit.
MODEL_NAME = re.compile(training_request.MODEL_NAME)
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@sha256:[a-f0-9]{64})$"
)
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+(-[a-z0-9]+)?\.[a-z0-9]+$")
HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$")
SLACK_ID = re.compile(r"^[A-Z0-9]{9,15}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
TAG_KEY = re.compile(r"^[\w.:/=+@ -]{1,128}$")


# ---------------------------------------------------------------------------------------------
# Field validators: each raises ValueError with a sentence that says what to do.


def _model_name(value: str) -> str:
    if not MODEL_NAME.match(value):
        raise ValueError(
            "model names must be 1-32 lowercase letters, digits or hyphens, starting and ending "
            "with a letter or digit (SageMaker naming rules)"
        )
    return value


def _ecr_image(value: str) -> str:
    if not ECR_IMAGE.match(value):
        raise ValueError(
            "not an ECR image URI; use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> "
            "or ...@sha256:<digest>"
        )
    return value


# Bucket names S3 reserves for its own features (general purpose bucket naming rules).
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _s3_uri(value: str) -> str:
    match = S3_URI.match(value)
    if (
        not match
        or ".." in match["bucket"]
        or re.match(r"^\d+\.\d+\.\d+\.\d+$", match["bucket"])
        or match["bucket"].startswith(S3_RESERVED_PREFIXES)
        or match["bucket"].endswith(S3_RESERVED_SUFFIXES)
    ):
        raise ValueError("not an S3 URI; use s3://<bucket>/<prefix>/")
    return value


def _instance_type(value: str) -> str:
    if not INSTANCE_TYPE.match(value):
        raise ValueError("not a SageMaker instance type; use an ml.* type such as ml.m5.xlarge")
    return value


def _schedule(value: str) -> str:
    problem = schedule_expression_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _rule_schedule(value: str) -> str:
    problem = rule_schedule_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _ssm_schedule(value: str) -> str:
    problem = ssm_window_schedule_problem(value)
    if problem:
        raise ValueError(problem)
    return value


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("not an IANA time zone; use a name such as UTC or Europe/Berlin")
    return value


def _zoned(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(
            "needs a time zone, e.g. 2027-01-01T00:00:00Z (Scheduler takes RFC 3339 times)"
        )
    return value


def _email(value: str) -> str:
    if len(value) > 254 or not EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


def _https_url(value: str) -> str:
    if not HTTPS_URL.match(value):
        raise ValueError("not an HTTPS URL; SNS delivers to https:// endpoints only")
    return value


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            "CloudWatch Logs does not accept this retention; use one of "
            + ", ".join(str(days) for days in LOG_RETENTION_DAYS)
        )
    return value


# Each hyperparameter becomes a pipeline parameter named `Hp-<name>`: SageMaker allows 256
# characters in a parameter name and 1024 in a parameter value.
HYPERPARAMETER_NAME_MAX = 253
HYPERPARAMETER_VALUE_MAX = 1024


def _hyperparameter_value(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f'SageMaker hyperparameters are strings; quote the value: "{value}"')
    if len(value) > HYPERPARAMETER_VALUE_MAX:
        raise ValueError(
            f"hyperparameter values are at most {HYPERPARAMETER_VALUE_MAX} characters (each "
            "travels as a pipeline parameter value)"
        )
    return value


def _hyperparameter_key(value: str) -> str:
    if not 1 <= len(value) <= HYPERPARAMETER_NAME_MAX:
        raise ValueError(
            f"hyperparameter names must be 1-{HYPERPARAMETER_NAME_MAX} characters (each becomes "
            "a pipeline parameter Hp-<name>, at most 256 characters)"
        )
    return value


ModelName = Annotated[str, AfterValidator(_model_name)]
EcrImage = Annotated[str, AfterValidator(_ecr_image)]
S3Uri = Annotated[str, AfterValidator(_s3_uri)]
InstanceType = Annotated[str, AfterValidator(_instance_type)]
ScheduleExpression = Annotated[str, AfterValidator(_schedule)]
RuleScheduleExpression = Annotated[str, AfterValidator(_rule_schedule)]
SsmScheduleExpression = Annotated[str, AfterValidator(_ssm_schedule)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
ZonedDateTime = Annotated[datetime, AfterValidator(_zoned)]
Email = Annotated[str, AfterValidator(_email)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]
HyperparameterName = Annotated[str, AfterValidator(_hyperparameter_key)]
HyperparameterValue = Annotated[str, BeforeValidator(_hyperparameter_value)]


class ConfigModel(BaseModel):
    """Base for every config object: camelCase keys as in the YAML, unknown keys are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )


# ---------------------------------------------------------------------------------------------
# The contract.


class SpotConfig(ConfigModel):
    """Managed spot training: cheaper, interruptible, resumed from checkpoints."""

    enabled: bool = Field(default=False, description="Train on spot capacity with checkpoints.")
    max_wait_minutes: int | None = Field(
        default=None,
        ge=1,
        le=40320,
        description="Runtime plus time spent waiting for spot capacity (default: 2 x maxRuntime).",
    )


class RegisterModelConfig(ConfigModel):
    """Registration of each trained model in a SageMaker Model Package Group."""

    enabled: bool = Field(default=False, description="Add a RegisterModel step to the pipeline.")
    inference_image: EcrImage | None = Field(
        default=None, description="Image that serves the model (default: the training image)."
    )
    content_types: list[str] = Field(
        default_factory=lambda: ["text/csv"], min_length=1, description="Accepted request types."
    )
    response_types: list[str] = Field(
        default_factory=lambda: ["text/csv"], min_length=1, description="Response MIME types."
    )
    inference_instance_types: list[InstanceType] = Field(
        default_factory=lambda: ["ml.m5.large"],
        min_length=1,
        description="Instance types the model may be deployed on.",
    )


class ModelScheduleConfig(ConfigModel):
    """Per-model override of the scheduled retraining defaults, or an opt-out."""

    enabled: bool = Field(default=True, description="False opts this model out of the schedule.")
    schedule: ScheduleExpression | None = Field(default=None, description="Override the schedule.")
    timezone: TimeZone | None = Field(default=None, description="Override the time zone.")
    only_when_new_data: bool | None = Field(default=None, description="Override onlyWhenNewData.")


class EndpointConfig(ConfigModel):
    """A real-time endpoint serving the model: deployed by trainops, or an existing one."""

    deploy: bool = Field(default=False, description="Create Model, EndpointConfig and Endpoint.")
    name: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$",
        description="Name of an existing endpoint to monitor (required unless deploy).",
    )
    model_data_url: S3Uri | None = Field(
        default=None, description="model.tar.gz to serve (required with deploy)."
    )
    image: EcrImage | None = Field(
        default=None, description="Serving image (default: the training image)."
    )
    variant_name: str = Field(
        default="AllTraffic",
        max_length=63,
        pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$",
        description="Production variant the alarms watch (and that deploy creates).",
    )
    instance_type: InstanceType = Field(default="ml.m5.large", description="Serving instance.")
    initial_instance_count: int = Field(default=1, ge=1, le=100, description="Serving instances.")
    data_capture: bool = Field(
        default=True,
        description="Capture requests and responses to the artifacts bucket (Model Monitor "
        "needs it); for an existing endpoint, whether it already captures.",
    )
    sampling_percent: int = Field(default=100, ge=1, le=100, description="Data capture sample.")
    latency_p99_ms: float = Field(
        default=1000, gt=0, description="p99 ModelLatency that alarms, in milliseconds."
    )
    errors_5xx_threshold: int = Field(
        default=1, ge=1, description="Invocation5XXErrors per 5 minutes that alarm."
    )

    @model_validator(mode="after")
    def _deploy_or_name(self) -> EndpointConfig:
        if self.deploy and self.model_data_url is None:
            raise ValueError("modelDataUrl is required when deploy is true")
        if not self.deploy and self.name is None:
            raise ValueError("name (an existing endpoint) is required when deploy is false")
        return self


class BiasAlarmConfig(ConfigModel):
    """An alarm on one bias metric of one facet, as Clarify publishes it to CloudWatch."""

    metric: str = Field(pattern=r"^[A-Za-z0-9_]{1,64}$", description="Short name, e.g. DPPL.")
    threshold: float = Field(gt=0, description="Alarm when |value| exceeds this.")
    stage: Literal["Pre-training", "Post-Training"] = Field(
        default="Post-Training", description="BiasStage dimension."
    )
    label: str = Field(min_length=1, description="Label dimension (the target attribute).")
    label_value: str = Field(min_length=1, description="LabelValue dimension.")
    facet: str = Field(min_length=1, description="Facet dimension (the sensitive attribute).")
    facet_value: str = Field(min_length=1, description="FacetValue dimension.")


class BiasMonitoringConfig(ConfigModel):
    """SageMaker Clarify bias drift monitoring of the model's endpoint."""

    ground_truth: S3Uri = Field(description="S3 prefix of the ground-truth labels.")
    analysis_config: S3Uri = Field(description="S3 URI of the Clarify analysis_config.json.")
    schedule: Literal["hourly", "daily"] = Field(default="daily", description="How often it runs.")
    instance_type: InstanceType = Field(default="ml.m5.xlarge", description="Monitoring instance.")
    max_runtime_minutes: int = Field(
        default=60, ge=1, le=60, description="Per run (SageMaker allows at most one hour)."
    )
    clarify_image: EcrImage | None = Field(
        default=None,
        description="Clarify container (default: AWS's image for us-east-1/2, us-west-1/2).",
    )
    alarms: list[BiasAlarmConfig] = Field(
        default_factory=list, max_length=20, description="Alarms on published bias metrics."
    )


class ModelConfig(ConfigModel):
    """One model the platform trains (`trainops:models.<name>`)."""

    image: EcrImage = Field(description="ECR URI of the training image (tag or digest).")
    training_data: S3Uri = Field(description="S3 prefix holding the training data.")
    instance_type: InstanceType = Field(
        default="ml.m5.xlarge", description="SageMaker training instance type (`ml.*`)."
    )
    instance_count: int = Field(default=1, ge=1, le=100, description="Training instances per job.")
    volume_size_gb: int = Field(
        default=50, ge=1, le=16384, description="EBS volume per training instance, in GB."
    )
    max_runtime_minutes: int = Field(
        default=240,
        ge=1,
        le=40320,
        description="Hard stop for one training job (SageMaker allows up to 28 days).",
    )
    hyperparameters: dict[HyperparameterName, HyperparameterValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Hyperparameters passed to the job; values are strings (quote numbers).",
    )
    spot: SpotConfig = Field(default_factory=SpotConfig, description="Managed spot training.")
    register_model: RegisterModelConfig = Field(
        default_factory=RegisterModelConfig, description="Model registry step."
    )
    scheduled_retraining: ModelScheduleConfig = Field(
        default_factory=ModelScheduleConfig, description="Per-model schedule override or opt-out."
    )
    endpoint: EndpointConfig | None = Field(
        default=None, description="Endpoint serving this model (alarms; optional deployment)."
    )
    bias_monitoring: BiasMonitoringConfig | None = Field(
        default=None, description="Clarify bias drift monitoring (needs an endpoint)."
    )

    @model_validator(mode="after")
    def _bias_needs_captured_endpoint(self) -> ModelConfig:
        if self.bias_monitoring is not None and (
            self.endpoint is None or not self.endpoint.data_capture
        ):
            raise ValueError(
                "biasMonitoring needs an endpoint with data capture: set endpoint (deploy: true, "
                "or the name of an existing endpoint with dataCapture: true)"
            )
        return self

    @model_validator(mode="after")
    def _hyperparameters_map_to_distinct_parameters(self) -> ModelConfig:
        by_parameter: dict[str, list[str]] = {}
        for name in self.hyperparameters:
            by_parameter.setdefault(hyperparameter_parameter(name), []).append(name)
        clashes = [names for names in by_parameter.values() if len(names) > 1]
        if clashes:
            raise ValueError(
                "hyperparameters "
                + "; ".join(" and ".join(sorted(names)) for names in clashes)
                + " become the same pipeline parameter (characters other than letters, digits, "
                "'-' and '_' turn into '-'); rename one"
            )
        return self

    @model_validator(mode="after")
    def _spot_wait_covers_runtime(self) -> ModelConfig:
        wait = self.spot.max_wait_minutes
        if self.spot.enabled and wait is not None and wait < self.max_runtime_minutes:
            raise ValueError(
                f"spot.maxWaitMinutes ({wait}) must be at least maxRuntimeMinutes "
                f"({self.max_runtime_minutes}): SageMaker counts the runtime inside the wait"
            )
        return self

    @property
    def spot_max_wait_minutes(self) -> int:
        """The spot wait limit SageMaker gets: configured, or twice the runtime (capped)."""
        return self.spot.max_wait_minutes or min(2 * self.max_runtime_minutes, 40320)


class SlackConfig(ConfigModel):
    """A Slack channel that receives the alert topics through AWS Chatbot."""

    workspace_id: str = Field(pattern=SLACK_ID.pattern, description="Slack workspace (team) ID.")
    channel_id: str = Field(pattern=SLACK_ID.pattern, description="Slack channel ID.")


class HostAlarmsConfig(ConfigModel):
    """Thresholds of the training-host alarms (Metrics Insights over all training jobs)."""

    disk_percent: float = Field(default=90, gt=0, le=100, description="Disk use that alarms.")
    memory_percent: float = Field(default=90, gt=0, le=100, description="Memory use that alarms.")
    gpu_idle_percent: float = Field(
        default=5, ge=0, lt=100, description="GPU use below which a GPU host counts as idle."
    )
    gpu_idle_minutes: int = Field(
        default=30,
        ge=5,
        le=175,
        description="Minutes a GPU host may idle before it alarms (Metrics Insights alarms see "
        "at most 3 hours).",
    )


# SSM Contacts `Stage.DurationInMinutes`: 0-30 (API reference, SSM Contacts Stage).
SSM_CONTACTS_STAGE_MAX = 30


class IncidentContact(ConfigModel):
    """A person Incident Manager engages, by e-mail."""

    alias: str = Field(pattern=r"^[a-z0-9_-]{1,255}$", description="Contact alias.")
    name: str = Field(min_length=1, max_length=255, description="Display name.")
    email: Email = Field(description="Where engagements go.")


class IncidentManagerConfig(ConfigModel):
    """Optional AWS Systems Manager Incident Manager escalation for critical alarms."""

    enabled: bool = Field(default=False, description="Engage Incident Manager on critical alarms.")
    contacts: list[IncidentContact] = Field(
        default_factory=list, max_length=10, description="Engaged in order, one per stage."
    )
    create_replication_set: bool = Field(
        default=False,
        description="Create the account's Incident Manager replication set (once per account).",
    )
    stage_minutes: int | None = Field(
        default=None,
        ge=1,
        le=SSM_CONTACTS_STAGE_MAX,
        description="Minutes each contact has to engage before the next one is engaged "
        "(SSM Contacts allows at most 30; default: escalateAfterMinutes, capped at 30).",
    )

    def stage_minutes_for(self, escalate_after_minutes: int) -> int:
        """The escalation plan's stage duration: configured, or the alarm escalation delay
        within what SSM Contacts accepts."""
        if self.stage_minutes is not None:
            return self.stage_minutes
        return min(escalate_after_minutes, SSM_CONTACTS_STAGE_MAX)

    @model_validator(mode="after")
    def _contacts_when_enabled(self) -> IncidentManagerConfig:
        if self.enabled and not self.contacts:
            raise ValueError("contacts: at least one contact is required when enabled")
        return self


class MonitoringConfig(ConfigModel):
    """Alert topics, alarms and escalation (`trainops:monitoring`)."""

    enabled: bool = Field(default=False, description="Create the monitoring component.")
    alert_emails: list[Email] = Field(
        default_factory=list, max_length=20, description="E-mail subscribers of the alert topics."
    )
    alert_webhooks: list[HttpsUrl] = Field(
        default_factory=list,
        max_length=10,
        description="HTTPS endpoints (paging tools) subscribed to the critical topic.",
    )
    slack: SlackConfig | None = Field(
        default=None, description="Slack channel for both topics through AWS Chatbot."
    )
    escalate_after_minutes: int = Field(
        default=30,
        ge=5,
        le=1440,
        description="Minutes an alarm may stay in ALARM before it escalates to `critical`.",
    )
    escalate: bool = Field(
        default=True,
        description="Create escalation twins (off: alarms notify `warning` only, half the bill).",
    )
    lambda_throttle_alarms: bool = Field(
        default=True,
        description="A Throttles alarm per Lambda function, beside its Errors alarm.",
    )
    stall_check_schedule: RuleScheduleExpression = Field(
        default="rate(5 minutes)", description="How often running jobs are checked for stalls."
    )
    overrun_fraction: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Share of maxRuntimeMinutes after which a running job counts as overrunning.",
    )
    stalled_after_minutes: int = Field(
        default=60,
        ge=5,
        le=1440,
        description="Minutes without progress before a job counts as stalled: no secondary-status "
        "change, or, while training, no log output.",
    )
    host_alarms: HostAlarmsConfig = Field(
        default_factory=HostAlarmsConfig, description="Training-host alarm thresholds."
    )
    incident_manager: IncidentManagerConfig = Field(
        default_factory=IncidentManagerConfig, description="Incident Manager escalation."
    )
    dashboard: bool = Field(default=True, description="Create the operations dashboard.")


class ScheduledRetrainingConfig(ConfigModel):
    """Retraining on a schedule (`trainops:scheduledRetraining`)."""

    enabled: bool = Field(default=False, description="Create the scheduled retraining component.")
    schedule: ScheduleExpression = Field(
        default="cron(0 6 * * ? *)",
        description="EventBridge Scheduler expression: `cron(...)`, `rate(...)` or `at(...)`.",
    )
    timezone: TimeZone = Field(default="UTC", description="IANA time zone of the schedule.")
    flexible_window_minutes: int = Field(
        default=0,
        ge=0,
        le=1440,
        description="Let Scheduler start up to this many minutes late to spread load (0: exact).",
    )
    start_date: ZonedDateTime | None = Field(
        default=None, description="No run before this time (ISO 8601, e.g. 2027-01-01T00:00:00Z)."
    )
    end_date: ZonedDateTime | None = Field(default=None, description="No run after this time.")
    only_when_new_data: bool = Field(
        default=False,
        description="Skip a run when nothing under trainingData changed since the last success.",
    )
    notifications: Literal["warning", "dedicated", "none"] = Field(
        default="warning",
        description="Where start/finish notices go: warning topic, a dedicated one, or none.",
    )
    notification_emails: list[Email] = Field(
        default_factory=list, max_length=20, description="Subscribers of the dedicated topic."
    )
    max_event_age_minutes: int = Field(
        default=60, ge=1, le=1440, description="How late Scheduler may still deliver a tick."
    )
    retry_attempts: int = Field(
        default=5, ge=0, le=185, description="Scheduler's delivery retries before the DLQ."
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> ScheduledRetrainingConfig:
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValueError("endDate must be after startDate")
        if self.notification_emails and self.notifications != "dedicated":
            raise ValueError("notificationEmails only apply with notifications: dedicated")
        return self


class TrainingQueueConfig(ConfigModel):
    """The SQS-fed training pipeline (`trainops:trainingQueue`)."""

    enabled: bool = Field(default=False, description="Create the training queue component.")
    max_concurrent_trainings: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Pipeline executions allowed to run at once across the platform.",
    )
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per request before it fails for good."
    )
    batch_size: int = Field(default=5, ge=1, le=10, description="Messages per worker invocation.")
    worker_concurrency: int = Field(
        default=2, ge=2, le=50, description="Worker invocations at once (SQS maximum concurrency)."
    )
    worker_timeout_seconds: int = Field(
        default=60, ge=10, le=900, description="Worker timeout; visibility timeout is 6x this."
    )
    max_receive_count: int | None = Field(
        default=None,
        ge=5,
        le=1000,
        description="Receives before the DLQ; waiting for capacity or for the model's running "
        "training spends receives too (default: as many as fit in retentionDays at "
        "backoffMaxSeconds, so a waiting request reaches the DLQ before SQS would expire it).",
    )
    backoff_base_seconds: int = Field(
        default=30, ge=1, le=900, description="First delay before a deferred message returns."
    )
    backoff_max_seconds: int = Field(
        default=900,
        ge=1,
        le=36000,
        description="Longest delay between two deliveries (SQS keeps a received message "
        "invisible for at most 12 hours in all).",
    )
    retention_days: int = Field(
        default=4, ge=1, le=13, description="How long requests wait (the DLQ keeps 14 days)."
    )
    oldest_message_alarm_minutes: int | None = Field(
        default=None,
        ge=5,
        le=20160,
        description="Age of the oldest waiting request that alarms (default: the longest run of "
        "any model plus an hour, at least 120: a request may wait for its model's training).",
    )
    notify_success: bool = Field(
        default=False, description="Also notify the warning topic when a training succeeds."
    )

    @model_validator(mode="after")
    def _backoff_in_order(self) -> TrainingQueueConfig:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoffMaxSeconds must be at least backoffBaseSeconds")
        if self.max_receive_count is not None and (
            self.max_receive_count * self.backoff_max_seconds > self.retention_seconds
        ):
            raise ValueError(
                f"maxReceiveCount ({self.max_receive_count}) x backoffMaxSeconds "
                f"({self.backoff_max_seconds}) is longer than retentionDays "
                f"({self.retention_days}): a waiting request would expire in the queue before "
                "reaching the DLQ; lower maxReceiveCount or raise retentionDays"
            )
        return self

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 24 * 3600

    @property
    def effective_max_receive_count(self) -> int:
        """Configured, or as many receives as fit in 90 % of the retention at the longest
        backoff: a request that keeps waiting is dead-lettered (and alarms) before it expires."""
        if self.max_receive_count is not None:
            return self.max_receive_count
        return max(5, min(1000, int(0.9 * self.retention_seconds / self.backoff_max_seconds)))


class TagSelector(ConfigModel):
    """Instances selected by one tag key and its accepted values."""

    key: str = Field(pattern=TAG_KEY.pattern, description="Tag key, e.g. `Role`.")
    values: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        min_length=1, max_length=50, description="Accepted tag values, e.g. `[trainer]`."
    )


class MaintenanceWindowConfig(ConfigModel):
    """SSM maintenance-window retraining on tagged instances (`trainops:maintenanceWindow`)."""

    enabled: bool = Field(default=False, description="Create the maintenance-window component.")
    schedule: SsmScheduleExpression = Field(
        default="cron(0 4 ? * SUN *)",
        description="When the window opens (Systems Manager cron/rate/at syntax).",
    )
    timezone: TimeZone = Field(default="UTC", description="IANA time zone of the schedule.")
    duration_hours: int = Field(default=3, ge=1, le=24, description="How long the window is open.")
    cutoff_hours: int = Field(
        default=1, ge=0, le=23, description="Hours before the end when no new task starts."
    )
    target_tag: TagSelector | None = Field(
        default=None, description="Tag that selects the training instances."
    )
    resource_group: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9_.-]{1,300}$",
        description="Alternatively, a resource group whose instances train.",
    )
    models: list[ModelName] = Field(
        default_factory=list, description="Models retrained in the window (default: all)."
    )
    command: str = Field(
        default="/opt/trainops/bin/retrain",
        pattern=r"^[A-Za-z0-9_./-]{1,256}$",
        description="Executable on the hosts; called with --model <name> --data <s3 uri> [extra].",
    )
    extra_args: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9 =._:/,-]{0,512}$",
        description="Extra arguments (no shell metacharacters).",
    )
    command_timeout_minutes: int = Field(
        default=120, ge=1, le=2880, description="How long one retraining command may run."
    )
    max_concurrency: str = Field(
        default="1",
        pattern=r"^([1-9][0-9]*|[1-9][0-9]?%|100%)$",
        description="Hosts running at once (a number or a percentage).",
    )
    max_errors: str = Field(
        default="1",
        pattern=r"^([0-9]+|[0-9][0-9]?%|100%)$",
        description="Failed hosts tolerated before the task stops (number or percentage).",
    )
    guard_with_critical_alarm: bool = Field(
        default=False,
        description="While the platform's critical alarm is in ALARM, hosts refuse to start and "
        "running retraining is cancelled (the window task's alarm, done by a function).",
    )

    @model_validator(mode="after")
    def _window_is_consistent(self) -> MaintenanceWindowConfig:
        if self.cutoff_hours >= self.duration_hours:
            raise ValueError(
                f"cutoffHours ({self.cutoff_hours}) must be less than durationHours "
                f"({self.duration_hours}), or no task could ever start"
            )
        if self.enabled and (self.target_tag is None) == (self.resource_group is None):
            raise ValueError(
                "set exactly one of targetTag ({key: <tag>, values: [<value>, ...]}) and "
                "resourceGroup when enabled"
            )
        return self


class NotebookConfig(ConfigModel):
    """An optional, hardened SageMaker notebook for exploring runs and events."""

    enabled: bool = Field(default=False, description="Create the notebook instance.")
    instance_type: str = Field(
        default="ml.t3.medium", pattern=INSTANCE_TYPE.pattern, description="Notebook instance type."
    )
    volume_size_gb: int = Field(default=20, ge=5, le=16384, description="Notebook volume size.")
    idle_minutes: int = Field(
        default=60, ge=5, le=1440, description="Stop the notebook after this long without activity."
    )
    subnet_id: str | None = Field(
        default=None,
        pattern=r"^subnet-[0-9a-f]{8,17}$",
        description="Run in this VPC subnet, without direct internet access.",
    )
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list, max_length=5, description="Security groups (required with subnetId)."
    )

    @model_validator(mode="after")
    def _security_groups_with_subnet(self) -> NotebookConfig:
        if self.subnet_id and not self.security_group_ids:
            raise ValueError("securityGroupIds are required when subnetId is set")
        return self


class EventSourcingConfig(ConfigModel):
    """Event store of the training workflow (`trainops:eventSourcing`)."""

    enabled: bool = Field(default=False, description="Create the event-sourcing component.")
    archive_retention_days: int = Field(
        default=365,
        ge=0,
        le=36500,
        description="Days the EventBridge archive keeps events (0 keeps them forever).",
    )
    immutable: bool = Field(
        default=False, description="S3 Object Lock on the raw-event bucket (audit trail)."
    )
    immutable_retention_days: int = Field(
        default=365, ge=1, le=36500, description="Object Lock retention of raw events."
    )
    raw_events_noncurrent_days: int = Field(
        default=365, ge=1, le=3650, description="Days replaced raw-event versions are kept."
    )
    protect: bool | None = Field(
        default=None,
        description="Pulumi `protect` on tables and bucket (default: on when environment is prod).",
    )
    projector_max_record_age_seconds: int = Field(
        default=3600,
        ge=60,
        le=604800,
        description="Older stream records go to the projector's failure queue.",
    )
    notebook: NotebookConfig = Field(
        default_factory=NotebookConfig, description="Optional exploration notebook."
    )


class ArtifactsConfig(ConfigModel):
    """The shared artifacts bucket (`trainops:artifacts`)."""

    noncurrent_version_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a replaced or deleted artifact version is kept before it expires.",
    )


class AccessLogsConfig(ConfigModel):
    """An audit trail of every request to the stack's buckets (`trainops:accessLogs`)."""

    destination: Literal["server", "cloudtrail"] = Field(
        default="server",
        description="`server`: S3 server access logs into the stack's access-log bucket "
        "(SSE-S3). `cloudtrail`: no log bucket; a CloudTrail trail you run records S3 data "
        "events for the buckets (README, Security conventions).",
    )
    retention_days: int = Field(
        default=90, ge=1, le=3650, description="Days server access logs are kept."
    )


class StackConfig(ConfigModel):
    """The whole `trainops:` namespace of one stack."""

    environment: Annotated[str, Field(pattern=ENVIRONMENT.pattern)] = Field(
        description="Environment name used in names and tags (lowercase, max 16 characters)."
    )
    models: dict[ModelName, ModelConfig] = Field(
        default_factory=dict, description="The models the platform trains, by name."
    )
    log_retention_days: LogRetentionDays = Field(
        default=30, description="Retention of every log group the stack creates."
    )
    powertools_layer_version: int = Field(
        default=27,
        ge=1,
        description="Version of AWS's published Powertools for AWS Lambda (Python) V3 layer.",
    )
    artifacts: ArtifactsConfig = Field(
        default_factory=ArtifactsConfig, description="Artifacts bucket settings."
    )
    access_logs: AccessLogsConfig = Field(
        default_factory=AccessLogsConfig,
        description="Access logging of the artifacts and raw-events buckets.",
    )
    monitoring: MonitoringConfig = Field(
        default_factory=MonitoringConfig,
        description="Alert topics, alarms, escalation, bias monitoring and the dashboard.",
    )
    scheduled_retraining: ScheduledRetrainingConfig = Field(
        default_factory=ScheduledRetrainingConfig,
        description="Retraining every model on a schedule (EventBridge Scheduler).",
    )
    training_queue: TrainingQueueConfig = Field(
        default_factory=TrainingQueueConfig,
        description="Training requests through an SQS FIFO queue, with back-pressure.",
    )
    maintenance_window: MaintenanceWindowConfig = Field(
        default_factory=MaintenanceWindowConfig,
        description="Retraining on your own tagged hosts in an SSM maintenance window.",
    )
    event_sourcing: EventSourcingConfig = Field(
        default_factory=EventSourcingConfig,
        description="Event bus, archive, event store, projections and replay.",
    )

    _region: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _maintenance_models_exist(self) -> StackConfig:
        unknown = sorted(set(self.maintenance_window.models) - set(self.models))
        if unknown:
            raise ValueError(
                f"maintenanceWindow.models: {', '.join(unknown)} are not configured models; "
                f"known: {', '.join(sorted(self.models)) or 'none'}"
            )
        window = self.maintenance_window
        if (
            window.enabled
            and window.guard_with_critical_alarm
            and not (self.monitoring.enabled and self.monitoring.escalate)
        ):
            raise ValueError(
                "maintenanceWindow.guardWithCriticalAlarm: needs monitoring.enabled and "
                "monitoring.escalate (the platform-critical alarm summarises escalations)"
            )
        return self

    @model_validator(mode="after")
    def _notifications_need_their_topic(self) -> StackConfig:
        retraining = self.scheduled_retraining
        if (
            retraining.enabled
            and retraining.notifications == "warning"
            and not self.monitoring.enabled
        ):
            raise ValueError(
                "scheduledRetraining.notifications: 'warning' needs monitoring.enabled: true; "
                "enable monitoring, or use 'dedicated' or 'none'"
            )
        return self

    @property
    def region(self) -> str:
        """The stack's AWS region (`aws:region`)."""
        return self._region

    @property
    def oldest_request_alarm_minutes(self) -> int:
        """`trainingQueue.oldestMessageAlarmMinutes`, or the longest run of any model plus an
        hour (at least 120): one model trains one request at a time, so the next may wait that
        long without anything being wrong."""
        configured = self.training_queue.oldest_message_alarm_minutes
        if configured is not None:
            return configured
        longest = max(
            (
                max(m.max_runtime_minutes, m.spot_max_wait_minutes if m.spot.enabled else 0)
                for m in self.models.values()
            ),
            default=0,
        )
        return min(20160, max(120, longest + 60))


# ---------------------------------------------------------------------------------------------
# Loading and error reporting.


class ConfigError(ValueError):
    """Invalid stack config; ``problems`` holds one ``key: problem (got value)`` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid stack configuration:\n  "
            + "\n  ".join(problems)
            + "\nFix the keys above in Pulumi.<stack>.yaml (or with `pulumi config set --path`)."
        )


def _decode(value: Any) -> Any:
    """Config values arrive as strings, objects and lists JSON-encoded (as the CLI sends them)."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _model_at(path: Iterable[Any]) -> type[BaseModel] | None:
    """The config model class that sits at a key path, to list its valid keys."""
    model: type[BaseModel] | None = StackConfig
    for part in path:
        if model is None:
            return None
        field = next(
            (f for f in model.model_fields.values() if f.alias == part),
            None,
        )
        if field is None:
            # a dict key (model name) or list index: keep the model of the dict's values
            continue
        model = _field_model(field.annotation)
    return model


def _field_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _field_model(arg)
        if found is not None:
            return found
    return None


def _valid_keys(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    return ", ".join(sorted(f.alias or name for name, f in model.model_fields.items()))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format(error: Mapping[str, Any]) -> str:
    loc = [part for part in error["loc"] if part != "[key]"]
    path = ".".join(str(part) for part in loc)
    key = f"{NAMESPACE}:{path}" if path else NAMESPACE
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = _valid_keys(parent)
        return f"{key}: unknown key; valid keys are {valid} (got {_shown(error['input'])})"
    if kind == "missing":
        return f"{key}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:  # a rule across several keys: the message names them
        return f"{NAMESPACE}:{message}"
    if isinstance(error["input"], (dict, list)) and kind == "value_error":
        return f"{key}: {message}"  # a rule over an object: its keys are in the message
    return f"{key}: {message} (got {_shown(error['input'])})"


def parse(raw: Mapping[str, Any]) -> StackConfig:
    """Validates a stack's config map (``"trainops:key" -> value``, as Pulumi passes it).

    Raises ConfigError listing every problem at once.
    """
    data = {
        key.split(":", 1)[1]: _decode(value)
        for key, value in raw.items()
        if key.startswith(f"{NAMESPACE}:")
    }
    problems: list[str] = []
    region = raw.get("aws:region")
    if region is None:
        problems.append("aws:region: required key is missing; set it, e.g. `aws:region: us-east-1`")
    elif not isinstance(region, str) or not REGION.match(region):
        problems.append(
            f"aws:region: not an AWS region name such as us-east-1 (got {_shown(region)})"
        )
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        problems.extend(_format(item) for item in error.errors())
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    config._region = str(region)
    return config


def current_config_map() -> dict[str, Any]:
    """Every config value of the running program, keyed ``namespace:key``.

    pulumi.Config only answers for keys you already know; to report unknown (misspelled) keys we
    need the whole map, which the language host passes in PULUMI_CONFIG (and tests/mocks set
    with `pulumi.runtime.set_all_config`).
    """
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415 - internal, read once

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def load() -> StackConfig:
    """Loads and validates the running stack's config; invalid config stops the program cleanly."""
    try:
        return parse(current_config_map())
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
