"""Which AWS API actions a Lambda handler can reach, read statically from the Lambda source.

Mocks accept every call, so the tests alone cannot tell whether a function's role allows what its
handler calls. This module answers the first half (what the handler calls) without running it:

* **Reachable code.** From the handler module's `handler`, every name or attribute that resolves
  to a top-level function, class or variable of `trainops_runtime` is followed (module-level and
  function-level imports, `from x import f`, `module.f`, `functools.partial(module.f, ...)`,
  lambdas in port dataclasses, default arguments, decorators). A function is reached whole (with
  its nested functions and lambdas), a class with all its methods (so `self.method` needs no
  tracking), a module-level variable with the expression it is assigned. A module is never
  reached just because it is imported: `adapters/training.py` holds functions some handlers never
  call. Annotations are not followed (they are not evaluated: `from __future__ import
  annotations`, and naming a type calls none of its methods).
* **Client calls.** In each reached unit: `clients.client("svc").method`, a local bound to a
  client (`x = clients.client("svc")`, chains of such names), any function that returns a client
  of one service (a factory), `x.get_paginator("op")`, `getattr(x, "op")`, and `getattr(x,
  param)` where ``param`` is a parameter of the function: then the string literals passed for it
  at the reachable call sites are the operations. The method name goes to the API operation
  through botocore's own service model (`meta.method_to_api_mapping`).
* **Loud, not silent.** Anything the analysis cannot follow (a service or operation that is not
  a literal, a client handed to code it does not know, a library that creates its own clients, a
  direct boto3 client) is reported as unresolved, and the test fails on it: a gap in the
  analysis must never read as "no calls".

Libraries: Powertools' Logger and Metrics make no API call (Metrics writes EMF to the function's
log, which CloudWatch turns into metrics: no `cloudwatch:PutMetricData`). Its idempotency store is
handed the function's DynamoDB client; which operations it makes is read from the installed
Powertools' source (`LIBRARY_CLIENT_USERS`). Deployed functions run AWS's published Powertools
layer instead, whose version the stack pins (`powertools_layer_version`): the installed version
stands in for it, an assumption to revisit when the two move apart.

Not followed (none occurs in the package today): calls through names built at run time
(`getattr(module, name)`, `importlib`), and code run at import by a module no reached unit uses.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session

LAMBDA_DIR = Path(__file__).resolve().parents[1] / "lambda"
PACKAGE = "trainops_runtime"
HANDLERS_PACKAGE = f"{PACKAGE}.handlers"
ENTRY_POINT = "handler"
# `clients.client(service)`: the one place the runtime creates boto3 clients.
CLIENT_FACTORY = ("adapters.clients", "client")
REGION = "us-east-1"  # any region: only the service model is read

# Client attributes that make no API call.
NO_CALL_ATTRIBUTES = frozenset({"meta", "exceptions", "can_paginate", "close"})

# Third-party classes the runtime hands one of its clients to: (service, the attribute the class
# keeps it in). The operations are those the installed class calls on that attribute.
LIBRARY_CLIENT_USERS: Mapping[str, tuple[str, str]] = {
    "aws_lambda_powertools.utilities.idempotency.DynamoDBPersistenceLayer": ("dynamodb", "client"),
}
# Libraries that call AWS on their own. Reaching anything under these (other than the classes
# above) is unresolved: its calls would be invisible here.
AWS_CALLING_LIBRARIES = (
    "boto3",
    "botocore.session",
    "botocore.client",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.feature_flags",
    "aws_lambda_powertools.utilities.streaming",
    "aws_lambda_powertools.utilities.idempotency.persistence",
)

# Where IAM's action prefix is not the service's signing name.
IAM_PREFIXES = {"monitoring": "cloudwatch"}
# API operations whose IAM action has another name. Checked against AWS's documentation:
# * S3 ListObjectsV2 / ListObjects: "you must have permission to perform the s3:ListBucket
#   action" (S3 API reference, ListObjectsV2 > Permissions);
# * S3 HeadObject: "To use HEAD, you must have the s3:GetObject permission" (HeadObject);
# * SQS batch actions: "You cannot set permissions explicitly for SendMessageBatch,
#   DeleteMessageBatch, or ChangeMessageVisibilityBatch. Instead, setting permissions for
#   SendMessage, DeleteMessage, or ChangeMessageVisibility sets permissions for the corresponding
#   batch versions" (SQS developer guide, Amazon SQS batch actions).
RENAMED_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "s3:ListObjects": ("s3:ListBucket",),
    "s3:HeadObject": ("s3:GetObject",),
    "sqs:SendMessageBatch": ("sqs:SendMessage",),
    "sqs:DeleteMessageBatch": ("sqs:DeleteMessage",),
    "sqs:ChangeMessageVisibilityBatch": ("sqs:ChangeMessageVisibility",),
}
# DynamoDB transactions are authorised per item: "Permissions for Put, Update, Delete, and Get
# actions are governed by the permissions used for the underlying PutItem, UpdateItem,
# DeleteItem, and GetItem operations. For the ConditionCheck action, you can use the
# dynamodb:ConditionCheckItem permission" (DynamoDB developer guide, Using IAM with DynamoDB
# transactions). Which kinds of item a call writes is read from the dict literals of the function
# that makes it (`{"Put": {...}}`); a function with none is unresolved.
TRANSACTION_ITEM_ACTIONS: Mapping[str, Mapping[str, str]] = {
    "transact_write_items": {
        "Put": "dynamodb:PutItem",
        "Update": "dynamodb:UpdateItem",
        "Delete": "dynamodb:DeleteItem",
        "ConditionCheck": "dynamodb:ConditionCheckItem",
    },
    "transact_get_items": {"Get": "dynamodb:GetItem"},
}


@cache
def service_client(service: str) -> Any:
    """A botocore client, only for its service model (never used to call anything)."""
    return botocore.session.get_session().create_client(
        service, region_name=REGION, aws_access_key_id="unused", aws_secret_access_key="unused"
    )


def api_operation(service: str, method: str) -> str | None:
    """The API operation behind ``method`` of a ``service`` client (None: no such method)."""
    return service_client(service).meta.method_to_api_mapping.get(method)


def iam_prefix(service: str) -> str:
    signing_name = service_client(service).meta.service_model.signing_name
    return IAM_PREFIXES.get(signing_name, signing_name)


@dataclass(frozen=True)
class Unit:
    """A top-level function, class or variable of one module: what reachability counts."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def short(self) -> str:
        """The name inside the Lambda package (`adapters.training.start_training`)."""
        return f"{self.module.partition('.')[2] or self.module}.{self.name}"


