"""Run the Pulumi program offline, under Pulumi's mocks, with a real stack file.

The same harness serves `trainops plan` and the test-suite: it reads `Pulumi.<stack>.yaml`,
passes its config exactly as the Pulumi CLI would (objects JSON-encoded, scalars as strings),
runs `__main__.py`, and records every resource (type, name, inputs, parent) and every provider
invoke. No AWS credentials, no Pulumi CLI, no network.

Mocks run no resource transforms, so the AWS quota check the program registers as one
(`components/platform/quota_guard.py`) is applied here to the recording, in registration order: a
program whose resources AWS would refuse fails here as it fails `pulumi preview`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from policy import quotas

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "trainops"
ACCOUNT_ID = "123456789012"  # AWS's documented example account

# Invokes the program may make: who and where it runs. Anything else is recorded and reported.
REGION_INVOKE = "aws:index/getRegion:getRegion"
KNOWN_INVOKES: dict[str, dict[str, Any]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
        "userId": "AIDAOFFLINE",
        "id": ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
        "id": "aws",
    },
}


@dataclass
class RecordedResource:
    """One resource the program registered."""

    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    urn: str
    parent_urn: str
    custom: bool
    # URNs this resource explicitly depends on (`depends_on`), as the engine received them.
    dependencies: tuple[str, ...] = ()
    id: str = ""  # the provider id the mocks assigned (custom resources)
    # Resource options the engine would act on: inputs an update leaves as they are, and
    # whether a delete leaves the cloud resource in place.
    ignore_changes: tuple[str, ...] = ()
    retain_on_delete: bool = False

    @property
    def component(self) -> bool:
        return not self.custom

    def archive_file(self, path: str) -> str | None:
        """The text of one file in this resource's code archive (a Lambda function's `code`)."""
        archive = self.inputs.get("code")
        asset = getattr(archive, "assets", {}).get(path)
        if isinstance(asset, pulumi.StringAsset):
            return asset.text
        if isinstance(asset, pulumi.FileAsset):
            return Path(asset.path).read_text(encoding="utf-8")
        return None


@dataclass
class Recording:
    """Everything one program run registered, with lookup helpers for tests and the plan."""

    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    invokes: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise AssertionError(f"expected one {type_token} named {name!r}, found {names}")
        return found[0]

    def named(self, name: str) -> RecordedResource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one resource named {name!r}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def children_of(self, component: RecordedResource) -> list[RecordedResource]:
        """Every resource below ``component`` (recursively)."""
        below: list[RecordedResource] = []
        frontier = [component.urn]
        while frontier:
            urn = frontier.pop()
            for resource in self.resources:
                if resource.parent_urn == urn:
                    below.append(resource)
                    frontier.append(resource.urn)
        return below

    def top_component(self, resource: RecordedResource) -> RecordedResource | None:
        """The outermost component that contains ``resource`` (None at the stack root)."""
        found = None
        current: RecordedResource | None = resource
        while current is not None:
            if current.component:
                found = current
            current = self.by_urn(current.parent_urn)
        return found

    def quota_check(self) -> quotas.QuotaCheck:
        """Every custom resource measured against AWS's quotas, in registration order."""
        return quotas.check_all((r.type, r.name, r.inputs) for r in self.resources if r.custom)

    def policy_documents(self) -> Iterator[tuple[RecordedResource, dict[str, Any]]]:
        """Every IAM-style policy document: inline, trust, key, bucket, queue and topic policies."""
        keys = ("policy", "assumeRolePolicy")
        for resource in self.resources:
            for key in keys:
                value = resource.inputs.get(key)
                if isinstance(value, str) and value.strip().startswith("{"):
                    yield resource, json.loads(value)


# What precedes the name in each type's ARN, as AWS formats them (`service:resource-prefix`),
# so IAM linting sees realistic ARNs.
ARN_PREFIXES: dict[str, str] = {
    "aws:cloudwatch/eventBus:EventBus": "events:event-bus/",
    "aws:cloudwatch/eventRule:EventRule": "events:rule/",
    "aws:cloudwatch/eventArchive:EventArchive": "events:archive/",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatch:alarm:",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "cloudwatch:alarm:",
    "aws:cloudwatch/dashboard:Dashboard": "cloudwatch:dashboard/",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": "firehose:deliverystream/",
    "aws:ssm/document:Document": "ssm:document/",
    "aws:ssm/maintenanceWindow:MaintenanceWindow": "ssm:maintenancewindow/",
    "aws:scheduler/scheduleGroup:ScheduleGroup": "scheduler:schedule-group/",
    "aws:scheduler/schedule:Schedule": "scheduler:schedule/default/",
    "aws:sagemaker/pipeline:Pipeline": "sagemaker:pipeline/",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "sagemaker:model-package-group/",
    "aws:sagemaker/model:Model": "sagemaker:model/",
    "aws:sagemaker/endpoint:Endpoint": "sagemaker:endpoint/",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "sagemaker:endpoint-config/",
    "aws:sagemaker/notebookInstance:NotebookInstance": "sagemaker:notebook-instance/",
    "aws:iam/policy:Policy": "iam:policy/",
    "aws:sns/topic:Topic": "sns:",
    "aws:ssmincidents/responsePlan:ResponsePlan": "ssm-incidents:response-plan/",
    "aws:ssmcontacts/contact:Contact": "ssm-contacts:contact/",
    "aws:ssmcontacts/contactChannel:ContactChannel": "ssm-contacts:contactchannel/",
}


