"""The example programs in examples/ (Pulumi YAML and TypeScript) checked against the component
package's committed schema (package/schema.json), the stack config's rules and each other.

Neither example can run here (no Pulumi CLI, no Node.js), so they are read as data: each
becomes a `Program`, its components' inputs with every reference resolved, then checked.

How a value is judged
- A literal (string, number, boolean, object, list) must fit the schema type of the input it is
  given to: every property exists on the component, or on the nested type the schema gives it
  (`$ref` into `types`, maps through `additionalProperties`, lists through `items`, enums by
  value), with that JSON type; required inputs and required nested properties are present.
- A reference to another resource's output (YAML `${foundation.keyArn}`, TypeScript
  `foundation.keyArn`) must name an output that component has, of the input's type, and may
  feed only an input the schema does not mark `plain`. A plain input is one the facade needs
  as a value while the component is constructed: it validates it with the stack file's rules
  and uses it in names and policies, so an output (unknown at preview) never feeds one, and the
  check says so. Every schema input that takes another component's output (the ARNs and names
  in `PlatformRef`, `AlertsRef`, `TrainingBusRef`, `ExecutionRoleRef`) is not plain.
- References to YAML `variables` and TypeScript constants are replaced by their values first:
  a plain input may take one when it holds a literal (e.g. `models: ${models}`).

What is read, and what fails
- YAML: `packages`, `variables`, `resources` (`type` and `properties` only) and `outputs`;
  `${name}`, `${name.property}`, `${name["key"]}` and `${name[0]}` (whole values or inside a
  string). `fn::` functions, `config`, resource `options` and `${pulumi.*}` are not checked:
  an example using one fails here, naming it, until this reader learns it.
- TypeScript: no TypeScript parser. A tokenizer reads the JSON-like subset the example keeps to
  (its header says so): `import * as x from "..."`; `[export] const name = <expression>`
  statements; object literals (quoted or bare keys, shorthand properties, `...spread` of an
  object), arrays, strings without substitutions, numbers, `true`/`false`; references to earlier
  constants and resource outputs with `.name` / `["key"]` / `[0]`; and
  `new <sdk>.<Component>("name", { ... })`. Anything else (calls, `pulumi.interpolate`, `.apply`,
  type annotations, `let`, functions, resource options) raises `UnsupportedSyntaxError` with the
  file and line, so the example cannot drift outside what is checked.

Also: every example model and feature setting validates with `components.config.parse` (the
stack file's rules), the components of each example describe one stack (same platform, models,
guardrails and alert ladder everywhere), every output-fed input comes from the component output
its schema description names, both examples build the same stack, each component of the YAML
example constructs through the package's provider under the program's mocks (outputs replaced
by example values), and the release they pin is pyproject's version, with its CHANGELOG.md entry.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider

from cli import offline
from components import config as config_module
from components.package import host
from tests.package.test_construct import wire

PROJECT_DIR = host.PROJECT_DIR
EXAMPLES = PROJECT_DIR / "examples"
YAML_PROGRAM = EXAMPLES / "yaml" / "Pulumi.yaml"
TS_DIR = EXAMPLES / "typescript"
TS_PROGRAM = TS_DIR / "index.ts"
REGION = "us-east-1"  # what both READMEs set (`pulumi config set aws:region us-east-1`)
REPOSITORY = "github.com/example-org/trainops.git"  # the examples' placeholder for the repo


class UnsupportedSyntaxError(ValueError):
    """The example uses a construct this reader does not check."""


@cache
def schema() -> dict[str, Any]:
    return json.loads(host.SCHEMA_FILE.read_text(encoding="utf-8"))


def version() -> str:
    with (PROJECT_DIR / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def token(component: str) -> str:
    return f"{schema()['name']}:index:{component}"


def short(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


# ---- what a program is, once read ----------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """Output ``output`` of the resource named ``resource``."""

    resource: str
    output: str


@dataclass(frozen=True)
class Output:
    """A value other resources give: one output as it is, or a string interpolating some."""

    refs: tuple[Ref, ...]
    type: str  # its schema type


@dataclass
class Component:
    name: str  # the resource's Pulumi name
    token: str
    inputs: dict[str, Any]
    where: str  # file:line, or the YAML path


@dataclass
class Program:
    path: Path
    components: dict[str, Component] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)  # TypeScript: alias -> module

    def of_type(self, component: str) -> list[Component]:
        return [c for c in self.components.values() if c.token == token(component)]

    def one(self, component: str) -> Component:
        (found,) = self.of_type(component)
        return found


def output_of(program: Program, resource: str, output: str, where: str) -> Output:
    """The output ``output`` of ``resource``, checked against the schema."""
    component = program.components[resource]
    outputs = schema()["resources"].get(component.token, {}).get("properties", {})
    if output not in outputs:
        raise UnsupportedSyntaxError(
            f"{where}: {resource} ({short(component.token)}) has no output {output!r}; "
            f"its outputs: {', '.join(sorted(outputs))}"
        )
    return Output((Ref(resource, output),), outputs[output].get("type", "any"))


def index(value: Any, key: str | int, where: str) -> Any:
    """``value[key]`` of a resolved literal."""
    if isinstance(value, dict) and key in value:
        return value[key]
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    if isinstance(value, Output):
        raise UnsupportedSyntaxError(f"{where}: reads into an output's value: not checked")
    raise UnsupportedSyntaxError(f"{where}: {key!r} is not in {json.dumps(value, default=str)}")


# ---- Pulumi YAML ---------------------------------------------------------------------------

YAML_TOP_LEVEL = {"name", "description", "runtime", "packages", "variables", "resources", "outputs"}
INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
ACCESSOR = re.compile(r'\.([A-Za-z_]\w*)|\[(\d+)\]|\["([^"]*)"\]')
EXPRESSION = re.compile(r'([A-Za-z_][\w-]*)((?:\.[A-Za-z_]\w*|\[\d+\]|\["[^"]*"\])*)')


class YamlReader:
    """Resolves a Pulumi YAML program's values: variables inlined, outputs as `Output`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        extra = set(document) - YAML_TOP_LEVEL
        if extra:
            raise UnsupportedSyntaxError(f"{path}: top-level {sorted(extra)} not checked")
        self.variables: dict[str, Any] = document.get("variables") or {}
        self.resolved: dict[str, Any] = {}
        self.resolving: list[str] = []
        self.program = Program(path)
        resources: dict[str, Any] = document.get("resources") or {}
        for name, resource in resources.items():
            if set(resource) - {"type", "properties"}:
                raise UnsupportedSyntaxError(
                    f"{path}: resources.{name}: only `type` and `properties` are checked, "
                    f"not {sorted(set(resource) - {'type', 'properties'})}"
                )
            where = f"{path.name}: resources.{name}"
            self.program.components[name] = Component(name, resource["type"], {}, where)
        for name, resource in resources.items():
            where = f"{path.name}: resources.{name}.properties"
            self.program.components[name].inputs = self.value(resource.get("properties"), where)
        self.program.outputs = {
            key: self.value(value, f"{path.name}: outputs.{key}")
            for key, value in (document.get("outputs") or {}).items()
        }

    def value(self, node: Any, where: str) -> Any:
        if isinstance(node, dict):
            functions = [key for key in node if str(key).startswith("fn::")]
            if functions:
                raise UnsupportedSyntaxError(f"{where}: {functions[0]} is not checked")
            return {key: self.value(item, f"{where}.{key}") for key, item in node.items()}
        if isinstance(node, list):
            return [self.value(item, f"{where}[{i}]") for i, item in enumerate(node)]
        if isinstance(node, str):
            return self.string(node, where)
        return node  # None, numbers, booleans, and whatever else YAML made (dates: not JSON)

    def string(self, text: str, where: str) -> Any:
        whole = INTERPOLATION.fullmatch(text)
        if whole:
            return self.expression(whole.group(1), where)
        parts = [self.expression(m.group(1), where) for m in INTERPOLATION.finditer(text)]
        if not parts:
            return text.replace("$${", "${")
        if any(isinstance(part, dict | list) for part in parts):
            raise UnsupportedSyntaxError(f"{where}: an object interpolated into a string")
        refs = tuple(ref for part in parts if isinstance(part, Output) for ref in part.refs)
        if refs:
            return Output(refs, "string")
        values = iter(parts)
        return INTERPOLATION.sub(lambda _: str(next(values)), text).replace("$${", "${")

    def expression(self, text: str, where: str) -> Any:
        match = EXPRESSION.fullmatch(text.strip())
        if not match:
            raise UnsupportedSyntaxError(f"{where}: ${{{text}}} is not name[.property|[key]]*")
        root = match.group(1)
        path = [
            name or (int(number) if number else key)
            for name, number, key in ACCESSOR.findall(match.group(2))
        ]
        if root in self.program.components:
            if len(path) != 1 or not isinstance(path[0], str):
                raise UnsupportedSyntaxError(f"{where}: ${{{text}}}: use ${{{root}.<output>}}")
            return output_of(self.program, root, path[0], where)
        if root not in self.variables:
            raise UnsupportedSyntaxError(
                f"{where}: ${{{text}}} names no resource or variable of the program "
                "(config and pulumi.* are not checked)"
            )
        value = self.variable(root)
        for key in path:
            value = index(value, key, where)
        return value

    def variable(self, name: str) -> Any:
        if name not in self.resolved:
            if name in self.resolving:
                cycle = " -> ".join([*self.resolving, name])
                raise UnsupportedSyntaxError(f"{self.path.name}: variables: {cycle}")
            self.resolving.append(name)
            where = f"{self.path.name}: variables.{name}"
            self.resolved[name] = self.value(self.variables[name], where)
            self.resolving.pop()
        return self.resolved[name]


