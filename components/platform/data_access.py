"""IAM statements for reading training data and pulling images, exact or covering.

Two granularities, chosen by who holds the grant:

* **exact** (`training_data_statements`): the configured prefixes, one ARN per prefix. For a
  per-model role (a model's SageMaker execution role reads only its own data).
* **covering** (`covering_data_statements`): per bucket, the longest common path prefix of
  every configured prefix in it. For a role shared by every model (the maintenance-window
  hosts, the schedule's freshness check): its document then grows with the number of data
  *buckets*, not models, and it is never wider than those buckets. With data laid out as
  `s3://lake/ml/<model>/...` that is `s3://lake/ml/`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence

from components.platform import iam
from components.platform.config_types import ECR_IMAGE, S3_URI


def _prefixes_by_bucket(uris: Iterable[str]) -> dict[str, set[str]]:
    prefixes: dict[str, set[str]] = defaultdict(set)
    for uri in uris:
        match = S3_URI.match(uri)
        if match is None:
            raise ValueError(f"not an S3 URI: {uri}")
        prefixes[match["bucket"]].add(match["key"] or "")
    return prefixes


def common_path_prefix(keys: Iterable[str]) -> str:
    """The longest prefix of every key that ends at a `/` (or "" for the whole bucket)."""
    keys = list(keys)
    if len(keys) == 1:
        return keys[0]
    common = os.path.commonprefix(keys)  # noqa: RUF071 - by character, cut back to a "/" below
    return common[: common.rfind("/") + 1]


def _statements(
    ctx: iam.AwsContext, prefixes: dict[str, Sequence[str]], *, read_objects: bool
) -> list[iam.Statement]:
    statements: list[iam.Statement] = []
    for bucket in sorted(prefixes):
        keys = sorted(prefixes[bucket])
        if read_objects:
            statements.append(
                iam.allow(
                    ["s3:GetObject"],
                    [iam.s3_object_arn(ctx, bucket, key) for key in keys],
                    sid=f"ReadTrainingData{len(statements)}",
                )
            )
        statements.append(
            iam.allow(
                ["s3:ListBucket"],
                [iam.s3_bucket_arn(ctx, bucket)],
                sid=f"ListTrainingData{len(statements)}",
                conditions=None
                if "" in keys
                else {"StringLike": {"s3:prefix": [f"{k}*" for k in keys]}},
            )
        )
    return statements


def training_data_statements(
    ctx: iam.AwsContext, uris: Sequence[str], *, read_objects: bool = True
) -> list[iam.Statement]:
    """Read (and list) exactly the given prefixes, grouped per bucket."""
    return _statements(
        ctx,
        {b: sorted(k) for b, k in _prefixes_by_bucket(uris).items()},
        read_objects=read_objects,
    )


def covering_data_statements(
    ctx: iam.AwsContext, uris: Sequence[str], *, read_objects: bool = True
) -> list[iam.Statement]:
    """Read (and list) one prefix per bucket that covers every given prefix in it."""
    return _statements(
        ctx,
        {b: [common_path_prefix(k)] for b, k in _prefixes_by_bucket(uris).items()},
        read_objects=read_objects,
    )


def ecr_repository_arn(ctx: iam.AwsContext, image_uri: str) -> str:
    """The ECR repository behind an image URI."""
    match = ECR_IMAGE.match(image_uri)
    if match is None:
        raise ValueError(f"not an ECR image URI: {image_uri}")
    return (
        f"arn:{ctx.partition}:ecr:{match['region']}:{match['account']}:"
        f"repository/{match['repository']}"
    )


def image_pull_statements(
    ctx: iam.AwsContext, image_uris: Sequence[str], *, sid: str = "PullImages"
) -> list[iam.Statement]:
    """Pull exactly these images' repositories (and log in to ECR)."""
    repositories = sorted({ecr_repository_arn(ctx, uri) for uri in image_uris})
    if not repositories:
        return []
    return [
        iam.allow(
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            repositories,
            sid=sid,
        ),
        # GetAuthorizationToken is account-wide by design: it supports only Resource "*".
        iam.allow(["ecr:GetAuthorizationToken"], "*", sid="EcrLogin"),
    ]
