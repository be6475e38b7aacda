"""PythonFunction: the one way every Lambda in trainops is built.

A function gets, without each caller repeating it: its own role (trusting Lambda for this
account only) holding just the caller's statements plus logging and tracing; an explicit log
group `/aws/lambda/<name>` with retention and the stack key; Python on arm64 with explicit memory
and timeout; code packaged from `lambda/` alone; AWS's published Powertools layer; environment
encrypted with the stack key; active X-Ray tracing; and, for asynchronous invocation, a failure
destination queue. Errors, throttles and dead letters alarm when alert topics are given.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import alarms, iam, logs, naming, queues
from components.platform.context import PlatformContext
from components.platform.roles import service_role
from trainops_runtime import catalog
from trainops_runtime.settings import (
    HANDLERS,
    PREFIX,
    STACK,
    HandlerSettings,
    environment_problems,
)

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"
PACKAGE = "trainops_runtime"
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
# Only source files go into the archive: no tests, caches, notebooks or editor files.
PACKAGED_SUFFIXES = (".py", ".json")
EXCLUDED_PARTS = ("__pycache__", "tests", "test")
# Accounts that publish Powertools for AWS Lambda (Python) layers, per partition (from the
# Powertools documentation).
POWERTOOLS_LAYER_ACCOUNTS = {"aws": "017000801446", "aws-cn": "498634801083"}
FUNCTION_NAME_MAX = 64


def powertools_layer_arn(ctx: iam.AwsContext, version: int, runtime: str = RUNTIME) -> str:
    """ARN of AWS's published Powertools V3 layer for this region, runtime and architecture."""
    account = POWERTOOLS_LAYER_ACCOUNTS.get(ctx.partition)
    if account is None:
        raise ValueError(f"no published Powertools layer is known for partition {ctx.partition}")
    python = runtime.replace(".", "")  # python3.13 -> python313
    return (
        f"arn:{ctx.partition}:lambda:{ctx.region}:{account}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{ARCHITECTURE}:{version}"
    )


def packaged_files(source_dir: Path = LAMBDA_DIR) -> dict[str, Path]:
    """Archive path -> file, for every source file of the Lambda package (sorted, deterministic)."""
    package_dir = source_dir / PACKAGE
    if not package_dir.is_dir():
        raise ValueError(f"Lambda package {package_dir} does not exist")
    files: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(source_dir)
        if not path.is_file() or path.suffix not in PACKAGED_SUFFIXES:
            continue
        if any(part in EXCLUDED_PARTS or part.startswith(".") for part in relative.parts):
            continue
        if relative.as_posix() == catalog.ARCHIVE_PATH:
            continue  # generated per stack (`code_archive`); a stray local copy never ships
        files[relative.as_posix()] = path
    return files


def catalog_text(model_catalog: Mapping[str, Any]) -> str:
    """The catalog file's content: compact, sorted, so equal catalogs give equal archives."""
    return json.dumps(model_catalog, sort_keys=True, separators=(",", ":"))


