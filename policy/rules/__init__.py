"""trainops guardrails as plain functions: one rule set for the policy pack and for the tests.

* `engine`: how rules read resources (plain values or the policy engine's proxies), the `Rule`
  type and its declaration (`@rule(...)` above a check; `unmet` for a check that is a list of
  requirements), running one rule on one resource, suppression matching;
* one module per AWS service (`sqs`, `sns`, `lambda_`, `events`, `scheduler`, `dynamodb`, `s3`,
  `kms`, `iam`, `cloudwatch`, `sagemaker`, and `service_quotas` for `policy/quotas/`), each rule
  declared with its id, resource types and source right above its check, whose docstring
  opens with the rule's description;
* `registry`: `RULES` assembled from the service modules, suppressions, `evaluate`.

`policy/pack.py` turns every rule into a CrossGuard policy for `pulumi preview --policy-pack
policy`; the tests under `tests/policy/` run the same rules over the mock resource graph of both
stacks, directly and through pulumi-policy's own analyzer, and show each check failing on a
deliberately bad resource.

This package only needs the standard library: the pack runs it in its own virtualenv (as the
top-level package `rules`, with the policy folder on sys.path), hence the relative imports.
"""

from __future__ import annotations

from .cloudwatch import alarm_actions
from .common import (
    EVENT_SOURCE_MAPPING,
    EVENT_TARGET,
    FUNCTION,
    INVOKE_CONFIG,
    SCHEDULE,
    Q,
    customer_managed_key,
    queue_by_arn,
    statements,
)
from .dynamodb import dynamodb_table
from .engine import (
    ADVISORY,
    MANDATORY,
    Check,
    Resource,
    Rule,
    Stack,
    Suppression,
    Violation,
    as_list,
    check,
    decoded,
    dig,
    in_scope,
    is_sequence,
    rule,
    suppressed,
)
from .events import events_target
from .iam import (
    BROAD_MANAGED_POLICIES,
    POLICY_PROPERTIES,
    SCOPING_CONDITION_KEYS,
    SELF_REFERENTIAL_POLICIES,
    STAR_ONLY_ACTIONS,
    iam_managed_policies,
    iam_no_wildcard_actions,
    iam_star_resource,
    iam_trust_scoped,
)
from .kms import kms_rotation
from .lambda_ import (
    SUPPORTED_PYTHON_RUNTIMES,
    lambda_async_failures,
    lambda_concurrency,
    lambda_logs,
    lambda_runtime,
    lambda_sizing,
    lambda_tracing,
)
from .registry import (
    GLOB_CHARACTERS,
    RULES,
    SERVICES,
    SUPPRESSIONS_FILE,
    evaluate,
    load_suppressions,
    validate_suppression,
)
from .s3 import (
    ACCESS_LOG_TARGET_ALGORITHMS,
    BUCKET_ENCRYPTION,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_VERSIONING,
    CLOUDTRAIL_TAG,
    KMS_ALGORITHMS,
    PUBLIC_ACCESS_BLOCK,
    PUBLIC_ACCESS_FLAGS,
    s3_access_logs,
    s3_bucket,
)
from .sagemaker import (
    ENDPOINT_CONFIGURATION,
    LOCAL_STORAGE_FAMILIES,
    NOTEBOOK,
    has_local_storage,
    sagemaker_isolation_encryption,
)
from .scheduler import scheduler_schedule
from .service_quotas import aws_quotas
from .sns import sns_cmk
from .sqs import (
    DEAD_LETTER_SOURCES,
    sqs_dead_letters,
    sqs_fifo_dlq,
    sqs_kms,
    sqs_visibility,
)

__all__ = [
    "ACCESS_LOG_TARGET_ALGORITHMS",
    "ADVISORY",
    "BROAD_MANAGED_POLICIES",
    "BUCKET_ENCRYPTION",
    "BUCKET_LOGGING",
    "BUCKET_POLICY",
    "BUCKET_VERSIONING",
    "CLOUDTRAIL_TAG",
    "DEAD_LETTER_SOURCES",
    "ENDPOINT_CONFIGURATION",
    "EVENT_SOURCE_MAPPING",
    "EVENT_TARGET",
    "FUNCTION",
    "GLOB_CHARACTERS",
    "INVOKE_CONFIG",
    "KMS_ALGORITHMS",
    "LOCAL_STORAGE_FAMILIES",
    "MANDATORY",
    "NOTEBOOK",
    "POLICY_PROPERTIES",
    "PUBLIC_ACCESS_BLOCK",
    "PUBLIC_ACCESS_FLAGS",
    "RULES",
    "SCHEDULE",
    "SCOPING_CONDITION_KEYS",
    "SELF_REFERENTIAL_POLICIES",
    "SERVICES",
    "STAR_ONLY_ACTIONS",
    "SUPPORTED_PYTHON_RUNTIMES",
    "SUPPRESSIONS_FILE",
    "Check",
    "Q",
    "Resource",
    "Rule",
    "Stack",
    "Suppression",
    "Violation",
    "alarm_actions",
    "as_list",
    "aws_quotas",
    "check",
    "customer_managed_key",
    "decoded",
    "dig",
    "dynamodb_table",
    "evaluate",
    "events_target",
    "has_local_storage",
    "iam_managed_policies",
    "iam_no_wildcard_actions",
    "iam_star_resource",
    "iam_trust_scoped",
    "in_scope",
    "is_sequence",
    "kms_rotation",
    "lambda_async_failures",
    "lambda_concurrency",
    "lambda_logs",
    "lambda_runtime",
    "lambda_sizing",
    "lambda_tracing",
    "load_suppressions",
    "queue_by_arn",
    "rule",
    "s3_access_logs",
    "s3_bucket",
    "sagemaker_isolation_encryption",
    "scheduler_schedule",
    "sns_cmk",
    "sqs_dead_letters",
    "sqs_fifo_dlq",
    "sqs_kms",
    "sqs_visibility",
    "statements",
    "suppressed",
    "validate_suppression",
]
