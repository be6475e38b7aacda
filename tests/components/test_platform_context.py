"""What the platform context answers for the features: the alert ladder a feature cannot work
without."""

from __future__ import annotations

import pytest

from cli import offline
from components.platform import alarms, iam
from components.platform.context import PlatformContext

PLATFORM = PlatformContext(
    ctx=iam.AwsContext(account_id=offline.ACCOUNT_ID, region="eu-west-1"),
    key_arn=f"arn:aws:kms:eu-west-1:{offline.ACCOUNT_ID}:key/0000",
    log_retention_days=14,
    powertools_layer_version=27,
)


def test_a_feature_that_must_alert_is_refused_without_monitoring() -> None:
    with pytest.raises(ValueError, match=r"^approvalDeployment needs the monitoring component"):
        PLATFORM.required_alerts("approvalDeployment")


def test_with_monitoring_it_gets_the_ladder() -> None:
    ladder = alarms.AlertLadder(
        warning_topic_arn="arn:warning",
        critical_topic_arn="arn:critical",
        escalate_after_minutes=15,
    )
    assert PLATFORM.with_alerts(ladder).required_alerts("qualityRetraining") is ladder
