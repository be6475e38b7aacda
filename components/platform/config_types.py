"""The primitives of the `trainops:` config contract: validated value types (model names, image
URIs, S3 URIs, instance types, schedules, time zones, e-mail, URLs, log retention,
hyperparameters) and `ConfigModel`, the base every config object shares (camelCase keys as in
the YAML, unknown keys are errors). Each validator raises a sentence that says what to do.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
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