def read_yaml(path: Path) -> Program:
    return YamlReader(path).program


# ---- TypeScript (the JSON-like subset) -----------------------------------------------------

TS_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<template>`[^`$\\]*`)
    |(?P<number>\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_$][\w$]*)
    |(?P<punct>\.\.\.|[{}\[\]();,:.=*-])
    |(?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int


def ts_tokens(text: str, path: Path) -> list[Token]:
    tokens: list[Token] = []
    position, line = 0, 1
    while position < len(text):
        match = TS_TOKEN.match(text, position)
        assert match is not None  # `other` matches any character
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group(), line))
        line += match.group().count("\n")
        position = match.end()
    return tokens


LITERAL_WORDS = ("-", "true", "false")


class TsReader:
    """Evaluates the subset of TypeScript described in this module's docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tokens = ts_tokens(path.read_text(encoding="utf-8"), path)
        self.position = 0
        self.constants: dict[str, Any] = {}
        self.program = Program(path)
        while self.position < len(self.tokens):
            self.statement()

    # tokens

    def peek(self, offset: int = 0) -> Token | None:
        at = self.position + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def fail(self, what: str) -> UnsupportedSyntaxError:
        current = self.peek() or self.tokens[-1]
        return UnsupportedSyntaxError(
            f"{self.path.name}:{current.line}: {what} (at {current.text!r}); the example keeps "
            "to the subset tests/package/test_examples.py reads"
        )

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        current = self.peek()
        if current is None or (text and current.text != text) or (kind and current.kind != kind):
            raise self.fail(f"expected {text or kind}")
        self.position += 1
        return current

    def at(self, text: str) -> bool:
        current = self.peek()
        return current is not None and current.text == text and current.kind != "string"

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.position += 1
            return True
        return False

    # statements

    def statement(self) -> None:
        if self.accept("import"):
            self.take("*")
            self.take("as")
            alias = self.take(kind="name").text
            self.take("from")
            self.program.imports[alias] = ast.literal_eval(self.take(kind="string").text)
        else:
            exported = self.accept("export")
            if not self.accept("const"):
                raise self.fail("only `import * as` and `[export] const` statements are read")
            name = self.take(kind="name").text
            if name in self.constants:
                raise self.fail(f"{name} declared twice")
            self.take("=")
            self.constants[name] = self.expression()
            if exported:
                self.program.outputs[name] = self.constants[name]
        self.accept(";")

    # expressions

    def expression(self) -> Any:
        current = self.peek()
        if current is None:
            raise self.fail("expected an expression")
        if current.kind in ("string", "template", "number") or current.text in LITERAL_WORDS:
            return self.literal()
        if self.accept("{"):
            return self.object()
        if self.accept("["):
            return self.array()
        if self.accept("new"):
            return self.new()
        if current.kind == "name":
            return self.reference()
        raise self.fail("not an expression of the subset")

    def literal(self) -> str | int | float | bool:
        current = self.take()
        if current.kind == "string":
            return ast.literal_eval(current.text)
        if current.kind == "template":  # no substitutions, no escapes (the tokenizer's rule)
            return current.text[1:-1]
        if current.text in ("true", "false"):
            return current.text == "true"
        sign, text = (
            (-1, self.take(kind="number").text) if current.text == "-" else (1, current.text)
        )
        return sign * (float(text) if "." in text else int(text))

    def object(self) -> dict[str, Any]:
        value: dict[str, Any] = {}
        while not self.accept("}"):
            if self.accept("..."):
                spread = self.expression()
                if not isinstance(spread, dict):
                    raise self.fail("spread of something that is not an object")
                value.update(spread)
            else:
                key = self.take()
                if key.kind == "string":
                    name = ast.literal_eval(key.text)
                elif key.kind == "name":
                    name = key.text
                else:
                    raise self.fail("object key that is not a name or a string")
                if self.accept(":"):
                    value[name] = self.expression()
                elif key.kind == "name":  # shorthand property
                    self.position -= 1
                    value[name] = self.reference()
                else:
                    raise self.fail("expected `:`")
            if not self.accept(","):
                self.take("}")
                break
        return value

    def array(self) -> list[Any]:
        value: list[Any] = []
        while not self.accept("]"):
            value.append(self.expression())
            if not self.accept(","):
                self.take("]")
                break
        return value

    def reference(self) -> Any:
        start = self.take(kind="name")
        if start.text not in self.constants:
            raise UnsupportedSyntaxError(
                f"{self.path.name}:{start.line}: {start.text} is not a constant declared above"
            )
        value = self.constants[start.text]
        where = f"{self.path.name}:{start.line}"
        while True:
            if self.accept("."):
                key: str | int = self.take(kind="name").text
            elif self.accept("["):
                literal = self.take()
                if literal.kind not in ("string", "number"):
                    raise self.fail("computed index")
                key = ast.literal_eval(literal.text)
                self.take("]")
            else:
                break
            if isinstance(value, Component):
                if not isinstance(key, str):
                    raise self.fail("index into a resource")
                value = output_of(self.program, value.name, key, where)
            else:
                value = index(value, key, where)
        if self.at("("):
            raise self.fail("call expression")
        return value

    def new(self) -> Component:
        start = self.take(kind="name")
        alias = start.text
        if alias not in self.program.imports:
            raise self.fail(f"{alias} is not an imported SDK")
        self.take(".")
        component = self.take(kind="name").text
        self.take("(")
        name = ast.literal_eval(self.take(kind="string").text)
        self.take(",")
        if not self.accept("{"):
            raise self.fail("the args of `new` must be an object literal")
        inputs = self.object()
        if not self.accept(")"):
            raise self.fail("resource options are not checked")
        if name in self.program.components:
            raise self.fail(f"two resources named {name}")
        created = Component(name, token(component), inputs, f"{self.path.name}:{start.line}")
        self.program.components[name] = created
        return created


def read_ts(path: Path) -> Program:
    return TsReader(path).program


EXAMPLES_READ = {"yaml": lambda: read_yaml(YAML_PROGRAM), "typescript": lambda: read_ts(TS_PROGRAM)}


@cache
def example(kind: str) -> Program:
    return EXAMPLES_READ[kind]()


# ---- the schema check ----------------------------------------------------------------------

SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def resolved(spec: dict[str, Any]) -> dict[str, Any]:
    """The type a property spec describes (`$ref`s followed; `Any` is `{}`)."""
    ref = spec.get("$ref")
    if ref is None:
        return spec
    if ref == "pulumi.json#/Any":
        return {}
    return schema()["types"][ref.removeprefix("#/types/")]


def json_value(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_value(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_value(item) for item in value)
    return isinstance(value, str | int | float | bool | Output)


def problems(value: Any, spec: dict[str, Any], path: str) -> list[str]:
    """Where ``value`` does not fit the schema property ``spec``."""
    target = resolved(spec)
    if isinstance(value, Output):
        return output_problems(value, spec, target, path)
    if not target:  # pulumi.json#/Any
        return [] if json_value(value) else [f"{path}: not a JSON value: {value!r}"]
    if "enum" in target:
        allowed = [member["value"] for member in target["enum"]]
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
    check = {"object": object_problems, "array": array_problems}.get(target.get("type", ""))
    return (check or scalar_problems)(value, target, path)


def output_problems(
    value: Output, spec: dict[str, Any], target: dict[str, Any], path: str
) -> list[str]:
    fed_by = ", ".join(f"{ref.resource}.{ref.output}" for ref in value.refs)
    if spec.get("plain"):
        return [
            f"{path}: fed by {fed_by}, but the schema marks it plain: it must be known "
            "when the component is constructed (a literal, variable or constant)"
        ]
    expected = target.get("type")
    if expected and value.type != expected:
        return [f"{path}: {fed_by} is a {value.type}, the input a {expected}"]
    return []


def object_problems(value: Any, target: dict[str, Any], path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {value!r}"]
    if "properties" not in target:  # a map
        item = target.get("additionalProperties", {})
        return [p for key, v in value.items() for p in problems(v, item, f"{path}.{key}")]
    required = target.get("required", [])
    found = [f"{path}.{key}: required, missing" for key in required if key not in value]
    for key, item in value.items():
        if key not in target["properties"]:
            found.append(f"{path}.{key}: no such property; {sorted(target['properties'])}")
        else:
            found += problems(item, target["properties"][key], f"{path}.{key}")
    return found


def array_problems(value: Any, target: dict[str, Any], path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: expected a list, got {value!r}"]
    item = target.get("items", {})
    return [p for i, v in enumerate(value) for p in problems(v, item, f"{path}[{i}]")]


def scalar_problems(value: Any, target: dict[str, Any], path: str) -> list[str]:
    kind = str(target.get("type"))
    accepted = SCALARS.get(kind)
    if accepted is None:
        return [f"{path}: schema type {kind!r} is not checked"]
    if (isinstance(value, bool) and bool not in accepted) or not isinstance(value, accepted):
        return [f"{path}: expected {kind}, got {type(value).__name__} {value!r}"]
    return []


def component_problems(component: Component) -> list[str]:
    resource = schema()["resources"].get(component.token)
    if resource is None:
        return [f"{component.where}: {component.token} is not a component of package/schema.json"]
    spec = {
        "type": "object",
        "properties": resource["inputProperties"],
        "required": resource.get("requiredInputs", []),
    }
    return problems(component.inputs, spec, f"{component.where} {short(component.token)}")


# ---- the examples ----------------------------------------------------------------------------

KINDS = sorted(EXAMPLES_READ)


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_uses_every_component_of_the_package(kind: str) -> None:
    used = {component.token for component in example(kind).components.values()}
    assert used == set(schema()["resources"])
    assert len(example(kind).of_type("TrainingPipeline")) == 2  # one per model


@pytest.mark.parametrize("kind", KINDS)
def test_every_input_of_the_example_fits_the_schema(kind: str) -> None:
    program = example(kind)
    found = [p for c in program.components.values() for p in component_problems(c)]
    assert found == []
    assert program.outputs, "the example exports the stack's outputs"
    assert all(isinstance(value, Output) for value in program.outputs.values())


def test_the_examples_use_example_values_only() -> None:
    """AWS's documented example account, example.com addresses, the example-ml-data buckets."""
    for path in sorted(p for p in EXAMPLES.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        assert set(re.findall(r"(?<!\d)\d{12}(?!\d)", text)) <= {offline.ACCOUNT_ID}, path
        addresses = re.findall(r"[\w.+-]+@(?:[A-Za-z][\w-]*\.)+[A-Za-z]{2,}", text)
        assert all(address.endswith("@example.com") for address in addresses), path
        assert set(re.findall(r"s3://([a-z0-9.-]+)", text)) <= {"example-ml-data"}, path


# ---- the examples as a stack file --------------------------------------------------------------

FEATURE_KEY = re.compile(r"`trainops:([\w.]+)`")


@cache
def feature_keys() -> dict[str, str]:
    """Each feature component's stack-config key, as its `config` input's description names
    it (`trainops:trainingQueue`; a dotted path for one inside another's:
    `trainops:spendGuardrails.budgets`)."""
    keys: dict[str, str] = {}
    for type_token, resource in schema()["resources"].items():
        config = resource["inputProperties"].get("config")
        if config is not None:
            match = FEATURE_KEY.search(config.get("description", ""))
            assert match, f"{type_token}.config: its description names no trainops: key"
            keys[type_token] = match.group(1)
    return keys


def features(program: Program) -> list[Component]:
    """The components that belong to a stack (`stack` input)."""
    return [c for c in program.components.values() if "stack" in c.inputs]


def platform_refs(program: Program) -> list[dict[str, Any]]:
    return [p.inputs["platform"] for p in program.of_type("TrainingPipeline")] + [
        f.inputs["stack"]["platform"] for f in features(program)
    ]


def stack_file(program: Program) -> dict[str, Any]:
    """The example as a stack file's `config:` would hold it (camelCase, as the facades write it
    for `components.config.parse`): the Platform's settings, the pipelines' models, each
    feature's config switched on, and the settings every component shares (the consistency
    test below checks they are shared)."""
    platform = program.one("Platform").inputs
    pipelines = program.of_type("TrainingPipeline")
    config: dict[str, Any] = {
        "aws:region": REGION,
        "trainops:environment": platform["environment"],
        "trainops:models": {p.inputs["modelName"]: p.inputs["model"] for p in pipelines},
    }
    for key in ("artifacts", "accessLogs"):
        if key in platform:
            config[f"trainops:{key}"] = platform[key]
    ref = platform_refs(program)[0]
    for key in ("logRetentionDays", "powertoolsLayerVersion"):
        if key in ref:
            config[f"trainops:{key}"] = ref[key]
    if "spendGuardrails" in pipelines[0].inputs:
        config["trainops:spendGuardrails"] = pipelines[0].inputs["spendGuardrails"]
    for feature in features(program):
        settings = {**feature.inputs.get("config", {}), "enabled": True}
        config.update(setting(config, feature_keys()[feature.token], settings))
    return config


def setting(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """The stack-config entry that sets ``path`` (`spendGuardrails.budgets`) to ``value`` in
    ``config``, keeping what else that entry holds (without changing ``config``)."""
    top, *inner = path.split(".")
    entry: Any = value
    for depth in range(len(inner), 0, -1):
        parent = lookup(config, ".".join([top, *inner[: depth - 1]])) or {}
        entry = {**parent, inner[depth - 1]: entry}
    return {f"trainops:{top}": entry}


def lookup(config: dict[str, Any], path: str) -> Any:
    """What ``config`` holds at ``path`` (`trainingQueue`, `spendGuardrails.budgets`)."""
    top, *inner = path.split(".")
    value = config.get(f"trainops:{top}")
    for key in inner:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def parsed(config: dict[str, Any]) -> config_module.StackConfig:
    """`components.config.parse` of ``config``, passed as the Pulumi CLI passes a stack file."""
    outputs = [key for key, value in config.items() if not json_value(value)]
    assert outputs == []

    def cli(value: Any) -> str:
        if isinstance(value, dict | list):
            return json.dumps(value)
        return json.dumps(value) if isinstance(value, bool) else str(value)

    return config_module.parse({k: cli(v) for k, v in config.items()}, composed=True)


@pytest.mark.parametrize("kind", KINDS)
def test_the_examples_models_and_settings_validate_with_the_stack_rules(kind: str) -> None:
    """An example can never show a model or a setting `pulumi preview` would refuse."""
    config = stack_file(example(kind))
    settings = parsed(config)
    assert sorted(settings.models) == sorted(config["trainops:models"])
    for key in feature_keys().values():
        assert lookup(config, key)["enabled"], key


def test_an_invalid_example_model_fails_the_stack_rules() -> None:
    config = stack_file(example("yaml"))
    churn = config["trainops:models"]["churn"]
    config["trainops:models"] = {"churn": {**churn, "instanceType": "m5.xlarge"}}
    with pytest.raises(config_module.ConfigError, match=r"trainops:models\.churn\.instanceType"):
        parsed(config)


@pytest.mark.parametrize("kind", KINDS)
def test_the_examples_components_describe_one_stack(kind: str) -> None:
    """What __main__.py decides once for a stack, the example repeats per component: the same
    platform, models, guardrails and alert ladder everywhere, and the features' links in the
    program's order (monitoring first, then the event store, then the rest)."""
    program = example(kind)
    platform = program.one("Platform").inputs
    pipelines = {p.inputs["modelName"]: p for p in program.of_type("TrainingPipeline")}
    models = {name: p.inputs["model"] for name, p in pipelines.items()}
    refs = platform_refs(program)
    assert all(ref == refs[0] for ref in refs)
    assert refs[0]["environment"] == platform["environment"]
    guardrails = [p.inputs.get("spendGuardrails") for p in pipelines.values()]
    guardrails += [f.inputs["stack"].get("spendGuardrails") for f in features(program)]
    assert all(item == guardrails[0] for item in guardrails)

    monitor = program.one("TrainingMonitor")
    has_queue = bool(program.of_type("TrainingQueue"))
    has_store = bool(program.of_type("TrainingEventStore"))
    settings = parsed(stack_file(program)).monitoring
    # what the features' alarms assume of the ladder (defaults: refs.platform_context)
    ladder = {
        "escalate": settings.escalate,
        "escalateAfterMinutes": settings.escalate_after_minutes,
        "lambdaThrottleAlarms": settings.lambda_throttle_alarms,
    }
    defaults = {"escalate": True, "escalateAfterMinutes": 30, "lambdaThrottleAlarms": True}
    for feature in features(program):
        stack = feature.inputs["stack"]
        assert stack["models"] == models, feature.name
        assert stack.get("trainingSlots", False) == has_queue, feature.name
        first = feature is monitor
        assert ("alerts" in stack) == (not first), feature.name
        assert ("eventBus" in stack) == (
            has_store
            # monitoring, and the budgets made before the bus (they publish no events)
            and feature.token
            not in (token("TrainingMonitor"), token("TrainingEventStore"), token("SpendBudgets"))
        ), feature.name
        if "alerts" in stack:
            assert {k: stack["alerts"].get(k, v) for k, v in defaults.items()} == ladder
    for component in [monitor, *program.of_type("ApprovalDeployment")]:
        roles = component.inputs["executionRoles"]
        assert sorted(roles) == sorted(models), component.name
        for model, role in roles.items():
            assert {ref.resource for value in role.values() for ref in value.refs} == {
                pipelines[model].name
            }
    # AWS Budgets may publish to the encrypted topics exactly when the stack has budgets
    assert platform.get("budgetNotifications", False) == bool(program.of_type("SpendBudgets"))
    for queue in program.of_type("TrainingQueue"):
        assert queue.inputs.get("keepSlots", False) == (not program.of_type("TrainingMonitor"))


# ---- wiring ----------------------------------------------------------------------------------

SOURCE = re.compile(r"\b([A-Z]\w+)\.([a-z]\w+)\b")


@cache
def expected_sources() -> dict[tuple[str, str], tuple[str, str]]:
    """(schema type, property) -> (component, output) for every input that takes another
    component's output, as the schema's description names it (components/package/refs.py:
    "The stack's KMS key (Platform.keyArn).")."""
    sources: dict[tuple[str, str], tuple[str, str]] = {}
    for type_token, spec in schema()["types"].items():
        for prop, prop_spec in spec.get("properties", {}).items():
            if prop_spec.get("plain"):
                continue
            match = SOURCE.search(prop_spec.get("description", ""))
            assert match, f"{type_token}.{prop}: its description names no Component.output"
            component, output = match.groups()
            assert output in schema()["resources"][token(component)]["properties"]
            sources[type_token, prop] = (component, output)
    return sources


def typed_values(value: Any, spec: dict[str, Any], path: str) -> Iterator[tuple[str, str, Any]]:
    """(schema type, property, value) for every property of a schema type ``value`` sets."""
    target = resolved(spec)
    type_token = spec.get("$ref", "").removeprefix("#/types/")
    if isinstance(value, dict) and "properties" in target:
        for key, item in value.items():
            if key in target["properties"]:
                yield type_token, key, item
                yield from typed_values(item, target["properties"][key], f"{path}.{key}")
    elif isinstance(value, dict) and "additionalProperties" in target:
        for key, item in value.items():
            yield from typed_values(item, target["additionalProperties"], f"{path}.{key}")
    elif isinstance(value, list) and "items" in target:
        for i, item in enumerate(value):
            yield from typed_values(item, target["items"], f"{path}[{i}]")


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_wires_each_components_outputs_into_the_inputs_that_name_them(
    kind: str,
) -> None:
    """E.g. TrainingQueue.stack.platform.keyArn comes from the Platform resource's keyArn, and
    stack.alerts.warningTopicArn from the TrainingMonitor's warningTopicArn."""
    program = example(kind)
    wired: set[tuple[str, str]] = set()
    for component in program.components.values():
        inputs = schema()["resources"][component.token]["inputProperties"]
        spec = {"type": "object", "properties": inputs}
        for type_token, prop, value in typed_values(component.inputs, spec, component.name):
            source = expected_sources().get((type_token, prop))
            if source is None:
                continue
            where = f"{component.name}: {short(type_token)}.{prop}"
            assert isinstance(value, Output), f"{where}: a literal, not {source}"
            (ref,) = value.refs
            given = (short(program.components[ref.resource].token), ref.output)
            assert given == source, f"{where} comes from {given}, not {source}"
            wired.add((type_token, prop))
    assert wired == set(expected_sources())  # every link of the package is shown
    if program.one("Platform").inputs.get("accessLogs", {}).get("destination") != "cloudtrail":
        assert all("accessLogsBucket" in ref for ref in platform_refs(program))


def test_both_examples_build_the_same_stack() -> None:
    yaml_program, ts_program = example("yaml"), example("typescript")
    assert {n: (c.token, c.inputs) for n, c in yaml_program.components.items()} == {
        n: (c.token, c.inputs) for n, c in ts_program.components.items()
    }
    assert yaml_program.outputs == ts_program.outputs


# ---- the YAML example through the package's provider -----------------------------------------

# What the outputs the example references hold once deployed (example account 123456789012).
OUTPUT_VALUES = {
    "keyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "artifactsBucketName": "trainops-dev-artifacts-123456789012",
    "artifactsBucketArn": "arn:aws:s3:::trainops-dev-artifacts-123456789012",
    "accessLogsBucket": "trainops-dev-access-logs-123456789012",
    "warningTopicArn": "arn:aws:sns:us-east-1:123456789012:trainops-dev-warning",
    "criticalTopicArn": "arn:aws:sns:us-east-1:123456789012:trainops-dev-critical",
    "eventBusName": "trainops-dev-training",
    "eventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/trainops-dev-training",
    "executionRoleArn": "arn:aws:iam::123456789012:role/trainops-dev--churn-execution",
    "executionRoleName": "trainops-dev--churn-execution",
    "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/trainops-dev-requests.fifo",
    "queueArn": "arn:aws:sqs:us-east-1:123456789012:trainops-dev-requests.fifo",
}


def deployed(value: Any) -> Any:
    """``value`` with each output replaced by what it holds once deployed."""
    if isinstance(value, Output):
        (ref,) = value.refs
        assert ref.output in OUTPUT_VALUES, f"OUTPUT_VALUES: add {ref.output}"
        return OUTPUT_VALUES[ref.output]
    if isinstance(value, dict):
        return {key: deployed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [deployed(item) for item in value]
    return value


def yaml_resource_names() -> list[str]:
    """The YAML example's resources, read without resolving anything (for collection)."""
    return sorted(yaml.safe_load(YAML_PROGRAM.read_text(encoding="utf-8"))["resources"])


@pytest.mark.parametrize("name", yaml_resource_names())
def test_each_component_of_the_yaml_example_constructs_through_the_package(name: str) -> None:
    """What `pulumi up` of the example would ask the package, under the program's mocks: the
    facade validates the inputs with the stack file's rules and builds its component."""
    component = example("yaml").components[name]
    provider = ComponentProvider(list(host.COMPONENTS), schema()["name"], version=version())

    def run() -> None:
        provider.construct(name, component.token, wire(deployed(component.inputs)), None)

    recording = offline.run_under_mocks("example", {"aws:region": REGION}, run)
    assert [r for r in recording.resources if r.custom], f"{name} created no AWS resource"


# ---- releases --------------------------------------------------------------------------------

PACKAGE_REFERENCE = f"{REPOSITORY}/package@v{{version}}"


def test_the_examples_pin_the_projects_release() -> None:
    """`pulumi package add <repo>.git/package@v<version>`: the tag `git tag v<version>` makes."""
    reference = PACKAGE_REFERENCE.format(version=version())
    for path in (YAML_PROGRAM, TS_DIR / "Pulumi.yaml"):
        project = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert project["packages"] == {schema()["name"]: reference}, path
        readme = (path.parent / "README.md").read_text(encoding="utf-8")
        assert f"pulumi package add {reference}" in readme, path.parent / "README.md"


def test_the_typescript_example_imports_the_sdk_package_add_links() -> None:
    """From a GitHub repository `pulumi package add` gives the schema the repository owner as its
    namespace (pulumi/pulumi, `setSpecNamespace`), so the SDK is `@<owner>/trainops` in
    `sdks/<owner>-trainops`, linked as `file:` (`npm pkg set dependencies.<name>=file:<path>`)."""
    owner = REPOSITORY.split("/")[1]
    sdk = f"@{owner}/{schema()['name']}"
    manifest = json.loads((TS_DIR / "package.json").read_text(encoding="utf-8"))
    assert manifest["dependencies"][sdk] == f"file:sdks/{owner}-{schema()['name']}"
    assert set(example("typescript").imports.values()) == {sdk}


def test_the_changelog_has_an_entry_for_the_projects_version() -> None:
    text = (PROJECT_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## \[Unreleased\]$", text, re.MULTILINE)
    heading = rf"^## \[{re.escape(version())}\] - \d{{4}}-\d{{2}}-\d{{2}}$"
    assert re.search(heading, text, re.MULTILINE), f"CHANGELOG.md: no `## [{version()}] - date`"