def code_archive(
    source_dir: Path = LAMBDA_DIR, model_catalog: Mapping[str, Any] | None = None
) -> pulumi.AssetArchive:
    """The package's source files, plus the stack's model catalog when the function reads it."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        name: pulumi.FileAsset(str(path)) for name, path in packaged_files(source_dir).items()
    }
    if model_catalog is not None:
        assets[catalog.ARCHIVE_PATH] = pulumi.StringAsset(catalog_text(model_catalog))
    return pulumi.AssetArchive(assets)


def _holds_outputs(value: Any) -> bool:
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, Mapping):
        return any(_holds_outputs(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_outputs(item) for item in value)
    return False


def function_code(
    source_dir: Path = LAMBDA_DIR, model_catalog: Mapping[str, Any] | None = None
) -> pulumi.Input[pulumi.Archive]:
    """The function's code archive. A catalog may name resources created in the same run (a
    model's execution role, the stack key): then the archive is built once they exist, with one
    `Output.all` over the values it holds (`iam.to_json`), not one Output per catalog field."""
    if model_catalog is None or not _holds_outputs(model_catalog):
        return code_archive(source_dir, model_catalog)
    return iam.to_json(model_catalog).apply(lambda text: code_archive(source_dir, json.loads(text)))


def check_handler(handler: str, source_dir: Path = LAMBDA_DIR) -> None:
    """Fails at preview if `handler` does not name a `def handler(event, context)` in lambda/."""
    module, _, function = handler.rpartition(".")
    if not module.startswith(f"{PACKAGE}.") or not function:
        raise ValueError(f"handler {handler!r} must look like {PACKAGE}.<module>.<function>")
    path = source_dir.joinpath(*module.split(".")).with_suffix(".py")
    if not path.is_file():
        raise ValueError(f"handler {handler!r}: {path} does not exist")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef)
    } | {  # `handler = some_decorator(...)` style
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if function not in defined:
        raise ValueError(f"handler {handler!r}: {path.name} defines no top-level {function!r}")


@dataclass
class PythonFunctionArgs:
    """What a caller decides about its function; everything else is the platform's convention."""

    description: str
    platform: PlatformContext
    memory_mb: int
    timeout_seconds: int
    # Every function caps its own concurrency (checkov CKV_AWS_115): a flood of events must not
    # take the account's shared Lambda concurrency or run up cost. Throttled asynchronous
    # events are retried by Lambda (up to the maximum event age) and then reach the failure
    # queue; throttled queue and stream batches stay in their source: a cap loses nothing.
    reserved_concurrency: int
    statements: Sequence[iam.Statement] = field(default_factory=list)
    # What the handler reads (its class in trainops_runtime.settings): the environment is built
    # from it, so names, types and defaults are the handler's own.
    # The platform's model catalog ships in the code archive (environment variables are limited
    # to 4 KB per function) when the class says the handler reads it.
    settings: HandlerSettings | None = None
    # A caller's own handler's variables; trainops' own (`TRAINOPS_*`) come only from settings.
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The entry point; a trainops handler's comes from its settings class.
    handler: str | None = None
    # Functions invoked asynchronously (EventBridge, Scheduler, S3, SNS) get retries, a maximum
    # event age and a dead-letter queue as their on-failure destination.
    invoked_asynchronously: bool = False
    max_async_retries: int = 2
    max_event_age_seconds: int = 6 * 3600
    source_dir: Path = LAMBDA_DIR

    def entry_point(self) -> str:
        """The handler: the one given, else the one the settings class configures."""
        if self.handler is not None:
            return self.handler
        if self.settings is None:
            raise ValueError("a function needs a handler, or settings whose class names one")
        return self.settings.handler()

    def shipped_catalog(self) -> Mapping[str, Any] | None:
        """The model catalog when this function's handler reads it, else nothing."""
        reads = self.settings is not None and self.settings.reads_catalog
        return self.platform.model_catalog if reads else None


