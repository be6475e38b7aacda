"""Lambda quotas: the environment of a function, and its name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import Quota, Service, Sizes, byte_size, name_quota, nested, plain

LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
FUNCTION = "aws:lambda/function:Function"

ENVIRONMENT = Quota(
    "lambda-environment",
    "all environment variables of a Lambda function",
    4_096,
    "bytes",
    "move data out of the environment (a file in the code archive, a parameter, a table)",
    LAMBDA_QUOTAS,
)


def _environment(props: Mapping[str, Any]) -> Sizes:
    variables = nested(props, "environment", "variables")
    if not isinstance(variables, Mapping):
        return []
    variables = plain(variables)
    if not all(isinstance(v, str) for v in variables.values()):
        return []
    return [(ENVIRONMENT.id, byte_size(json.dumps(variables, separators=(",", ":"))), "")]


FUNCTION_NAME = name_quota(
    "lambda-function-name",
    "a Lambda function name",
    64,
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
)

SERVICE = Service(
    quotas=(ENVIRONMENT, FUNCTION_NAME),
    names={FUNCTION: ("name", FUNCTION_NAME.id)},
    measures={FUNCTION: _environment},
)