def test_the_committed_schema_has_the_projects_version() -> None:
    assert schema()["version"] == version()


# ---- the readers and the check themselves --------------------------------------------------

YAML_HEAD = """\
name: bad
runtime: yaml
resources:
  foundation:
    type: trainops:index:Platform
    properties:
      environment: dev
"""


@pytest.mark.parametrize(
    ("resource", "problem"),
    [
        (
            "type: trainops:index:Platform\n    properties: {environmnt: dev}",
            "Platform.environmnt: no such property",
        ),
        (
            "type: trainops:index:Platform\n    properties: {}",
            "Platform.environment: required, missing",
        ),
        (
            "type: trainops:index:Platform\n    properties:\n      environment: dev\n"
            '      artifacts: {noncurrentVersionDays: "30"}',
            "noncurrentVersionDays: expected integer, got str",
        ),
        (
            "type: trainops:index:Platform\n    properties:\n      environment: dev\n"
            "      accessLogs: {destination: s3}",
            "accessLogs.destination: 's3' is not one of ['server', 'cloudtrail']",
        ),
        (
            "type: trainops:index:TrainingPipeline\n    properties:\n"
            "      modelName: ${foundation.keyArn}\n"
            "      model: {image: x, trainingData: y}\n"
            "      platform:\n        environment: dev\n        keyArn: ${foundation.keyArn}\n"
            "        artifactsBucketName: ${foundation.artifactsBucketName}\n"
            "        artifactsBucketArn: ${foundation.artifactsBucketArn}",
            "modelName: fed by foundation.keyArn, but the schema marks it plain",
        ),
        (
            "type: trainops:index:Bucket\n    properties: {}",
            "trainops:index:Bucket is not a component of package/schema.json",
        ),
    ],
)
def test_the_check_finds_what_does_not_fit_the_schema(
    tmp_path: Path, resource: str, problem: str
) -> None:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(f"{YAML_HEAD}  other:\n    {resource}\n", encoding="utf-8")
    program = read_yaml(path)
    found = [p for c in program.components.values() for p in component_problems(c)]
    assert any(problem in p for p in found), found


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("outputs:\n  x: ${foundation.bucket}", "foundation (Platform) has no output 'bucket'"),
        ("outputs:\n  x: ${pulumi.stack}", "names no resource or variable"),
        ("outputs:\n  x:\n    fn::invoke: {function: aws:index:getRegion}", "fn::invoke"),
        ("config:\n  x: 1", "top-level ['config'] not checked"),
    ],
)
def test_the_yaml_reader_refuses_what_it_does_not_check(
    tmp_path: Path, source: str, error: str
) -> None:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(f"{YAML_HEAD}{source}\n", encoding="utf-8")
    with pytest.raises(UnsupportedSyntaxError, match=re.escape(error)):
        read_yaml(path)


