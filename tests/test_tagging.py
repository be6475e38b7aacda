"""The trainops tag transform (mocks run no transforms, so it is tested on its own)."""

from __future__ import annotations

import pulumi

from components.platform import tagging


def fake_component(type_token: str) -> pulumi.ComponentResource:
    """A component object that was never registered: only its type token matters here."""
    component = pulumi.ComponentResource.__new__(pulumi.ComponentResource)
    component._type = type_token
    return component


def transform_args(
    type_token: str, props: dict, parent: pulumi.Resource | None = None, custom: bool = True
) -> pulumi.ResourceTransformArgs:
    return pulumi.ResourceTransformArgs(
        custom=custom,
        type_=type_token,
        name="x",
        props=props,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def test_taggable_resources_get_stack_and_component_tags(monkeypatch) -> None:
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    result = tagging.trainops_tags(
        transform_args(
            "aws:sqs/queue:Queue",
            {"tags": {"team": "ml"}},
            parent=fake_component("trainops:queue:TrainingQueue"),
        )
    )
    assert result is not None
    assert result.props["tags"] == {
        "trainops:stack": "dev",
        "trainops:component": "TrainingQueue",
        "team": "ml",
    }


def test_resources_without_tags_are_left_alone() -> None:
    assert tagging.accepts_tags("aws:lambda/function:Function")
    assert tagging.accepts_tags("aws:s3/bucket:Bucket")
    assert not tagging.accepts_tags("aws:iam/rolePolicy:RolePolicy")
    assert not tagging.accepts_tags("aws:kms/alias:Alias")
    assert not tagging.accepts_tags("trainops:queue:TrainingQueue")
    assert not tagging.accepts_tags("aws:nosuch/thing:Thing")
    assert (
        tagging.trainops_tags(transform_args("aws:iam/rolePolicy:RolePolicy", {"policy": "{}"}))
        is None
    )
    assert (
        tagging.trainops_tags(transform_args("trainops:queue:TrainingQueue", {}, custom=False))
        is None
    )


def test_a_callers_own_tag_wins(monkeypatch) -> None:
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    result = tagging.trainops_tags(
        transform_args("aws:sns/topic:Topic", {"tags": {"trainops:stack": "custom"}})
    )
    assert result is not None
    assert result.props["tags"]["trainops:stack"] == "custom"
