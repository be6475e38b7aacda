"""`trainops:maintenanceWindow`: retraining on tagged hosts in an SSM maintenance window."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    model_validator,
)

from components.platform.config_types import (
    TAG_KEY,
    ConfigModel,
    ModelName,
    ScheduleTimeZone,
    SsmScheduleExpression,
    feature_switch,
)

# The retrain document runs `<command> --model ... <extraArgs>` in the hosts' shell with both
# unquoted (specs.py), so neither may hold a character the shell would interpret.
# The document's own parameter checks the arguments again, with the same pattern.
EXTRA_ARGS_PATTERN = r"^[A-Za-z0-9 =._:/,-]{0,512}$"
HostCommand = Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,256}$")]
HostArguments = Annotated[str, Field(pattern=EXTRA_ARGS_PATTERN)]


class TagSelector(ConfigModel):
    """Instances selected by one tag key and its accepted values."""

    key: str = Field(pattern=TAG_KEY.pattern, description="Tag key, e.g. `Role`.")
    values: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        min_length=1, max_length=50, description="Accepted tag values, e.g. `[trainer]`."
    )


class MaintenanceWindowConfig(ConfigModel):
    """Retraining on your own tagged hosts in an SSM maintenance window."""

    enabled: bool = feature_switch("maintenance-window")
    schedule: SsmScheduleExpression = Field(
        default="cron(0 4 ? * SUN *)",
        description="When the window opens (Systems Manager cron/rate/at syntax).",
    )
    timezone: ScheduleTimeZone = "UTC"
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
    command: HostCommand = Field(
        default="/opt/trainops/bin/retrain",
        description="Executable on the hosts; called with --model <name> --data <s3 uri> [extra].",
    )
    extra_args: HostArguments = Field(
        default="", description="Extra arguments (no shell metacharacters)."
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