TS_HEAD = 'import * as trainops from "@example-org/trainops";\n'


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("let x = 1;", "index.ts:2: only `import * as` and `[export] const` statements"),
        ("const x = `a${b}`;", "index.ts:2: not an expression of the subset (at '`')"),
        ("const models: Record<string, X> = {};", "index.ts:2: expected ="),
        ("const x = JSON.stringify({});", "JSON is not a constant declared above"),
        (
            'const p = new trainops.Platform("p", {environment: "dev"});\n'
            "const x = p.keyArn.apply(v => v);",
            "index.ts:3: reads into an output's value",
        ),
        ("const a = {f: 1};\nconst b = a.f(2);", "index.ts:3: call expression"),
        (
            'const p = new trainops.Platform("p", {environment: "dev"}, {protect: true});',
            "resource options are not checked",
        ),
        (
            'const p = new trainops.Platform("p", {environment: "dev"});\nconst x = p.keyId;',
            "p (Platform) has no output 'keyId'",
        ),
    ],
)
def test_the_typescript_reader_refuses_what_it_does_not_check(
    tmp_path: Path, source: str, error: str
) -> None:
    path = tmp_path / "index.ts"
    path.write_text(TS_HEAD + source + "\n", encoding="utf-8")
    with pytest.raises(UnsupportedSyntaxError, match=re.escape(error)):
        read_ts(path)


def test_the_typescript_reader_evaluates_the_subset(tmp_path: Path) -> None:
    path = tmp_path / "index.ts"
    path.write_text(
        TS_HEAD
        + """
// a comment
const environment = 'dev';
const base = { environment, "logRetentionDays": 14, list: [1, -2.5, true,], };
const foundation = new trainops.Platform("foundation", { environment: base.environment });
const ref = { ...base, keyArn: foundation.keyArn, first: base["list"][0] };
export const key = ref.keyArn;
""",
        encoding="utf-8",
    )
    program = read_ts(path)
    key = Output((Ref("foundation", "keyArn"),), "string")
    assert program.components["foundation"].inputs == {"environment": "dev"}
    assert program.outputs == {"key": key}
    assert program.imports == {"trainops": "@example-org/trainops"}
    reader_constants = TsReader(path).constants
    assert reader_constants["ref"] == {
        "environment": "dev",
        "logRetentionDays": 14,
        "list": [1, -2.5, True],
        "keyArn": key,
        "first": 1,
    }
