"""Read grants for training data and images: exact per model, covering for shared roles."""

from __future__ import annotations

import pytest

from cli import offline
from components.platform import iam
from components.platform.data_access import (
    common_path_prefix,
    covering_data_statements,
    ecr_repository_arn,
    image_pull_statements,
    training_data_statements,
)

CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="us-east-1")


def test_exact_statements_name_each_prefix() -> None:
    read, listing = training_data_statements(
        CTX, ["s3://lake/ml/churn/", "s3://lake/ml/fraud/train/"]
    )
    assert read["Resource"] == [
        "arn:aws:s3:::lake/ml/churn/*",
        "arn:aws:s3:::lake/ml/fraud/train/*",
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["ml/churn/*", "ml/fraud/train/*"]}}


def test_a_whole_bucket_lists_without_a_prefix_condition() -> None:
    read, listing = training_data_statements(CTX, ["s3://whole-bucket/"])
    assert read["Resource"] == ["arn:aws:s3:::whole-bucket/*"]
    assert "Condition" not in listing


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["ml/churn/"], "ml/churn/"),
        (["ml/churn/", "ml/fraud/train/"], "ml/"),
        (["ml/churn/", "ml/churn-v2/"], "ml/"),  # never a partial path segment
        (["churn/", "fraud/"], ""),
        (["", "churn/"], ""),
        (["a/b/c/", "a/b/d/", "a/b/"], "a/b/"),
    ],
)
def test_common_path_prefix(keys: list[str], expected: str) -> None:
    assert common_path_prefix(keys) == expected


def test_covering_statements_grow_with_buckets_not_models() -> None:
    one = covering_data_statements(CTX, ["s3://lake/ml/m000/"])
    many = covering_data_statements(CTX, [f"s3://lake/ml/m{i:03d}/" for i in range(500)])
    assert len(many) == len(one) == 2
    assert many[0]["Resource"] == ["arn:aws:s3:::lake/ml/*"]
    assert many[1]["Condition"] == {"StringLike": {"s3:prefix": ["ml/*"]}}
    two_buckets = covering_data_statements(
        CTX, ["s3://lake/ml/a/", "s3://other/x/", "s3://lake/ml/b/"], read_objects=False
    )
    assert [s["Action"] for s in two_buckets] == [["s3:ListBucket"], ["s3:ListBucket"]]
    assert [s["Resource"] for s in two_buckets] == [
        ["arn:aws:s3:::lake"],
        ["arn:aws:s3:::other"],
    ]


def test_ecr_repositories_come_from_image_uris() -> None:
    uris = [
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/model-a:1",
        "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/model-a:2",
    ]
    assert ecr_repository_arn(CTX, uris[0]) == (
        "arn:aws:ecr:eu-west-1:111122223333:repository/team/model-a"
    )
    pull, login = image_pull_statements(CTX, uris)
    assert pull["Resource"] == ["arn:aws:ecr:eu-west-1:111122223333:repository/team/model-a"]
    assert login["Resource"] == "*"  # GetAuthorizationToken exists only on "*"
    assert image_pull_statements(CTX, []) == []
    with pytest.raises(ValueError, match="not an ECR image URI"):
        ecr_repository_arn(CTX, "docker.io/library/python:3")