@dataclass(frozen=True)
class ModuleRef:
    name: str


@dataclass(frozen=True)
class External:
    """A name outside the Lambda package (a library or the standard library)."""

    dotted: str

    def under(self, prefix: str) -> bool:
        return self.dotted == prefix or self.dotted.startswith(prefix + ".")


Ref = Unit | ModuleRef | External


@dataclass(frozen=True)
class ApiCall:
    """One place the handler's code can make one API call."""

    service: str  # boto3's name for the service
    method: str  # the client method (or the paginator's operation)
    site: str  # path:line
    unit: Unit
    # kinds of item of a DynamoDB transaction (Put, Update, ...), read from the same function
    items: frozenset[str] = frozenset()

    @property
    def operation(self) -> str:
        return api_operation(self.service, self.method) or self.method

    def iam_actions(self) -> frozenset[str]:
        """The IAM actions this call needs."""
        if self.method in TRANSACTION_ITEM_ACTIONS:
            kinds = TRANSACTION_ITEM_ACTIONS[self.method]
            return frozenset(kinds[item] for item in self.items)
        action = f"{iam_prefix(self.service)}:{self.operation}"
        return frozenset(RENAMED_ACTIONS.get(action, (action,)))


@dataclass
class ParsedModule:
    name: str
    path: Path
    tree: ast.Module
    # top-level name -> the statements that define it (def, class, assignment)
    definitions: dict[str, list[ast.AST]] = field(default_factory=dict)
    # name bound by an import at module level (also under `if TYPE_CHECKING:`) -> dotted target
    imports: dict[str, str] = field(default_factory=dict)


@dataclass
class Reach:
    """What one handler can reach: the units, the API calls in them, and what stayed unknown."""

    handler_module: str
    # unit -> the unit it was first reached from (None: the entry point)
    units: dict[Unit, Unit | None]
    calls: list[ApiCall]
    unresolved: list[str]

    def chain(self, unit: Unit) -> list[Unit]:
        """The path from the entry point to ``unit``."""
        path = [unit]
        while (previous := self.units.get(path[-1])) is not None:
            path.append(previous)
        return path[::-1]

    def actions(self) -> dict[str, list[ApiCall]]:
        """IAM action -> the calls that need it."""
        needed: dict[str, list[ApiCall]] = {}
        for call in self.calls:
            for action in call.iam_actions():
                needed.setdefault(action, []).append(call)
        return needed

    def evidence(self, action: str) -> list[str]:
        """Each call site of ``action`` with the path the handler takes to it."""
        return sorted(
            {
                f"{call.site} via {' -> '.join(u.short for u in self.chain(call.unit))}"
                for call in self.actions().get(action, [])
            }
        )


