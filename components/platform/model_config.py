"""One model's config (`trainops:models.<name>`): what every feature reads about the models
the stack trains (image, data, instances, spot, registry, endpoint, bias monitoring)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    model_validator,
)

from components.platform.config_types import (
    ConfigModel,
    EcrImage,
    EventPattern,
    HyperparameterName,
    HyperparameterValue,
    InstanceCount,
    InstanceType,
    S3Uri,
    ScheduleExpression,
    TimeZone,
    nested,
)
from components.platform.spend_config import Dollars
from trainops_runtime.pipeline_contract import hyperparameter_parameter

# SageMaker stops a training job after at most 28 days, runtime and spot wait alike
# (StoppingCondition MaxRuntimeInSeconds, MaxWaitTimeInSeconds).
SAGEMAKER_MAX_TRAINING_MINUTES = 28 * 24 * 60
# Event patterns one model may name as quality signals (one rule each).
MAX_QUALITY_PATTERNS = 5
# Minutes one training job may take, running or waiting for spot capacity.
TrainingMinutes = Annotated[int, Field(ge=1, le=SAGEMAKER_MAX_TRAINING_MINUTES)]


class SpotConfig(ConfigModel):
    """Managed spot training: cheaper, interruptible, resumed from checkpoints."""

    enabled: bool = Field(default=False, description="Train on spot capacity with checkpoints.")
    max_wait_minutes: TrainingMinutes | None = Field(
        default=None,
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


# SageMaker stops a processing job after at most 9 days (ProcessingStoppingCondition).
SAGEMAKER_MAX_PROCESSING_MINUTES = 9 * 24 * 60
# A JSON path inside the evaluation report as SageMaker's JsonGet reads it: names joined by
# dots, each optionally indexed, e.g. `metrics.auc.value` or `classes[0].f1`.
METRIC_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])*)*$")


def _metric_path(value: str) -> str:
    if len(value) > 256 or not METRIC_PATH.match(value):
        raise ValueError(
            "not a JSON path into the evaluation report; use names joined by dots, each "
            "optionally indexed, e.g. metrics.auc.value or classes[0].f1"
        )
    return value


def _finite_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("the threshold must be a number, e.g. 0.8")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("the threshold must be a number, e.g. 0.8") from None
    if not math.isfinite(number):
        raise ValueError("the threshold must be a finite number (not NaN or infinity)")
    return number


class EvaluationConfig(ConfigModel):
    """An evaluation gate: the trained model is evaluated on held-out data, and registered only
    if the report's metric meets the threshold (else the run fails, without a retry)."""

    image: EcrImage | None = Field(
        default=None, description="Evaluation container (default: the training image)."
    )
    command: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        min_length=1,
        max_length=100,
        description="Entrypoint of the evaluation container, e.g. [python3, "
        "/opt/ml/processing/code/evaluate.py]; it reads the model from "
        "/opt/ml/processing/model and the held-out data from /opt/ml/processing/input/held-out, "
        "and writes /opt/ml/processing/evaluation/evaluation.json.",
    )
    held_out_data: S3Uri = Field(description="S3 prefix of the held-out evaluation data.")
    instance_type: InstanceType = Field(default="ml.m5.xlarge", description="Evaluation instance.")
    metric: Annotated[str, AfterValidator(_metric_path)] = Field(
        description="JSON path of the metric inside evaluation.json, e.g. metrics.auc.value."
    )
    threshold: Annotated[float, BeforeValidator(_finite_number)] = Field(
        description="The value the metric must reach (a finite number)."
    )
    comparison: Literal["GreaterThanOrEqualTo", "LessThanOrEqualTo"] = Field(
        default="GreaterThanOrEqualTo",
        description="How the metric must compare with the threshold (LessThanOrEqualTo for "
        "loss-like metrics).",
    )
    compare_with_approved: bool = Field(
        default=False,
        description="Also require the metric to be at least as good as the newest approved "
        "version's (its evaluation report), which the starters look up and pass as the pipeline "
        "parameter ApprovedMetricValue (without an approved version: the threshold alone).",
    )
    max_runtime_minutes: int = Field(
        default=60,
        ge=1,
        le=SAGEMAKER_MAX_PROCESSING_MINUTES,
        description="Hard stop for the evaluation job (SageMaker allows up to 9 days).",
    )


class ModelScheduleConfig(ConfigModel):
    """Per-model override of the scheduled retraining defaults, or an opt-out."""

    enabled: bool = Field(default=True, description="False opts this model out of the schedule.")
    schedule: ScheduleExpression | None = Field(default=None, description="Override the schedule.")
    timezone: TimeZone | None = Field(default=None, description="Override the time zone.")
    only_when_new_data: bool | None = Field(default=None, description="Override onlyWhenNewData.")


