"""Every AWS action a Lambda handler can reach is allowed by its function's role, in every stack.

Mocks accept any call, so a handler can start calling an API its role does not allow while every
test stays green: the queue worker began listing pipeline executions (`start_training(...,
resume=True)`) while its role could only start them, and nothing noticed. Here what each handler
can call is read from the Lambda source (`tests/boto_calls.py`), what its role allows from the
program's recording of each stack, and any difference fails the build, naming the call site and
the path the handler takes to it.

Only actions are compared. Resources and conditions are other tests' business (`test_iam.py`,
`test_iam_lint.py`), so an Allow counts whatever it is scoped to; a Deny counts whatever its
condition (conservative: it may deny more here than in AWS); an Allow with `NotAction` grants
nothing here (what it grants depends on every action IAM has).
"""

from __future__ import annotations

import fnmatch
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cli import offline
from tests import boto_calls
from trainops_runtime import catalog as catalog_module
from trainops_runtime.settings import WARNING_TOPIC_ARN

STACKS = ("dev", "prod")
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(action: str, patterns: Iterable[str]) -> bool:
    """IAM action matching: case-insensitive, `*` and `?` wildcards (fnmatch without classes)."""
    return any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower().replace("[", "[[]"))
        for pattern in patterns
    )


@dataclass(frozen=True)
class Grants:
    """The actions a role's identity policies allow, resources and conditions aside."""

    allowed: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()
    # each Deny with NotAction denies every action outside its list
    denied_outside: tuple[frozenset[str], ...] = ()
    # a permissions boundary: an action must be allowed by it too
    boundary: Grants | None = None
    # where the grants come from, for failure messages
    sources: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, documents: Mapping[str, Mapping[str, Any]], boundary: Grants | None = None
    ) -> Grants:
        """From ``documents`` (source name -> policy document)."""
        allowed: set[str] = set()
        denied: set[str] = set()
        denied_outside: list[frozenset[str]] = []
        for document in documents.values():
            for statement in _listed(document.get("Statement", [])):
                effect = statement.get("Effect")
                if effect == "Allow" and "Action" in statement:
                    allowed |= set(_listed(statement["Action"]))
                elif effect == "Deny" and "Action" in statement:
                    denied |= set(_listed(statement["Action"]))
                elif effect == "Deny" and "NotAction" in statement:
                    denied_outside.append(frozenset(_listed(statement["NotAction"])))
        return cls(
            frozenset(allowed),
            frozenset(denied),
            tuple(denied_outside),
            boundary,
            tuple(sorted(documents)),
        )

    def allows(self, action: str) -> bool:
        if _matches(action, self.denied):
            return False
        if any(not _matches(action, kept) for kept in self.denied_outside):
            return False
        if self.boundary is not None and not self.boundary.allows(action):
            return False
        return _matches(action, self.allowed)


@dataclass(frozen=True)
class DeployedFunction:
    """One Lambda function of a stack: its handler, what it is configured with, its grants."""

    stack: str
    resource: str
    handler_module: str
    grants: Grants
    environment: Mapping[str, str] = field(default_factory=dict)
    catalog: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def handler(self) -> str:
        return self.handler_module.rsplit(".", 1)[-1]

    def models_with(self, key: str) -> list[str]:
        """The catalog's models for which ``key`` is set (truthy)."""
        return sorted(model for model, entry in self.catalog.items() if entry.get(key))


def _role_grants(recording: offline.Recording, role: offline.RecordedResource) -> Grants:
    """The role's inline and managed policies (and boundary), as the program created them."""
    names = {role.id, role.outputs.get("name"), role.outputs.get("arn")} - {None, ""}
    documents: dict[str, Mapping[str, Any]] = {}
    for policy in recording.of_type(ROLE_POLICY):
        if policy.inputs.get("role") in names:
            documents[policy.name] = json.loads(policy.inputs["policy"])
    for index, inline in enumerate(role.inputs.get("inlinePolicies") or []):
        documents[f"{role.name}/inline/{inline.get('name', index)}"] = json.loads(inline["policy"])
    managed_arns = list(role.inputs.get("managedPolicyArns") or [])
    managed_arns += [
        a.inputs["policyArn"]
        for a in recording.of_type(ROLE_POLICY_ATTACHMENT)
        if a.inputs.get("role") in names
    ]
    managed_arns += [
        a.inputs["policyArn"]
        for a in recording.of_type(POLICY_ATTACHMENT)
        if names & set(a.inputs.get("roles") or [])
    ]
    managed = {p.outputs.get("arn"): p for p in recording.of_type(MANAGED_POLICY)}
    for arn in managed_arns:
        # A policy the program did not create (an AWS managed one) cannot be read here: it
        # grants nothing in this check, and its name shows in the failure message.
        policy = managed.get(arn)
        documents[arn] = json.loads(policy.inputs["policy"]) if policy else {}
    boundary = None
    if boundary_arn := role.inputs.get("permissionsBoundary"):
        policy = managed.get(boundary_arn)
        boundary = Grants.of({boundary_arn: json.loads(policy.inputs["policy"]) if policy else {}})
    return Grants.of(documents, boundary)


