"""AWS service quotas every resource of the stack must fit, checked before AWS sees it.

Mocks and previews accept anything: a role whose inline policies exceed 10,240 characters, an
event pattern beyond 2,048, a name SageMaker truncates at 63 all pass offline and then stop
`pulumi up` half-way. This package measures each registered resource against AWS's published
quota for it (each `Quota` cites its page) and says, per problem, which resource, which quota,
the value, the limit and the fix.

* `base`: the `Quota`, `Measurement` and `QuotaError` types, and what a service declares with;
* one module per AWS service (`iam`, `lambda_`, `events`, `scheduler`, `sqs`, `sns`, `s3`,
  `kms`, `sagemaker`, `cloudwatch`, `logs`, `ssm`), each quota declared with its citation
  beside what measures it;
* `engine`: the services' tables assembled, `measure`, `QuotaCheck`, `check_all`.

One rule set, three places, same answers (properties as the engine sees them: camelCase keys,
policies and patterns as JSON text):

* the program registers the `quota_guard` component's transform, so `pulumi preview` and
  `pulumi up` refuse a resource before it is created (values not known yet at preview are
  skipped, and checked by `pulumi up` before the resource is created);
* `trainops plan` and the tests run it over the offline recording (`cli/offline.py`), where
  every value is known;
* the policy pack runs it as the `aws-quotas` rule (`rules/service_quotas.py`).

Names are measured as AWS will see them: an explicit name, or Pulumi's auto-name
`<logical name>-<7 random characters>` when none is set.

This package needs only the standard library: the policy pack imports it in its own virtualenv.
"""

from __future__ import annotations

from .base import (
    SCOPE_INSTEAD_OF_LISTING,
    SHORTER_NAME,
    Measure,
    Measurement,
    Quota,
    QuotaError,
    Service,
    Shared,
    Sizes,
    byte_size,
    iam_size,
)
from .cloudwatch import CLOUDWATCH_ALARM, CLOUDWATCH_LIMITS, DASHBOARD_BODY, METRIC_DATA_QUERY
from .engine import (
    AUTONAME_SUFFIX,
    DOCUMENTS,
    MEASURES,
    NAMES,
    QUOTAS,
    SERVICES,
    SHARED,
    STACK,
    QuotaCheck,
    aws_name,
    check_all,
    measure,
)
from .events import EVENTBRIDGE_QUOTAS, EVENTBRIDGE_TARGET, INPUT_TRANSFORMER, PUT_RULE
from .iam import IAM_QUOTAS, ROLE, ROLE_POLICY
from .kms import KMS_POLICY
from .lambda_ import LAMBDA_QUOTAS
from .logs import LOG_GROUP
from .s3 import S3_POLICY
from .sagemaker import SAGEMAKER_API
from .scheduler import CREATE_SCHEDULE, SCHEDULER_TARGET
from .sns import SNS_POLICY
from .sqs import SQS_CREATE_QUEUE, SQS_POLICY_QUOTAS, SQS_QUEUE
from .ssm import SSM_QUOTAS, WINDOW, WINDOW_TASK

__all__ = [
    "AUTONAME_SUFFIX",
    "CLOUDWATCH_ALARM",
    "CLOUDWATCH_LIMITS",
    "CREATE_SCHEDULE",
    "DASHBOARD_BODY",
    "DOCUMENTS",
    "EVENTBRIDGE_QUOTAS",
    "EVENTBRIDGE_TARGET",
    "IAM_QUOTAS",
    "INPUT_TRANSFORMER",
    "KMS_POLICY",
    "LAMBDA_QUOTAS",
    "LOG_GROUP",
    "MEASURES",
    "METRIC_DATA_QUERY",
    "NAMES",
    "PUT_RULE",
    "QUOTAS",
    "ROLE",
    "ROLE_POLICY",
    "S3_POLICY",
    "SAGEMAKER_API",
    "SCHEDULER_TARGET",
    "SCOPE_INSTEAD_OF_LISTING",
    "SERVICES",
    "SHARED",
    "SHORTER_NAME",
    "SNS_POLICY",
    "SQS_CREATE_QUEUE",
    "SQS_POLICY_QUOTAS",
    "SQS_QUEUE",
    "SSM_QUOTAS",
    "STACK",
    "WINDOW",
    "WINDOW_TASK",
    "Measure",
    "Measurement",
    "Quota",
    "QuotaCheck",
    "QuotaError",
    "Service",
    "Shared",
    "Sizes",
    "aws_name",
    "byte_size",
    "check_all",
    "iam_size",
    "measure",
]
