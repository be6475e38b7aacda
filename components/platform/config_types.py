"""The primitives of the `trainops:` config contract: validated value types (model names, image
URIs, S3 URIs, instance types, schedules, time zones, e-mail, URLs, log retention,
hyperparameters) and `ConfigModel`, the base every config object shares (camelCase keys as in
the YAML, unknown keys are errors), with `nested` for a config object inside another and
`feature_switch` for a feature's `enabled` key. Each validator raises a sentence that says what
to do.
"""

from __future__ import annotations

import inspect
import json
import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic.alias_generators import to_camel

from components.platform.schedules import (
    rule_schedule_problem,
    schedule_expression_problem,
    ssm_window_schedule_problem,
)
from trainops_runtime import training_request

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


def _matching(pattern: re.Pattern[str], problem: str) -> Callable[[str], str]:
    """A validator that refuses a value the pattern does not match, with the sentence that says
    what to write instead (a `Field(pattern=...)` could only repeat the regex)."""

    def validate(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(problem)
        return value

    return validate


def _without_problem(problem_of: Callable[[str], str | None]) -> Callable[[str], str]:
    """A validator for the schedule checks in `components.platform.schedules`, which name the
    problem with an expression (None when there is none) so that each rule says its own."""

    def validate(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return validate


_model_name = _matching(
    MODEL_NAME,
    "model names must be 1-32 lowercase letters, digits or hyphens, starting and ending "
    "with a letter or digit (SageMaker naming rules)",
)
_ecr_image = _matching(
    ECR_IMAGE,
    "not an ECR image URI; use <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> "
    "or ...@sha256:<digest>",
)


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


_instance_type = _matching(
    INSTANCE_TYPE, "not a SageMaker instance type; use an ml.* type such as ml.m5.xlarge"
)
_schedule = _without_problem(schedule_expression_problem)
_rule_schedule = _without_problem(rule_schedule_problem)
_ssm_schedule = _without_problem(ssm_window_schedule_problem)


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


_https_url = _matching(HTTPS_URL, "not an HTTPS URL; SNS delivers to https:// endpoints only")


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


# EventBridge's default quota on one rule's event pattern (PutRule EventPattern).
EVENT_PATTERN_MAX_CHARS = 2048


def _event_pattern(value: dict[str, Any]) -> dict[str, Any]:
    """A pattern a rule on the default bus may carry: it names its `source` (a pattern without
    one would match every AWS service's events) and fits the pattern quota."""
    if not value.get("source"):
        raise ValueError(
            'an event pattern must name its source, e.g. {"source": ["aws.sagemaker"]}'
        )
    size = len(json.dumps(value, sort_keys=True))
    if size > EVENT_PATTERN_MAX_CHARS:
        raise ValueError(
            f"the event pattern is {size} characters; EventBridge allows {EVENT_PATTERN_MAX_CHARS}"
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
EventPattern = Annotated[dict[str, Any], AfterValidator(_event_pattern)]

# Bounds shared by the settings that configure the same kind of value (each field still
# describes its own).
# SageMaker instances behind one training job or one endpoint variant (trainops caps both).
InstanceCount = Annotated[int, Field(ge=1, le=100)]
# Days before an S3 lifecycle rule expires objects (at least one; trainops caps at ten years).
LifecycleDays = Annotated[int, Field(ge=1, le=3650)]
# E-mail subscribers of one SNS topic (each gets a confirmation mail to answer).
EmailSubscribers = Annotated[list[Email], Field(max_length=20)]
# Minutes a condition may last before trainops acts on it (escalates an alarm, counts a job as
# stalled, stops an idle notebook): at least the five minutes between two checks (an alarm's
# period, the stall check's default rate, the notebook's idle check), at most a day.
GraceMinutes = Annotated[int, Field(ge=5, le=1440)]

# A setting several features hold alike, description included: the zone a feature's schedule is
# read in (scheduled retraining, the maintenance window).
ScheduleTimeZone = Annotated[TimeZone, Field(description="IANA time zone of the schedule.")]


class ConfigModel(BaseModel):
    """Base for every config object: camelCase keys as in the YAML, unknown keys are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=False,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def nested(config: type[ConfigT]) -> ConfigT:
    """A nested config object the YAML may leave out, in which case it takes its own defaults: a
    fresh one per parent (`default_factory`), so its defaults are documented once, on its own
    fields, not repeated in the parent's. Its description in the reference is the first
    paragraph of the class's docstring, so what the object is is written once."""
    summary = inspect.cleandoc(config.__doc__ or "").split("\n\n", 1)[0]
    if not summary:
        raise TypeError(f"{config.__name__}: its docstring must say what the object configures")
    return Field(default_factory=config, description=" ".join(summary.split()))


def feature_switch(component: str) -> bool:
    """A feature's `enabled` key: off unless the stack turns it on, so a stack creates only the
    features its file names, and adding a feature to trainops changes no existing stack."""
    return Field(default=False, description=f"Create the {component} component.")