def deployed_functions(recording: offline.Recording) -> list[DeployedFunction]:
    """Every Lambda function the program created, with its role's grants."""
    roles = {role.outputs.get("arn"): role for role in recording.of_type(ROLE)}
    functions = []
    for function in recording.of_type(FUNCTION):
        module, _, entry = str(function.inputs["handler"]).rpartition(".")
        assert entry == boto_calls.ENTRY_POINT, f"{function.name}: entry point {entry}"
        role = roles.get(function.inputs["role"])
        assert role is not None, f"{function.name}: its role {function.inputs['role']} is not here"
        catalog_text = function.archive_file(catalog_module.ARCHIVE_PATH)
        functions.append(
            DeployedFunction(
                stack=recording.stack,
                resource=function.name,
                handler_module=module,
                grants=_role_grants(recording, role),
                environment=dict((function.inputs.get("environment") or {}).get("variables", {})),
                catalog=json.loads(catalog_text) if catalog_text else {},
            )
        )
    return functions


@dataclass(frozen=True)
class FeatureOff:
    """A call a handler makes only when a feature is on, in a stack where it is off, so its
    role rightly lacks the grant. ``off`` reads the feature's state from the deployed function
    (its environment, the catalog it ships): the exemption ends the moment the feature is on."""

    handler: str
    action: str
    off: Callable[[DeployedFunction], bool]
    why: str

    @property
    def id(self) -> str:
        return f"{self.handler}:{self.action}"


def _no_approved_metric(function: DeployedFunction) -> bool:
    return not function.models_with("approvedMetric")


def _no_new_data_check(function: DeployedFunction) -> bool:
    return not function.models_with("onlyWhenNewData")


def _no_warning_topic(function: DeployedFunction) -> bool:
    return not function.environment.get(WARNING_TOPIC_ARN.name)


APPROVED_METRIC_WHY = (
    "`start_training` reads the approved version's metric only for a model whose gate has "
    "compareWithApproved (catalog `approvedMetric`); the component grants it only then"
)
EXEMPTIONS: tuple[FeatureOff, ...] = (
    *(
        FeatureOff(handler, action, _no_approved_metric, APPROVED_METRIC_WHY)
        for handler in ("queue_worker", "start_retraining")
        for action in (
            "sagemaker:ListModelPackages",
            "sagemaker:DescribeModelPackage",
            "s3:GetObject",
        )
    ),
    FeatureOff(
        "start_retraining",
        "s3:ListBucket",
        _no_new_data_check,
        "the freshness listing runs only for a model with onlyWhenNewData "
        "(`Retraining._skip_without_new_data`); the component grants ListBucket only then",
    ),
    FeatureOff(
        "queue_worker",
        "sns:Publish",
        _no_warning_topic,
        "a run refused over its cost cap alerts the warning topic, and `notify` sends nothing "
        "when the function has none (no model with a cap, or no monitoring: spend.refusal_topic)",
    ),
)


def exemption(function: DeployedFunction, action: str) -> FeatureOff | None:
    """The exemption that covers ``action`` for ``function``, if its feature is off there."""
    return next(
        (
            e
            for e in EXEMPTIONS
            if e.handler == function.handler and e.action == action and e.off(function)
        ),
        None,
    )


def missing_grants(function: DeployedFunction, reached: boto_calls.Reach) -> dict[str, list[str]]:
    """Action -> its call sites, for each action the handler can reach that the role does not
    allow and no exemption covers."""
    return {
        action: reached.evidence(action)
        for action in sorted(reached.actions())
        if not function.grants.allows(action) and exemption(function, action) is None
    }


@pytest.mark.parametrize("handler_module", boto_calls.handler_modules())
def test_the_analysis_follows_every_call(handler_module: str) -> None:
    """A call the analysis cannot follow would read as no call at all: each is an error."""
    reached = boto_calls.reach(handler_module)
    assert reached.unresolved == []
    assert reached.calls, f"{handler_module} reaches no AWS call: is its entry point analysed?"


