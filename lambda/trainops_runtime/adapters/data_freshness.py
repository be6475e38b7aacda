"""Is there training data newer than the last successful training?

Used by `onlyWhenNewData` schedules: the answer comes from S3 listing the model's training-data
prefix and stops at the first object modified after the cut-off.
"""

from __future__ import annotations

import re
from datetime import datetime

from trainops_runtime.adapters import clients

S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/?(?P<prefix>.*)$")


def newest_change_after(uri: str, cutoff: datetime) -> datetime | None:
    """The modification time of some object under ``uri`` newer than ``cutoff``, or None."""
    match = S3_URI.match(uri)
    if match is None:
        raise ValueError(f"not an S3 URI: {uri}")
    paginator = clients.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=match["bucket"], Prefix=match["prefix"]):
        for item in page.get("Contents", []):
            if item["LastModified"] > cutoff:
                return item["LastModified"]
    return None
