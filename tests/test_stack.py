"""The whole program (__main__.py) under mocks with the real stack files."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from cli import offline
from components.platform import iam

ALLOWED_INVOKES = {
    "aws:index/getCallerIdentity:getCallerIdentity",
    "aws:index/getPartition:getPartition",
    "aws:index/getRegion:getRegion",
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_builds_with_its_config(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    recording = run_stack(stack)
    foundation = recording.one("trainops:foundation:Foundation")
    assert recording.children_of(foundation), "the foundation registered no children"
    assert recording.one("aws:kms/key:Key")
    assert recording.one("aws:s3/bucket:Bucket", "foundation-artifacts")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_identity_and_location_invokes(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    invokes = set(run_stack(stack).invokes)
    assert invokes, "expected the account and partition look-ups"
    assert invokes <= ALLOWED_INVOKES, invokes - ALLOWED_INVOKES


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_resource_is_inside_a_component(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    recording = run_stack(stack)
    orphans = [
        r.name for r in recording.resources if r.custom and recording.top_component(r) is None
    ]
    assert orphans == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_allow_statement_has_a_wildcard_action(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    documents = list(run_stack(stack).policy_documents())
    assert len(documents) >= 4  # trust, role policy, key policy, bucket policy at least
    for resource, document in documents:
        assert iam.wildcard_allow_actions(document) == [], resource.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_wildcard_denies_only_refuse_insecure_transport(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    for resource, document in run_stack(stack).policy_documents():
        for statement in document["Statement"]:
            action = statement.get("Action")
            if statement["Effect"] == "Deny" and isinstance(action, str) and action.endswith(":*"):
                condition = statement["Condition"]
                assert condition.get("Bool", {}).get(
                    "aws:SecureTransport"
                ) == "false" or "s3:TlsVersion" in condition.get("NumericLessThan", {}), (
                    resource.name
                )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_aws_managed_policy_is_attached(
    run_stack: Callable[..., offline.Recording], stack: str
) -> None:
    recording = run_stack(stack)
    assert recording.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    for role in recording.of_type("aws:iam/role:Role"):
        assert not role.inputs.get("managedPolicyArns"), role.name


def test_no_account_ids_other_than_the_documented_example() -> None:
    import re

    project = offline.PROJECT_DIR
    documents = [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    for path in [*project.glob("Pulumi.*.yaml"), *documents]:
        accounts = set(re.findall(r"(?<!\d)\d{12}(?!\d)", path.read_text(encoding="utf-8")))
        assert accounts <= {offline.ACCOUNT_ID}, (path.name, accounts)


@pytest.mark.timing
def test_prod_evaluates_in_under_three_seconds(run_stack: Callable[..., offline.Recording]) -> None:
    run_stack("prod")  # imports and caches warmed, as in a `pulumi preview` after start-up
    started = time.process_time()  # this process's CPU: the wall clock counts other jobs too
    offline.run_program("prod")
    elapsed = time.process_time() - started
    assert elapsed < 3.0, f"prod took {elapsed:.2f}s of CPU under mocks"