def _physical_name(name: str) -> str:
    suffix = hashlib.sha256(name.encode()).hexdigest()[:7]
    return f"{name}-{suffix}"


def _service(type_token: str) -> str:
    module = type_token.split(":")[1].split("/", maxsplit=1)[0]
    return {"cloudwatch": "logs"}.get(module, module)


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that answer like AWS would (ARNs, URLs, ids) and record every invoke."""

    def __init__(self, region: str, recording: Recording) -> None:
        self.region = region
        self.recording = recording

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        self.recording.invokes.append(args.token)
        if args.token in KNOWN_INVOKES:
            return dict(KNOWN_INVOKES[args.token]), []
        if args.token == REGION_INVOKE:
            return {"region": self.region, "name": self.region, "id": self.region}, []
        return {}, []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            return "", {}
        outputs = dict(args.inputs)
        physical = str(outputs.get("name") or _physical_name(args.name))
        region, account = self.region, ACCOUNT_ID
        kind = args.typ
        arn = f"arn:aws:{_service(kind)}:{region}:{account}:{physical}"
        resource_id = f"{physical}-id"
        if kind == "aws:kms/key:Key":
            resource_id = hashlib.sha256(args.name.encode()).hexdigest()[:32]
            outputs["keyId"] = resource_id
            arn = f"arn:aws:kms:{region}:{account}:key/{resource_id}"
        elif kind == "aws:s3/bucket:Bucket":
            physical = str(outputs.get("bucket") or physical.lower())
            outputs["bucket"] = physical
            arn = f"arn:aws:s3:::{physical}"
            resource_id = physical
        elif kind == "aws:iam/role:Role":
            path = str(outputs.get("path") or "/")  # IAM puts a role's path into its ARN
            arn = f"arn:aws:iam::{account}:role{path}{physical}"
            resource_id = physical
        elif kind == "aws:sqs/queue:Queue":
            if outputs.get("fifoQueue") and not physical.endswith(".fifo"):
                physical += ".fifo"
            outputs["url"] = f"https://sqs.{region}.amazonaws.com/{account}/{physical}"
            resource_id = outputs["url"]
            arn = f"arn:aws:sqs:{region}:{account}:{physical}"
        elif kind == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{account}:function:{physical}"
            outputs["invokeArn"] = arn
        elif kind == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{region}:{account}:log-group:{physical}"
        elif kind == "aws:dynamodb/table:Table":
            arn = f"arn:aws:dynamodb:{region}:{account}:table/{physical}"
            outputs["streamArn"] = f"{arn}/stream/2026-01-01T00:00:00.000"
        elif kind in ARN_PREFIXES:
            service, resource_prefix = ARN_PREFIXES[kind].split(":", 1)
            scope = "" if service == "iam" else region
            arn = f"arn:aws:{service}:{scope}:{account}:{resource_prefix}{physical}"
        outputs.setdefault("name", physical)
        outputs.setdefault("arn", arn)
        return resource_id, outputs


def _close_worker_thread_loop() -> None:
    """Close the event loop the mock monitor opens in an executor thread for each registration.

    Left open, those loops are garbage-collected at interpreter exit, after their sockets, and
    print "Exception ignored ... Invalid file descriptor" on every `trainops plan`.
    """
    if threading.current_thread() is threading.main_thread():
        return
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return
    if not loop.is_running():
        loop.close()
        asyncio.set_event_loop(None)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock engine, also remembering each resource's parent (to group by component)."""

    def __init__(self, mocks: RecordingMocks, recording: Recording) -> None:
        super().__init__(mocks)
        self.recording = recording

    def Invoke(self, request: Any) -> Any:
        try:
            return super().Invoke(request)
        finally:
            _close_worker_thread_loop()

    def RegisterResource(self, request: Any) -> Any:
        try:
            response = super().RegisterResource(request)
        finally:
            _close_worker_thread_loop()
        if request.type == "pulumi:pulumi:Stack":
            return response
        registration = self.resources.get(response.urn)
        self.recording.resources.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                outputs=dict(registration.state) if registration else {},
                urn=response.urn,
                parent_urn=request.parent,
                custom=bool(request.custom),
                dependencies=tuple(request.dependencies),
                id=str(getattr(response, "id", "") or ""),
                ignore_changes=tuple(request.ignoreChanges),
                retain_on_delete=bool(request.retainOnDelete),
            )
        )
        return response


def stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def available_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name.split(".")[1] for p in project_dir.glob("Pulumi.*.yaml"))


def _cli_value(value: Any) -> str:
    """How the Pulumi CLI hands a config value to the program: objects as JSON, scalars as text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _set_path(config: dict[str, Any], key: str, value: Any) -> None:
    """Applies ``namespace:a.b.c = value`` the way `pulumi config set --path` does."""
    namespace, _, path = key.partition(":")
    if not path:
        raise ValueError(f"config key {key!r} needs a namespace, e.g. trainops:{key}")
    top, *rest = path.split(".")
    full_key = f"{namespace}:{top}"
    if not rest:
        config[full_key] = value
        return
    current = config.setdefault(full_key, {})
    if not isinstance(current, dict):
        raise ValueError(f"{full_key} is not an object; cannot set {key}")
    for part in rest[:-1]:
        current = current.setdefault(part, {})
        if not isinstance(current, dict):
            raise ValueError(f"cannot set {key}: {part} is not an object")
    current[rest[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML (true, 3, [a], {k: v})."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"override {text!r} must look like trainops:key.path=value")
    return key.strip(), yaml.safe_load(raw) if raw else ""


def stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    project_dir: Path = PROJECT_DIR,
) -> dict[str, str]:
    """The config map the Pulumi CLI would pass for ``stack``, with path-style overrides applied."""
    path = stack_file(stack, project_dir)
    if not path.is_file():
        known = ", ".join(available_stacks(project_dir)) or "none"
        raise FileNotFoundError(f"no stack file {path.name}; known stacks: {known}")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw: dict[str, Any] = {}
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        raw[full_key] = value
    for key, value in (overrides or {}).items():
        _set_path(raw, key, value)
    return {key: _cli_value(value) for key, value in raw.items()}


def run_program(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    config: Mapping[str, str] | None = None,
    preview: bool = False,
    program: Path | None = None,
    check_quotas: bool = True,
) -> Recording:
    """Runs ``__main__.py`` under mocks with the stack's config and returns what it registered.

    Errors the program raises (invalid config included) propagate unchanged; resources beyond
    an AWS quota raise `quotas.QuotaError` listing every problem (unless ``check_quotas`` is
    False, for tests that look at such a recording).
    """
    values = dict(config) if config is not None else stack_config(stack, overrides)
    main = program or PROJECT_DIR / "__main__.py"

    def run_main() -> None:
        added_path = str(main.parent) not in sys.path
        if added_path:
            sys.path.insert(0, str(main.parent))
        try:
            runpy.run_path(str(main), run_name="__main__")
        finally:
            if added_path:
                sys.path.remove(str(main.parent))

    recording = run_under_mocks(stack, values, run_main, preview=preview)
    if check_quotas:
        refuse_beyond_quotas(recording)
    return recording


def refuse_beyond_quotas(recording: Recording) -> None:
    """Raises `quotas.QuotaError` listing every resource AWS would refuse for a quota."""
    problems = recording.quota_check().problems()
    if problems:
        raise quotas.QuotaError(problems)


def run_under_mocks(
    stack: str,
    config: Mapping[str, str],
    program: Callable[[], None],
    *,
    preview: bool = False,
) -> Recording:
    """Runs any Pulumi program function under the recording mocks (used to test one component)."""
    recording = Recording(stack=stack)
    mocks = RecordingMocks(config.get("aws:region", "us-east-1"), recording)
    pulumi_settings.ROOT.set(None)  # a fresh root stack resource for every run
    pulumi.runtime.set_mocks(
        mocks,
        project=PROJECT,
        stack=stack,
        preview=preview,
        monitor=RecordingMonitor(mocks, recording),
    )
    pulumi.runtime.set_all_config(dict(config))
    settings: Any = pulumi_settings.SETTINGS  # the mock settings hold the RPC bookkeeping
    settings.rpc_manager.clear()
    settings.outputs.clear()
    _sync_await(run_pulumi_func(program))
    return recording