class PythonFunction(pulumi.ComponentResource):
    """A Lambda function built the trainops way (see the module docstring)."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    failure_queue_arn: pulumi.Output[str] | None
    failure_queue_name: pulumi.Output[str] | None
    function: aws.lambda_.Function

    def __init__(
        self, name: str, args: PythonFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:lambda:PythonFunction", name, None, opts)
        self._validate(name, args)
        ctx = args.platform.ctx
        child = pulumi.ResourceOptions(parent=self)
        function_name = self.physical_name(name)

        log_group = logs.log_group(
            f"{name}-logs", path=f"/aws/lambda/{function_name}", platform=args.platform, parent=self
        )

        failure_queue: aws.sqs.Queue | None = None
        if args.invoked_asynchronously:
            failure_queue = queues.encrypted_queue(
                f"{name}-failures", key_arn=args.platform.key_arn, parent=self
            )

        statements = [
            *self.base_statements(ctx, log_group.arn, args.platform.key_arn),
            *args.statements,
        ]
        if failure_queue is not None:
            statements.append(
                iam.allow(["sqs:SendMessage"], [failure_queue.arn], sid="SendToFailureDestination")
            )
            statements.append(
                iam.use_key(args.platform.key_arn, sid="EncryptFailureDestinationMessages")
            )
        execution = service_role(
            f"{name}-role",
            service="lambda",
            ctx=ctx,
            parent=self,
            description=f"Execution role of {function_name}",
            policy_name=f"{name}-policy",
            statements=statements,
        )
        role, policy = execution.role, execution.policy

        environment = {
            "POWERTOOLS_SERVICE_NAME": "trainops",
            "POWERTOOLS_METRICS_NAMESPACE": "trainops",
            STACK.name: pulumi.get_stack(),
            **args.environment,
            **(args.settings.environment() if args.settings else {}),
        }
        function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description=args.description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.entry_point(),
            code=function_code(args.source_dir, args.shipped_catalog()),
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            layers=[powertools_layer_arn(ctx, args.platform.powertools_layer_version)],
            environment={"variables": environment},
            kms_key_arn=args.platform.key_arn,
            tracing_config={"mode": "Active"},
            reserved_concurrent_executions=args.reserved_concurrency,
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": "INFO",
                "system_log_level": "WARN",
            },
            # The policy must exist before the first invocation tries to log or trace.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )

        if failure_queue is not None:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=function.name,
                maximum_retry_attempts=args.max_async_retries,
                maximum_event_age_in_seconds=args.max_event_age_seconds,
                destination_config={"on_failure": {"destination": failure_queue.arn}},
                opts=child,
            )

        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        if args.platform.alerts is not None:
            self.alarms = self._alarms(name, function_name, failure_queue, args.platform.alerts)

        self.function = function
        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.role_name = role.name
        self.log_group_name = log_group.name
        self.failure_queue_arn = failure_queue.arn if failure_queue is not None else None
        self.failure_queue_name = failure_queue.name if failure_queue is not None else None
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "role_name": self.role_name,
                "log_group_name": self.log_group_name,
                "failure_queue_arn": self.failure_queue_arn,
            }
        )

    @staticmethod
    def physical_name(name: str) -> str:
        """The function's name: fixed, because its log group must be `/aws/lambda/<name>`."""
        return naming.physical_name(name, max_length=FUNCTION_NAME_MAX)

    @staticmethod
    def base_statements(
        ctx: iam.AwsContext, log_group_arn: pulumi.Input[str], key_arn: pulumi.Input[str]
    ) -> list[iam.Statement]:
        return [
            # Lambda appends ":*" to a log group ARN for its streams.
            iam.allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(log_group_arn, ":*")],
                sid="WriteOwnLogs",
            ),
            # X-Ray's PutTraceSegments/PutTelemetryRecords support only Resource "*".
            iam.allow(["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*", sid="Tracing"),
            iam.allow(["kms:Decrypt"], [key_arn], sid="DecryptEnvironment"),
        ]

    @staticmethod
    def _validate(name: str, args: PythonFunctionArgs) -> None:
        handler = args.entry_point()
        check_handler(handler, args.source_dir)
        function_name = PythonFunction.physical_name(name)
        if len(function_name) > FUNCTION_NAME_MAX or not re.match(
            r"^[A-Za-z0-9_-]+$", function_name
        ):
            raise ValueError(f"function name {function_name!r} is not a valid Lambda name")
        if not 128 <= args.memory_mb <= 10240:
            raise ValueError("memory_mb must be 128-10240")
        if not 1 <= args.timeout_seconds <= 900:
            raise ValueError("timeout_seconds must be 1-900")
        if args.reserved_concurrency < 1:
            raise ValueError(
                "reserved_concurrency must be at least 1 (0 would disable the function)"
            )
        # the handler reads what its component sets: its own settings class, complete
        module = handler.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        if args.settings is not None and args.settings.module != module:
            wanted = HANDLERS[module].__name__ if module in HANDLERS else "none"
            raise ValueError(
                f"{name}: {type(args.settings).__name__} are {args.settings.module}'s settings, "
                f"not {module}'s (use {wanted})"
            )
        own = sorted(name for name in args.environment if name.startswith(PREFIX))
        if own:
            raise ValueError(
                f"{name}: {', '.join(own)}: trainops' own variables come from the handler's "
                "settings class (PythonFunctionArgs.settings), not from environment"
            )
        given = {*args.environment, *(args.settings.environment() if args.settings else {})}
        problems = environment_problems(module, {STACK.name, *given})
        if problems:
            raise ValueError(f"{name}: " + "; ".join(problems))

    def _alarms(
        self,
        name: str,
        function_name: str,
        failure_queue: aws.sqs.Queue | None,
        ladder: alarms.AlertLadder,
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """Errors, throttles (unless the ladder leaves them out) and dead letters.

        Returns the first-tier alarms. Throttles alarm only when they recur in three
        consecutive 5-minute periods: Lambda retries a throttled asynchronous, queue or stream
        invocation by itself, so a single throttle is noise, while a sustained run means the
        function cannot keep up.
        """
        created = []
        site = alarms.AlarmSite(self, ladder)
        warning = site.metric(
            f"{name}-errors",
            description=f"{function_name}: errors in the last 5 minutes",
            metric=alarms.Metric("AWS/Lambda", "Errors", {"FunctionName": function_name}),
        )
        created.append(warning)
        if ladder.lambda_throttle_alarms:
            warning = site.metric(
                f"{name}-throttles",
                description=f"{function_name}: throttled in each of the last 3 periods of 5 min",
                metric=alarms.Metric("AWS/Lambda", "Throttles", {"FunctionName": function_name}),
                condition=alarms.Condition(threshold=1, evaluation_periods=3),
            )
            created.append(warning)
        if failure_queue is not None:
            warning = site.queue_depth(
                f"{name}-failures-depth",
                queue_name=failure_queue.name,
                description=f"{function_name}: asynchronous invocations failed after retries",
            )
            created.append(warning)
        return created
