"""The `trainops` command: offline operator tools over the Pulumi program and the runtime code.

    trainops plan --stack dev [--set trainops:key.path=value ...] [--format table|json|mermaid]
    trainops plan --stack dev --diff prod
    trainops submit --stack dev --model churn [--data s3://...] [--param k=v] [--dry-run]
    trainops history --stack dev --model churn [--json]
    trainops replay --stack dev [--force]
    trainops config-reference [--update docs/configuration.md | --update README.md]
    trainops schema

`plan` evaluates the program under Pulumi's mocks with the stack's config and prints every
resource that would be created, grouped by component, with a count per feature. It needs no AWS
credentials and no Pulumi CLI.

`config-reference` prints the stack-config table; `--update` rewrites the generated sections of
a file: the config table in docs/configuration.md, the architecture diagram in README.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pulumi

from cli import events as events_module
from cli import offline, plan, plan_comment, spend
from cli import policy_config as policy_config_module
from cli import submit as submit_module
from cli.reference import (
    CONFIG_REFERENCE_FILE,
    DIAGRAM_FILE,
    config_reference,
    update_generated_sections,
)
from components import config as config_module
from components.config import ConfigError


def _print_table(recording: offline.Recording, settings: config_module.StackConfig) -> None:
    grouped = plan.groups(recording)
    total = sum(len(resources) for resources in grouped.values())
    print(f"Stack {recording.stack}: {total} resources (offline, under mocks)\n")
    for label in sorted(grouped):
        resources = grouped[label]
        print(f"{label}  ({len(resources)})")
        for resource in sorted(resources, key=lambda r: (r.type, r.name)):
            shown_settings = plan.key_settings(resource)
            shown = (
                "  " + ", ".join(f"{k}={v}" for k, v in shown_settings.items())
                if shown_settings
                else ""
            )
            print(f"    {resource.type:<70} {resource.name}{shown}")
        print()
    print("Resources per feature:")
    for feature, count in sorted(plan.feature_counts(recording).items()):
        print(f"    {feature:<24} {count}")
    cost = plan.idle_cost(recording)
    prices = cost["prices"]
    print(
        f"\nIdle monthly cost (list prices {prices['region']}, {prices['as_of']}; "
        f"{prices['source']}):"
    )
    for line in cost["lines"]:
        print(
            f"    {line['item']:<44} {line['count']:>4} x ${line['unit']:<7.2f}"
            f" = ${line['monthly']:>8.2f}"
        )
    print(f"    {'total':<44} {'':>4}   {'':<8}  ${cost['total']:>8.2f}")
    for item in cost["unpriced"]:
        print(f"    (not priced: {item})")
    for line in spend.text(spend.run_costs(settings), spend.budgets(recording)):
        print(line)


def _plan_json(recording: offline.Recording, settings: config_module.StackConfig) -> str:
    grouped = plan.groups(recording)
    return json.dumps(
        {
            "stack": recording.stack,
            "total": sum(len(resources) for resources in grouped.values()),
            "features": dict(sorted(plan.feature_counts(recording).items())),
            "idleMonthlyCost": plan.idle_cost(recording),
            "maxCostPerRun": spend.run_costs(settings),
            "budgets": spend.budgets(recording),
            # the architecture diagram (--format mermaid), so one JSON holds what a pull
            # request's comment compares
            "diagram": plan.mermaid(recording),
            "components": {
                label: [
                    {"type": r.type, "name": r.name, "settings": plan.key_settings(r)}
                    # by name: the program registers in no fixed order, and a plan compared
                    # across commits (a PR against main) must differ only where the stack does
                    for r in sorted(resources, key=lambda r: (r.name, r.type))
                ]
                for label, resources in sorted(grouped.items())
            },
        },
        indent=2,
        default=str,
    )


def cmd_plan(args: argparse.Namespace) -> int:
    overrides = dict(offline.parse_override(item) for item in args.set or [])
    recording = offline.run_program(args.stack, overrides)
    settings = config_module.parse(offline.stack_config(args.stack, overrides))
    if args.diff:
        other = offline.run_program(args.diff, overrides)
        difference = plan.diff(recording, other)
        if args.format == "json":
            print(json.dumps(difference, indent=2, default=str))
        else:
            print(plan.diff_table(difference, recording.stack, other.stack))
    elif args.format == "json":
        print(_plan_json(recording, settings))
    elif args.format == "mermaid":
        print(plan.mermaid(recording))
    else:
        _print_table(recording, settings)
    return 0


def cmd_plan_comment(args: argparse.Namespace) -> int:
    """The pull-request comment comparing two directories of `<stack>.json` plans."""
    comment = plan_comment.render(
        plan_comment.load_plans(args.base), plan_comment.load_plans(args.head)
    )
    print(comment, end="")
    return 0


def cmd_config_reference(args: argparse.Namespace) -> int:
    if args.update:
        changed = update_generated_sections(args.update)
        print(f"{args.update}: {'updated' if changed else 'already up to date'}")
    else:
        print(config_reference())
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    request, settings = submit_module.build_request(
        args.stack,
        args.model,
        data_uri=args.data,
        params=args.param or [],
        reason=args.reason,
        requested_by=args.requested_by,
        instance_count=args.instance_count,
        max_runtime_minutes=args.max_runtime_minutes,
    )
    print(submit_module.projection_line(request, settings), file=sys.stderr)
    if args.dry_run:
        print(request.to_message())
        return 0
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)
    print(json.dumps(submit_module.submit(request, args.stack, settings.region), indent=2))
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    """The component package's generated files: its input types, then the schema the analyzer
    infers from them (so the schema is rendered after the types are written)."""
    from components.package import host, settings_codegen  # noqa: PLC0415 - only when asked

    generated: list[tuple[Path, Callable[[], str], Callable[[Path], bool]]] = [
        (
            offline.PROJECT_DIR / module,
            functools.partial(settings_codegen.render, module),
            functools.partial(settings_codegen.update, module=module),
        )
        for module in settings_codegen.MODULES
    ]
    generated.append((host.SCHEMA_FILE, host.schema_text, host.update))
    stale = []
    for path, render, update in generated:
        shown = path.relative_to(offline.PROJECT_DIR)
        if args.update:
            print(f"{shown}: {'updated' if update(path) else 'already up to date'}")
        elif not path.is_file() or path.read_text(encoding="utf-8") != render():
            stale.append(str(shown))
    if stale:
        print(f"out of date: {', '.join(stale)}; run `trainops package --update`")
        return 1
    return 0


def cmd_policy_config(args: argparse.Namespace) -> int:
    print(json.dumps(policy_config_module.policy_config(args.stack), indent=2))
    return 0


def _use_stack_region(stack: str) -> None:
    settings = config_module.parse(offline.stack_config(stack))
    os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)


def cmd_history(args: argparse.Namespace) -> int:
    _use_stack_region(args.stack)
    print(events_module.history(args.stack, args.model, as_json=args.json))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    _use_stack_region(args.stack)
    print(json.dumps(events_module.replay(args.stack, force=args.force), indent=2))
    return 0


def cmd_schema(_: argparse.Namespace) -> int:
    print(submit_module.SCHEMA_PATH.read_text(encoding="utf-8"), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trainops", description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    plan_parser = commands.add_parser(
        "plan", help="list the resources a stack would create (offline)"
    )
    plan_parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    plan_parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set trainops:monitoring.enabled=false",
    )
    plan_parser.add_argument("--format", choices=("table", "json", "mermaid"), default="table")
    plan_parser.add_argument(
        "--diff", metavar="OTHER_STACK", help="what differs from another stack"
    )
    plan_parser.set_defaults(func=cmd_plan)

    comment = commands.add_parser(
        "plan-comment",
        help="Markdown comparing the offline plans of a pull request's base and head",
    )
    comment.add_argument(
        "--base",
        required=True,
        type=Path,
        metavar="DIR",
        help="the base's plans: DIR/<stack>.json from `trainops plan --stack S --format json`",
    )
    comment.add_argument(
        "--head", required=True, type=Path, metavar="DIR", help="the head's plans, likewise"
    )
    comment.set_defaults(func=cmd_plan_comment)

    submit = commands.add_parser("submit", help="validate a training request and queue it")
    submit.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    submit.add_argument("--model", required=True, help="a model configured in the stack")
    submit.add_argument("--data", help="training data S3 URI for this run (default: configured)")
    submit.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="hyperparameter override"
    )
    submit.add_argument(
        "--instance-count", type=int, help="training instances for this run (default: configured)"
    )
    submit.add_argument(
        "--max-runtime-minutes",
        type=int,
        help="a shorter hard stop for this run (at most the configured maxRuntimeMinutes)",
    )
    submit.add_argument("--reason", default="", help="why this training is requested")
    submit.add_argument("--requested-by", help="who asks (default: your user name)")
    submit.add_argument("--dry-run", action="store_true", help="validate and print, send nothing")
    submit.set_defaults(func=cmd_submit)

    package = commands.add_parser(
        "package", help="the component package's generated input types and schema"
    )
    package.add_argument("--update", action="store_true", help="regenerate them")
    package.set_defaults(func=cmd_package)

    policy_config = commands.add_parser(
        "policy-config", help="the policy pack's config for a stack (--policy-pack-config)"
    )
    policy_config.add_argument("--stack", required=True, help="reads Pulumi.<stack>.yaml")
    policy_config.set_defaults(func=cmd_policy_config)

    history = commands.add_parser("history", help="a model's recorded events as a timeline")
    history.add_argument("--stack", required=True)
    history.add_argument("--model", required=True)
    history.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    history.set_defaults(func=cmd_history)

    replay = commands.add_parser("replay", help="rebuild the read model from the event store")
    replay.add_argument("--stack", required=True)
    replay.add_argument(
        "--force",
        action="store_true",
        help="overwrite newer read-model states too (after restoring the event store from a "
        "backup; stop the projector first)",
    )
    replay.set_defaults(func=cmd_replay)

    schema = commands.add_parser("schema", help="print the training-request JSON Schema")
    schema.set_defaults(func=cmd_schema)

    reference = commands.add_parser(
        "config-reference", help="print the stack-config reference (Markdown)"
    )
    reference.add_argument(
        "--update",
        type=Path,
        metavar="FILE",
        help="rewrite the generated sections inside FILE: the config table in "
        f"{CONFIG_REFERENCE_FILE}, the architecture diagram in {DIAGRAM_FILE}",
    )
    reference.set_defaults(func=cmd_config_reference)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (pulumi.RunError, FileNotFoundError, ValueError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
