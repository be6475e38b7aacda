"""`trainops:artifacts` and `trainops:accessLogs`: the stack's shared buckets (Foundation)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from components.platform.config_types import ConfigModel, LifecycleDays


class ArtifactsConfig(ConfigModel):
    """The artifacts bucket every model shares."""

    noncurrent_version_days: LifecycleDays = Field(
        default=90,
        description="Days a replaced or deleted artifact version is kept before it expires.",
    )


class AccessLogsConfig(ConfigModel):
    """Access logging of the artifacts and raw-events buckets: an audit trail of every request."""

    destination: Literal["server", "cloudtrail"] = Field(
        default="server",
        description="`server`: S3 server access logs into the stack's access-log bucket "
        "(SSE-S3). `cloudtrail`: no log bucket; a CloudTrail trail you run records S3 data "
        "events for the buckets (docs/security.md).",
    )
    retention_days: LifecycleDays = Field(
        default=90, description="Days server access logs are kept."
    )
