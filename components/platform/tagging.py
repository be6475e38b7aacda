"""Stack-wide `trainops:*` tags, added by a stack transform.

`aws:defaultTags` in the stack file carries the organisation's tags (owner, cost centre); this
transform adds the tags trainops itself relies on: which stack and which component a resource
belongs to. It only touches pulumi-aws resources whose constructor accepts `tags`.
Pulumi's mocks run no transforms, so the function is tested on its own.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from typing import Any

import pulumi


@cache
def accepts_tags(type_token: str) -> bool:
    """Whether the pulumi-aws resource type ``aws:<module>/<file>:<Class>`` has a `tags` input."""
    try:
        provider, module_path, class_name = type_token.split(":")
    except ValueError:
        return False
    if provider != "aws":
        return False
    module_name = module_path.split("/")[0]
    module_name = {"lambda": "lambda_", "index": ""}.get(module_name, module_name)
    try:
        module = importlib.import_module(f"pulumi_aws.{module_name}".rstrip("."))
        resource_class = getattr(module, class_name)
    except (ImportError, AttributeError):
        return False
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def component_of(parent: pulumi.Resource | None) -> str | None:
    """The type name of the trainops component a resource is parented to, if any.

    Every child in trainops is parented directly to its component, so the parent is enough.
    """
    type_token = getattr(parent, "_type", "") if parent is not None else ""
    if isinstance(type_token, str) and type_token.startswith("trainops:"):
        return type_token.rsplit(":", 1)[-1]
    return None


def trainops_tags(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Adds `trainops:stack` and `trainops:component` to every taggable AWS resource."""
    if not args.custom or not accepts_tags(args.type_):
        return None
    tags: dict[str, Any] = {"trainops:stack": pulumi.get_stack()}
    component = component_of(args.opts.parent)
    if component:
        tags["trainops:component"] = component
    props = dict(args.props)
    existing = props.get("tags")
    if existing is None or isinstance(existing, dict):
        props["tags"] = {**tags, **(existing or {})}
    else:  # an Output of tags: merge once it resolves
        props["tags"] = pulumi.Output.from_input(existing).apply(
            lambda resolved: {**tags, **(resolved or {})}
        )
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)