@pytest.mark.parametrize("stack", STACKS)
def test_every_function_runs_a_handler_the_analysis_reads(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    """A function whose handler the analysis does not read would be checked against nothing."""
    functions = deployed_functions(run_stack(stack))
    assert functions, f"{stack} creates no Lambda function"
    unknown = {f.handler_module for f in functions} - set(boto_calls.handler_modules())
    assert unknown == set()


@pytest.mark.parametrize("stack", STACKS)
def test_every_reachable_action_is_granted(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    """The check itself: each function's reachable actions are within its role's."""
    failures = [
        f"{stack}: {function.resource} ({function.handler}) may not {action}; its role's "
        f"policies ({', '.join(function.grants.sources)}) lack it; called at: {'; '.join(sites)}"
        for function in deployed_functions(run_stack(stack))
        for action, sites in missing_grants(
            function, boto_calls.reach(function.handler_module)
        ).items()
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("entry", EXEMPTIONS, ids=lambda e: e.id)
def test_each_exemption_is_still_needed(
    run_stack: Callable[..., offline.Recording], entry: FeatureOff
) -> None:
    """An exemption no function needs (the call is gone, the grant came, or the feature is on
    wherever the handler runs) is removed, so the table cannot hide a later gap."""
    assert len(entry.why) >= 40, "say why the call cannot happen"
    handler_module = f"{boto_calls.HANDLERS_PACKAGE}.{entry.handler}"
    assert entry.action in boto_calls.reach(handler_module).actions(), "no longer reachable"
    needed_in = [
        f"{function.stack}/{function.resource}"
        for stack in STACKS
        for function in deployed_functions(run_stack(stack))
        if function.handler == entry.handler
        and entry.off(function)
        and not function.grants.allows(entry.action)
    ]
    assert needed_in, f"{entry.id}: granted, or its feature is on, wherever it runs"


def test_the_queue_worker_reaches_the_listing_its_redelivery_makes() -> None:
    """The incident this check exists for: a redelivered request lists the pipeline's executions
    (`start_training(..., resume=True)`), which the worker's role once did not allow."""
    reached = boto_calls.reach(f"{boto_calls.HANDLERS_PACKAGE}.queue_worker")
    [site] = reached.evidence("sagemaker:ListPipelineExecutions")
    assert site.startswith("lambda/trainops_runtime/adapters/training.py:")
    assert site.endswith(
        "adapters.training.start_training -> adapters.training.started_execution -> "
        "adapters.training._recent_executions"
    )


# A Lambda package in miniature, with each way the real one reaches AWS.
SYNTHETIC_PACKAGE = {
    "__init__.py": "",
    "adapters/__init__.py": "",
    "adapters/clients.py": """
        import boto3

        _clients = {}

        def client(service):
            if service not in _clients:
                _clients[service] = boto3.client(service)
            return _clients[service]
    """,
    "adapters/store.py": """
        from trainops_runtime.adapters import clients

        def _sagemaker():
            return clients.client("sagemaker")

        def put(table):
            clients.client("dynamodb").put_item(TableName=table, Item={})

        def scan(table):  # in the module, never called: not reachable
            clients.client("dynamodb").scan(TableName=table)

        def listing(bucket):
            pages = clients.client("s3").get_paginator("list_objects_v2")
            return pages.paginate(Bucket=bucket)

        def _paged(operation, **request):
            ssm = clients.client("ssm")
            return getattr(ssm, operation)(**request)

        def windows():
            return _paged("describe_maintenance_window_executions", WindowId="w")

        def stop(arn):
            _sagemaker().stop_pipeline_execution(PipelineExecutionArn=arn)

        def append(table):
            writes = [{"Put": {"TableName": table}}, {"ConditionCheck": {"TableName": table}}]
            clients.client("dynamodb").transact_write_items(TransactItems=writes)

        class Ledger:
            def count(self):
                return self._read()

            def _read(self):
                return clients.client("dynamodb").get_item(TableName="t", Key={})
    """,
    "usecase.py": """
        from dataclasses import dataclass
        from typing import Callable

        @dataclass
        class Ports:
            publish: Callable
            listing: Callable
    """,
    "handlers/__init__.py": "",
    "handlers/fake.py": """
        import functools

        from trainops_runtime.adapters import clients, store
        from trainops_runtime.usecase import Ports

        def _ports():
            return Ports(
                publish=lambda: store.put("t"),
                listing=functools.partial(store.listing, "bucket"),
            )

        def handler(event, context):
            from trainops_runtime.adapters.store import Ledger

            Ledger().count()
            store.windows()
            store.stop("arn")
            store.append("t")
            queue = clients.client("sqs")
            queue.send_message_batch(QueueUrl="q", Entries=[])
            return _ports()
    """,
}


def _write_package(root: Path, files: Mapping[str, str]) -> Path:
    for name, text in files.items():
        path = root / "trainops_runtime" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_a_planted_call_the_role_lacks_is_reported(tmp_path: Path) -> None:
    """The check bites: every way of reaching a call is followed, nothing more, and a role
    without one of the actions is reported with the call's site."""
    reached = boto_calls.Analyzer(_write_package(tmp_path, SYNTHETIC_PACKAGE)).reach(
        "trainops_runtime.handlers.fake"
    )
    assert reached.unresolved == []
    assert set(reached.actions()) == {
        "dynamodb:PutItem",  # a lambda in the ports, and the transaction's Put
        "dynamodb:ConditionCheckItem",  # the transaction's ConditionCheck
        "dynamodb:GetItem",  # a lazily imported class's method, through self
        "s3:ListBucket",  # a paginator, through functools.partial
        "ssm:DescribeMaintenanceWindowExecutions",  # getattr with the caller's literal
        "sagemaker:StopPipelineExecution",  # a helper that returns a client
        "sqs:SendMessage",  # a batch, on a client bound to a local
    }
    everything_but_stop = Grants.of(
        {
            "policy": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [a for a in reached.actions() if not a.startswith("sagemaker")],
                    },
                    {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:List*"]},
                ]
            }
        }
    )
    function = DeployedFunction(
        "test", "fake", "trainops_runtime.handlers.fake", everything_but_stop
    )
    missing = missing_grants(function, reached)
    assert list(missing) == ["sagemaker:StopPipelineExecution"]
    [site] = missing["sagemaker:StopPipelineExecution"]
    assert "/trainops_runtime/adapters/store.py:" in site
    assert site.endswith("handlers.fake.handler -> adapters.store.stop")


def test_what_the_analysis_cannot_follow_is_reported(tmp_path: Path) -> None:
    """A gap in the analysis must fail loudly rather than pass as "no call"."""
    files = {
        **SYNTHETIC_PACKAGE,
        "handlers/fake.py": """
            from trainops_runtime.adapters import clients

            def _use(anything):
                return anything

            def handler(event, context):
                clients.client(event["service"]).do_it()
                _use(clients.client("sqs"))
                clients.client("sqs").send_mesage(QueueUrl="q")
        """,
    }
    reached = boto_calls.Analyzer(_write_package(tmp_path, files)).reach(
        "trainops_runtime.handlers.fake"
    )
    problems = "\n".join(reached.unresolved)
    assert "service is not a literal" in problems
    assert "sqs client is used in a way the analysis cannot follow" in problems
    assert "send_mesage is no method of a sqs client" in problems


def test_grants_follow_iam_wildcards_and_deny() -> None:
    grants = Grants.of(
        {
            "role": {
                "Statement": [
                    {"Effect": "Allow", "Action": ["sagemaker:Describe*", "s3:GetObject"]},
                    {"Effect": "Allow", "NotAction": ["iam:*"]},
                    {"Effect": "Deny", "Action": "sagemaker:DescribeEndpoint"},
                ]
            }
        }
    )
    assert grants.allows("sagemaker:DescribeTrainingJob")
    assert grants.allows("S3:getobject")  # IAM matches actions case-insensitively
    assert not grants.allows("sagemaker:DescribeEndpoint")  # Deny wins
    assert not grants.allows("sqs:SendMessage")  # an Allow with NotAction counts for nothing
    fenced = Grants.of(
        {"role": {"Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:*"]}]}},
        boundary=Grants.of({"boundary": {"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}}),
    )
    assert fenced.allows("s3:PutObject")
    assert not fenced.allows("sqs:SendMessage")


def test_each_renamed_action_is_an_operation_of_its_service() -> None:
    """The exception table names real API operations (a typo would exempt nothing)."""
    for api_action in boto_calls.RENAMED_ACTIONS:
        service, _, operation = api_action.partition(":")
        model = boto_calls.service_client(service).meta.service_model
        assert operation in model.operation_names, api_action