def _children(node: ast.AST) -> Iterator[ast.AST]:
    """Child nodes that run: annotations are skipped (never evaluated under PEP 563)."""
    for name, value in ast.iter_fields(node):
        if name in ("annotation", "returns"):
            continue
        if isinstance(value, ast.AST):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, ast.AST))


def executed_nodes(node: ast.AST) -> Iterator[ast.AST]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(_children(current))


def _parents(node: ast.AST) -> dict[int, ast.AST]:
    return {id(child): parent for parent in executed_nodes(node) for child in _children(parent)}


def _constant_string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class Analyzer:
    """The Lambda package, parsed once; `reach(handler_module)` per handler."""

    def __init__(self, source_dir: Path = LAMBDA_DIR, package: str = PACKAGE) -> None:
        self.source_dir = source_dir
        self.package = package
        self.modules: dict[str, ParsedModule] = {}
        for path in sorted((source_dir / package).rglob("*.py")):
            parts = list(path.relative_to(source_dir).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            module = ParsedModule(name=name, path=path, tree=tree)
            self._index(module, is_package)
            self.modules[name] = module
        self.client_factory = Unit(f"{package}.{CLIENT_FACTORY[0]}", CLIENT_FACTORY[1])
        self.factories = self._find_factories()

    # -- indexing ---------------------------------------------------------------------------

    def _index(self, module: ParsedModule, is_package: bool) -> None:
        pending: list[ast.stmt] = list(module.tree.body)
        while pending:
            statement = pending.pop(0)
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                module.definitions.setdefault(statement.name, []).append(statement)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            module.definitions.setdefault(name.id, []).append(statement)
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                module.imports.update(self._imports(statement, module.name, is_package))
            elif isinstance(statement, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for inner in getattr(statement, block, []):
                        pending.extend(
                            inner.body if isinstance(inner, ast.ExceptHandler) else [inner]
                        )

    @staticmethod
    def _imports(
        statement: ast.Import | ast.ImportFrom, module: str, is_package: bool
    ) -> dict[str, str]:
        bound: dict[str, str] = {}
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:  # `import a.b` binds `a`
                    top = alias.name.split(".")[0]
                    bound[top] = top
            return bound
        base = statement.module or ""
        if statement.level:
            package_parts = module.split(".") if is_package else module.split(".")[:-1]
            anchor = package_parts[: len(package_parts) - statement.level + 1]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in statement.names:
            bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        return bound

    def _local_imports(self, node: ast.AST, module: ParsedModule) -> dict[str, str]:
        is_package = module.path.name == "__init__.py"
        bound: dict[str, str] = {}
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                bound.update(self._imports(inner, module.name, is_package))
        return bound

    # -- resolution -------------------------------------------------------------------------

    def in_package(self, dotted: str) -> bool:
        return dotted == self.package or dotted.startswith(self.package + ".")

    def lookup(self, dotted: str, seen: frozenset[str] = frozenset()) -> Ref | None:
        """What a dotted name means: a module, a unit, something outside, or nothing known."""
        if dotted in self.modules:
            return ModuleRef(dotted)
        if not self.in_package(dotted):
            return External(dotted)
        parent, _, attribute = dotted.rpartition(".")
        module = self.modules.get(parent)
        if module is None:
            owner = self.lookup(parent, seen) if parent else None
            # an attribute of a class (`Class.method`): the class is reached whole
            return owner if isinstance(owner, Unit) else None
        if attribute in module.definitions:
            return Unit(parent, attribute)
        if attribute in module.imports and dotted not in seen:  # a re-export
            return self.lookup(module.imports[attribute], seen | {dotted})
        return None

    def resolve(self, node: ast.AST, unit: Unit, local_imports: Mapping[str, str]) -> Ref | None:
        """What a name or attribute chain in ``unit`` refers to (None: a local, a value)."""
        if isinstance(node, ast.Name):
            return self._resolve_name(node.id, unit, local_imports)
        if not isinstance(node, ast.Attribute):
            return None
        owner = self.resolve(node.value, unit, local_imports)
        if isinstance(owner, ModuleRef):
            return self.lookup(f"{owner.name}.{node.attr}")
        if isinstance(owner, External):
            return External(f"{owner.dotted}.{node.attr}")
        return owner if isinstance(owner, Unit) else None  # a class's attribute: the class

    def _resolve_name(self, name: str, unit: Unit, local_imports: Mapping[str, str]) -> Ref | None:
        module = self.modules[unit.module]
        if name in local_imports:
            return self.lookup(local_imports[name])
        if name in module.definitions:
            return Unit(module.name, name)
        if name in module.imports:
            return self.lookup(module.imports[name])
        return None

    def definition(self, unit: Unit) -> list[ast.AST]:
        return self.modules[unit.module].definitions[unit.name]

    def site(self, unit: Unit, node: ast.AST) -> str:
        path = self.modules[unit.module].path.relative_to(self.source_dir.parent)
        return f"{path.as_posix()}:{getattr(node, 'lineno', '?')}"

    # -- clients ----------------------------------------------------------------------------

    def _find_factories(self) -> dict[Unit, str | None]:
        """Functions that return a client: unit -> its service (None: the service argument)."""
        factories: dict[Unit, str | None] = {self.client_factory: None}
        changed = True
        while changed:
            changed = False
            for module in self.modules.values():
                for name, nodes in module.definitions.items():
                    unit = Unit(module.name, name)
                    if unit in factories or not isinstance(nodes[0], ast.FunctionDef):
                        continue
                    scope = _UnitScope(self, unit, factories)
                    returned = {
                        scope.client_service(node.value)
                        for node in executed_nodes(nodes[0])
                        if isinstance(node, ast.Return) and node.value is not None
                    }
                    services = {service for service in returned if service}
                    if len(services) == 1 and None not in returned:
                        factories[unit] = services.pop()
                        changed = True
        return factories

    # -- reachability -----------------------------------------------------------------------

    def reach(self, handler_module: str, entry: str = ENTRY_POINT) -> Reach:
        start = Unit(handler_module, entry)
        if (
            handler_module not in self.modules
            or entry not in self.modules[handler_module].definitions
        ):
            raise LookupError(f"{handler_module} defines no {entry}")
        units: dict[Unit, Unit | None] = {start: None}
        pending = [start]
        unresolved: list[str] = []
        libraries: dict[tuple[str, Unit], str] = {}  # library class reached -> where
        while pending:
            unit = pending.pop()
            for node in self.definition(unit):
                imports = self._local_imports(node, self.modules[unit.module])
                for inner in executed_nodes(node):
                    if not isinstance(inner, (ast.Name, ast.Attribute)):
                        continue
                    if not isinstance(inner.ctx, ast.Load):
                        continue
                    target = self.resolve(inner, unit, imports)
                    if isinstance(target, Unit) and target not in units:
                        units[target] = unit
                        pending.append(target)
                    elif isinstance(target, External) and unit != self.client_factory:
                        unresolved += self._library_problem(target, unit, inner)
                        if target.dotted in LIBRARY_CLIENT_USERS:
                            libraries[(target.dotted, unit)] = self.site(unit, inner)
        calls = [
            call
            for (dotted, unit), site in libraries.items()
            for call in library_calls(dotted, site, unit)
        ]
        dispatches: list[_Dispatch] = []
        for unit in units:
            if unit == self.client_factory:
                continue  # creates clients; calls none
            scope = _UnitScope(self, unit, self.factories)
            scope.scan()
            calls += scope.calls
            dispatches += scope.dispatches
            unresolved += scope.unresolved
        for dispatch in dispatches:
            found, problems = self._dispatched(dispatch, units)
            calls += found
            unresolved += problems
        return Reach(handler_module, units, calls, sorted(set(unresolved)))

    def _library_problem(self, target: External, unit: Unit, node: ast.AST) -> list[str]:
        if any(target.under(known) for known in LIBRARY_CLIENT_USERS):
            return []
        if any(target.under(library) for library in AWS_CALLING_LIBRARIES):
            return [
                f"{self.site(unit, node)}: {target.dotted} calls AWS on its own; "
                "its calls are not modelled (add it to LIBRARY_CLIENT_USERS)"
            ]
        return []

    def _dispatched(
        self, dispatch: _Dispatch, units: Mapping[Unit, Unit | None]
    ) -> tuple[list[ApiCall], list[str]]:
        """The operations passed for a `getattr(client, param)` parameter, at every reachable
        call of its function."""
        calls: list[ApiCall] = []
        problems: list[str] = []
        for unit in units:
            for node in self.definition(unit):
                imports = self._local_imports(node, self.modules[unit.module])
                parents = _parents(node)
                for inner in executed_nodes(node):
                    if not isinstance(inner, (ast.Name, ast.Attribute)):
                        continue
                    if self.resolve(inner, unit, imports) != dispatch.function:
                        continue
                    call = parents.get(id(inner))
                    if not (isinstance(call, ast.Call) and call.func is inner):
                        problems.append(
                            f"{self.site(unit, inner)}: {dispatch.function} is passed around; the "
                            f"operation its `{dispatch.parameter}` names cannot be followed"
                        )
                        continue
                    argument = next(
                        (k.value for k in call.keywords if k.arg == dispatch.parameter),
                        call.args[dispatch.index] if len(call.args) > dispatch.index else None,
                    )
                    method = _constant_string(argument)
                    if method is None or api_operation(dispatch.service, method) is None:
                        problems.append(
                            f"{self.site(unit, call)}: {dispatch.function}'s "
                            f"`{dispatch.parameter}` is not a {dispatch.service} method literal"
                        )
                        continue
                    calls.append(
                        ApiCall(dispatch.service, method, self.site(unit, call), dispatch.function)
                    )
        return calls, problems


@dataclass(frozen=True)
class _Dispatch:
    """`getattr(<client>, <parameter>)` inside ``function``: the operation is the caller's."""

    function: Unit
    parameter: str
    index: int
    service: str


class _UnitScope:
    """The client calls of one reached unit."""

    def __init__(
        self, analyzer: Analyzer, unit: Unit, factories: Mapping[Unit, str | None]
    ) -> None:
        self.analyzer = analyzer
        self.unit = unit
        self.factories = factories
        self.nodes = analyzer.definition(unit)
        module = analyzer.modules[unit.module]
        self.imports: dict[str, str] = {}
        for node in self.nodes:
            self.imports.update(analyzer._local_imports(node, module))
        self.bound: dict[str, str] = {}  # local name -> service of the client it holds
        self.calls: list[ApiCall] = []
        self.dispatches: list[_Dispatch] = []
        self.unresolved: list[str] = []
        self._bind_locals()

    def _bind_locals(self) -> None:
        changed = True
        while changed:
            changed = False
            for node in self.nodes:
                for inner in executed_nodes(node):
                    if isinstance(inner, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                        targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
                        if inner.value is None:
                            continue
                        service = self.client_service(inner.value)
                        for target in targets:
                            if (
                                service
                                and isinstance(target, ast.Name)
                                and self.bound.get(target.id) != service
                            ):
                                self.bound[target.id] = service
                                changed = True

    def client_service(self, node: ast.AST) -> str | None:
        """The service of the client ``node`` evaluates to (None: not a client)."""
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            return self.bound.get(node.id)
        if isinstance(node, ast.Call):
            target = self.analyzer.resolve(node.func, self.unit, self.imports)
            if isinstance(target, Unit) and target in self.factories:
                fixed = self.factories[target]
                if fixed is not None:
                    return fixed
                service = _constant_string(node.args[0] if node.args else None)
                if service is None:
                    self.unresolved.append(
                        f"{self.site(node)}: a client whose service is not a literal"
                    )
                    return None
                return service
        return None

    def site(self, node: ast.AST) -> str:
        return self.analyzer.site(self.unit, node)

    def scan(self) -> None:
        for node in self.nodes:
            parents = _parents(node)
            for inner in executed_nodes(node):
                service = self.client_service(inner)
                if service is not None:
                    self._use(inner, service, parents.get(id(inner)), parents, node)

    def _use(
        self,
        node: ast.AST,
        service: str,
        parent: ast.AST | None,
        parents: Mapping[int, ast.AST],
        definition: ast.AST,
    ) -> None:
        """One occurrence of a client: a call made, a binding, or something unknown."""
        if isinstance(parent, ast.Attribute) and parent.value is node:
            self._attribute(parent, service, parents, definition)
        elif (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Name)
            and parent.func.id == "getattr"
            and parent.args
            and parent.args[0] is node
        ):
            self._getattr(parent, service, definition)
        elif isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and all(
            isinstance(target, ast.Name)
            for target in (parent.targets if isinstance(parent, ast.Assign) else [parent.target])
        ):
            if not isinstance(definition, ast.FunctionDef):
                self.unresolved.append(
                    f"{self.site(node)}: a {service} client made at import time (clients are "
                    "made on first use, inside functions: see adapters/clients.py)"
                )
            # else bound to a local: its uses are scanned as they come
        elif isinstance(parent, ast.Return) and self.unit in self.factories:
            pass  # a factory: its callers' uses are scanned
        elif self._handed_to_library(parent, parents):
            pass  # the library's calls are added where it is referenced
        else:
            self.unresolved.append(
                f"{self.site(node)}: a {service} client is used in a way the analysis cannot "
                "follow (handed to other code, stored, or returned)"
            )

    def _handed_to_library(self, parent: ast.AST | None, parents: Mapping[int, ast.AST]) -> bool:
        call = parents.get(id(parent)) if isinstance(parent, ast.keyword) else parent
        if not isinstance(call, ast.Call):
            return False
        target = self.analyzer.resolve(call.func, self.unit, self.imports)
        return isinstance(target, External) and target.dotted in LIBRARY_CLIENT_USERS

    def _attribute(
        self,
        attribute: ast.Attribute,
        service: str,
        parents: Mapping[int, ast.AST],
        definition: ast.AST,
    ) -> None:
        name = attribute.attr
        if name in NO_CALL_ATTRIBUTES:
            return
        if name == "get_paginator":
            call = parents.get(id(attribute))
            operation = (
                _constant_string(call.args[0] if call.args else None)
                if isinstance(call, ast.Call) and call.func is attribute
                else None
            )
            if operation is None:
                self.unresolved.append(f"{self.site(attribute)}: a paginator of no literal name")
            else:
                self._record(service, operation, attribute, definition)
            return
        self._record(service, name, attribute, definition)

    def _getattr(self, call: ast.Call, service: str, definition: ast.AST) -> None:
        argument = call.args[1] if len(call.args) > 1 else None
        method = _constant_string(argument)
        if method is not None:
            self._record(service, method, call, definition)
            return
        function = definition if isinstance(definition, ast.FunctionDef) else None
        parameters = [a.arg for a in function.args.args] if function else []
        if isinstance(argument, ast.Name) and argument.id in parameters:
            self.dispatches.append(
                _Dispatch(self.unit, argument.id, parameters.index(argument.id), service)
            )
            return
        self.unresolved.append(f"{self.site(call)}: getattr on a {service} client, name unknown")

    def _record(self, service: str, method: str, node: ast.AST, definition: ast.AST) -> None:
        if api_operation(service, method) is None:
            self.unresolved.append(
                f"{self.site(node)}: {method} is no method of a {service} client"
            )
            return
        items: frozenset[str] = frozenset()
        if method in TRANSACTION_ITEM_ACTIONS:
            kinds = TRANSACTION_ITEM_ACTIONS[method]
            items = frozenset(
                key.value
                for inner in executed_nodes(definition)
                if isinstance(inner, ast.Dict)
                for key in inner.keys
                if isinstance(key, ast.Constant) and key.value in kinds
            )
            if not items:
                self.unresolved.append(
                    f"{self.site(node)}: {method} without a literal item kind "
                    f"({', '.join(kinds)}) in the same function"
                )
                return
        self.calls.append(ApiCall(service, method, self.site(node), self.unit, items))


def library_calls(dotted: str, site: str, unit: Unit) -> list[ApiCall]:
    """The calls the installed library class makes on the client it is handed."""
    service, attribute = LIBRARY_CLIENT_USERS[dotted]
    module_name, _, class_name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    methods = sorted(
        {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == attribute
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
            and api_operation(service, node.attr) is not None
        }
    )
    if not methods:
        raise LookupError(f"{dotted} makes no {service} call on self.{attribute}: update the table")
    return [ApiCall(service, method, f"{site} ({class_name})", unit) for method in methods]


def handler_modules(source_dir: Path = LAMBDA_DIR) -> list[str]:
    """Every module under `handlers/` that defines a top-level `handler`."""
    analyzer = analyze(source_dir)
    return sorted(
        name
        for name, module in analyzer.modules.items()
        if name.startswith(HANDLERS_PACKAGE + ".") and ENTRY_POINT in module.definitions
    )


@cache
def analyze(source_dir: Path = LAMBDA_DIR, package: str = PACKAGE) -> Analyzer:
    return Analyzer(source_dir, package)


@cache
def reach(handler_module: str, source_dir: Path = LAMBDA_DIR) -> Reach:
    """What ``handler_module``'s `handler` can reach, with the library calls included."""
    return analyze(source_dir).reach(handler_module)