# SageMaker's bounds on an endpoint's blue/green DeploymentConfig (botocore's sagemaker service
# model: TrafficRoutingConfig WaitIntervalInSeconds 0-3600, BlueGreenUpdatePolicy
# TerminationWaitInSeconds 0-3600 and MaximumExecutionTimeoutInSeconds 600-28800, CapacitySize
# Value at least 1; a canary is at most half of the variant's instances, TrafficRoutingConfig
# CanarySize).
MAX_BAKE_SECONDS = 3600
MIN_DEPLOYMENT_TIMEOUT_SECONDS, MAX_DEPLOYMENT_TIMEOUT_SECONDS = 600, 28800
MAX_CANARY_PERCENT = 50
# How long the rollback alarms need to see the new fleet before they can fire (3 one-minute
# periods, approval_deployment.component): a shorter bake could never roll back on latency.
ROLLBACK_ALARM_WINDOW_SECONDS = 180


class BlueGreenConfig(ConfigModel):
    """How an approved version replaces the serving one (with `deployOnApproval`): SageMaker's
    blue/green deployment, rolled back automatically when the endpoint's deployment alarms
    (5xx errors, p99 latency) fire while the new fleet bakes."""

    traffic_routing: Literal["ALL_AT_ONCE", "CANARY"] = Field(
        default="ALL_AT_ONCE",
        description="ALL_AT_ONCE: all traffic moves to the new fleet, which then bakes; CANARY: "
        "canarySizePercent of it first, the rest after a bake (needs at least 2 instances).",
    )
    canary_size_percent: int = Field(
        default=10,
        ge=1,
        le=MAX_CANARY_PERCENT,
        description="With CANARY, the share of the new fleet's capacity that takes traffic "
        "first (SageMaker allows at most 50).",
    )
    wait_interval_seconds: int = Field(
        default=600,
        ge=0,
        le=MAX_BAKE_SECONDS,
        description="Baking period: how long the alarms watch the new fleet before the next "
        f"step (at least {ROLLBACK_ALARM_WINDOW_SECONDS}, what the alarms need; at most 3600).",
    )
    termination_wait_seconds: int = Field(
        default=300,
        ge=0,
        le=MAX_BAKE_SECONDS,
        description="How long the old fleet stays after the deployment before it is terminated "
        "(0-3600).",
    )
    maximum_execution_timeout_seconds: int = Field(
        default=3600,
        ge=MIN_DEPLOYMENT_TIMEOUT_SECONDS,
        le=MAX_DEPLOYMENT_TIMEOUT_SECONDS,
        description="Time limit of the whole deployment (600-28800); it must exceed "
        "waitIntervalSeconds plus terminationWaitSeconds.",
    )

    @model_validator(mode="after")
    def _bake_fits_the_alarms_and_the_timeout(self) -> BlueGreenConfig:
        if self.wait_interval_seconds < ROLLBACK_ALARM_WINDOW_SECONDS:
            raise ValueError(
                f"waitIntervalSeconds ({self.wait_interval_seconds}) is shorter than "
                f"the {ROLLBACK_ALARM_WINDOW_SECONDS} seconds the rollback alarms need to see the "
                f"new fleet; set it to at least {ROLLBACK_ALARM_WINDOW_SECONDS}"
            )
        waits = self.wait_interval_seconds + self.termination_wait_seconds
        if self.maximum_execution_timeout_seconds <= waits:
            raise ValueError(
                f"maximumExecutionTimeoutSeconds ({self.maximum_execution_timeout_seconds}) "
                "must exceed waitIntervalSeconds plus "
                f"terminationWaitSeconds ({waits}), as SageMaker requires; raise it or shorten "
                "the waits"
            )
        return self


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
    initial_instance_count: InstanceCount = Field(default=1, description="Serving instances.")
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
    deploy_on_approval: bool = Field(
        default=False,
        description="Deploy each version approved in the model's package group to this "
        "endpoint (blue/green, rolled back on its alarms); needs deploy: true, "
        "registerModel.enabled and trainops:approvalDeployment. Pulumi then leaves the "
        "endpoint's config to the deployments.",
    )
    blue_green: BlueGreenConfig = nested(BlueGreenConfig)

    @model_validator(mode="after")
    def _deploy_or_name(self) -> EndpointConfig:
        if self.deploy and self.model_data_url is None:
            raise ValueError("modelDataUrl is required when deploy is true")
        if not self.deploy and self.name is None:
            raise ValueError("name (an existing endpoint) is required when deploy is false")
        return self

    @model_validator(mode="after")
    def _approvals_deploy_to_an_endpoint_trainops_owns(self) -> EndpointConfig:
        if self.deploy_on_approval and not self.deploy:
            raise ValueError(
                "deployOnApproval needs deploy: true (trainops deploys "
                "approved versions only to an endpoint it created); set deploy: true with a "
                "modelDataUrl, or remove deployOnApproval"
            )
        if (
            self.deploy_on_approval
            and self.blue_green.traffic_routing == "CANARY"
            and self.initial_instance_count < 2
        ):
            raise ValueError(
                "blueGreen.trafficRouting: CANARY needs initialInstanceCount of at least 2 (a "
                "canary is at most half of the fleet); use ALL_AT_ONCE or more instances"
            )
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


