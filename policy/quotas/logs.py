"""CloudWatch Logs quotas: log group names."""

from __future__ import annotations

from .base import Service, name_quota

LOG_GROUP = (
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
)

LOG_GROUP_NAME = name_quota("log-group-name", "a CloudWatch Logs group name", 512, LOG_GROUP)

SERVICE = Service(
    quotas=(LOG_GROUP_NAME,),
    names={"aws:cloudwatch/logGroup:LogGroup": ("name", LOG_GROUP_NAME.id)},
)
