"""One model's config (`trainops:models.<name>`): what every feature reads about the models
the stack trains (image, data, instances, spot, registry, endpoint, bias monitoring)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from components.platform.config_types import (
    ConfigModel,
    EcrImage,
    HyperparameterName,
    HyperparameterValue,
    InstanceCount,
    InstanceType,
    S3Uri,
    ScheduleExpression,
    TimeZone,
    nested,
)
from trainops_runtime.pipeline_contract import hyperparameter_parameter

# SageMaker stops a training job after at most 28 days, runtime and spot wait alike
# (StoppingCondition MaxRuntimeInSeconds, MaxWaitTimeInSeconds).
SAGEMAKER_MAX_TRAINING_MINUTES = 28 * 24 * 60
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
    scheduled_retraining: ModelScheduleConfig = nested(ModelScheduleConfig)
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
        return self.spot.max_wait_minutes or min(
            2 * self.max_runtime_minutes, SAGEMAKER_MAX_TRAINING_MINUTES
        )