class QualityRetrainingModelConfig(ConfigModel):
    """Retraining this model when its quality degrades (with `trainops:qualityRetraining` on).

    A quality signal is a CloudWatch alarm named `trainops-<stack>--<model>--quality...` entering
    ALARM (Model Monitor or Clarify violations, or any metric you alarm on), the model's bias
    alarms when `biasAlarms` is on, or an event matching one of `eventPatterns`."""

    enabled: bool = Field(
        default=True, description="False opts this model out of quality-triggered retraining."
    )
    bias_alarms: bool = Field(
        default=False,
        description="The alarms of biasMonitoring.alarms are quality signals too (they are "
        "named `trainops-<stack>--<model>--quality-bias-...`).",
    )
    event_patterns: list[EventPattern] = Field(
        default_factory=list,
        max_length=MAX_QUALITY_PATTERNS,
        description="EventBridge patterns on the default bus whose events are quality signals "
        "for this model (one rule each).",
    )


class ModelConfig(ConfigModel):
    """One model the platform trains (`trainops:models.<name>`)."""

    image: EcrImage = Field(description="ECR URI of the training image (tag or digest).")
    training_data: S3Uri = Field(description="S3 prefix holding the training data.")
    instance_type: InstanceType = Field(
        default="ml.m5.xlarge", description="SageMaker training instance type (`ml.*`)."
    )
    instance_count: InstanceCount = Field(default=1, description="Training instances per job.")
    volume_size_gb: int = Field(
        default=50, ge=1, le=16384, description="EBS volume per training instance, in GB."
    )
    max_runtime_minutes: TrainingMinutes = Field(
        default=240,
        description="Hard stop for one training job (SageMaker allows up to 28 days).",
    )
    hyperparameters: dict[HyperparameterName, HyperparameterValue] = Field(
        default_factory=dict,
        max_length=100,
        description="Hyperparameters passed to the job; values are strings (quote numbers).",
    )
    spot: SpotConfig = nested(SpotConfig)
    register_model: RegisterModelConfig = nested(RegisterModelConfig)
    evaluation: EvaluationConfig | None = Field(default=None, description="Gate on registration.")
    scheduled_retraining: ModelScheduleConfig = nested(ModelScheduleConfig)
    endpoint: EndpointConfig | None = Field(
        default=None, description="Endpoint serving this model (alarms; optional deployment)."
    )
    bias_monitoring: BiasMonitoringConfig | None = Field(
        default=None, description="Clarify bias drift monitoring (needs an endpoint)."
    )
    quality_retraining: QualityRetrainingModelConfig = nested(QualityRetrainingModelConfig)
    max_cost_per_run: Dollars | None = Field(
        default=None,
        description="Cap, in USD, on one run's projected maximum cost (default: "
        "spendGuardrails.maxCostPerRun); a run that could cost more is refused before it starts.",
    )
    monthly_budget: Dollars | None = Field(
        default=None,
        description="Monthly AWS Budget of this model's cost, in USD (needs "
        "spendGuardrails.budgets.enabled; filtered on its trainops:model tag).",
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
    def _bias_signals_need_bias_alarms(self) -> ModelConfig:
        if self.quality_retraining.bias_alarms and (
            self.bias_monitoring is None or not self.bias_monitoring.alarms
        ):
            raise ValueError(
                "qualityRetraining.biasAlarms needs biasMonitoring with at least one alarm"
            )
        return self

    @model_validator(mode="after")
    def _approvals_need_registration(self) -> ModelConfig:
        if (
            self.endpoint is not None
            and self.endpoint.deploy_on_approval
            and not self.register_model.enabled
        ):
            raise ValueError(
                "endpoint.deployOnApproval needs registerModel.enabled: true (approved versions "
                "come from the model's package group); enable registerModel, or remove "
                "deployOnApproval"
            )
        return self

    @model_validator(mode="after")
    def _evaluation_guards_registration(self) -> ModelConfig:
        if self.evaluation is not None and not self.register_model.enabled:
            raise ValueError(
                "evaluation needs registerModel.enabled: true (the gate decides whether a "
                "trained model is registered)"
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
        return self.spot.max_wait_minutes or min(
            2 * self.max_runtime_minutes, SAGEMAKER_MAX_TRAINING_MINUTES
        )
