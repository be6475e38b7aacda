"""QualityRetraining under mocks: the ledger, the trigger function and its least privilege, the
rules that bring it quality signals (checked against AWS's sample alarm event), the bias quality
alarms, and the config that refuses what cannot work."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli import offline
from components.config import ConfigError
from components.quality_retraining.component import (
    quality_alarm_name,
    quality_alarm_pattern,
    signal_template,
)
from tests.components import helpers
from tests.test_event_patterns import matches, sample
from trainops_runtime import quality_signals

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
FUNCTION = "aws:lambda/function:Function"
ENDPOINT = {"deploy": True, "modelDataUrl": "s3://example-ml-data/churn/model.tar.gz"}
BIAS = {
    "groundTruth": "s3://example-ml-data/churn/ground-truth/",
    "analysisConfig": "s3://example-ml-data/churn/analysis_config.json",
    "alarms": [
        {
            "metric": "DPPL",
            "threshold": 0.1,
            "label": "churned",
            "labelValue": "1",
            "facet": "gender",
            "facetValue": "F",
        }
    ],
}
DEV_QUALITY = {"trainops:qualityRetraining": {"enabled": True}}


def trigger(recording: offline.Recording) -> offline.RecordedResource:
    (function,) = [
        f for f in recording.of_type(FUNCTION) if f.name == "quality-retraining-trigger-function"
    ]
    return function


def test_the_ledger_is_an_encrypted_recoverable_protected_table(
    prod: offline.Recording,
) -> None:
    table = prod.one("aws:dynamodb/table:Table", "quality-retraining-ledger").inputs
    assert table["hashKey"] == "model"
    assert table["serverSideEncryption"] == {
        "enabled": True,
        "kmsKeyArn": helpers.stack_key_arn(prod),
    }
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["deletionProtectionEnabled"] is True


def test_the_trigger_gets_its_settings_and_ships_which_models_take_signals(
    prod: offline.Recording,
) -> None:
    function = trigger(prod)
    variables = function.inputs["environment"]["variables"]
    queue = prod.one("aws:sqs/queue:Queue", "training-queue-requests")
    assert variables["TRAINOPS_TRAINING_QUEUE_URL"] == queue.outputs["url"]
    assert variables["TRAINOPS_QUALITY_ALARM_PREFIX"] == "trainops-prod--"
    assert variables["TRAINOPS_COOLDOWN_MINUTES"] == "360"
    assert variables["TRAINOPS_MAX_PER_DAY"] == "3"
    critical = prod.one("aws:sns/topic:Topic", "monitoring-critical").outputs["arn"]
    assert variables["TRAINOPS_CRITICAL_TOPIC_ARN"] == critical
    catalog = json.loads(function.inputs["code"].assets["trainops_runtime/catalog.json"].text)
    assert {model: entry["qualityRetraining"] for model, entry in catalog.items()} == {
        "churn": True,
        "fraud": True,
        "forecast": True,
    }


def test_the_trigger_holds_only_what_it_needs(prod: offline.Recording) -> None:
    statements = helpers.statements_by_sid(
        helpers.role_policy(prod, "quality-retraining-trigger-policy")
    )
    ledger = prod.one("aws:dynamodb/table:Table", "quality-retraining-ledger").outputs["arn"]
    queue = prod.one("aws:sqs/queue:Queue", "training-queue-requests").outputs["arn"]
    assert statements["KeepTheLedger"]["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert statements["KeepTheLedger"]["Resource"] == [ledger]
    assert statements["QueueRequests"] == {
        "Sid": "QueueRequests",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": [queue],
    }
    critical = prod.one("aws:sns/topic:Topic", "monitoring-critical").outputs["arn"]
    assert statements["AlertBreaker"]["Resource"] == [critical]
    assert "PublishDomainEvents" in statements  # prod records the training workflow


def test_one_rule_takes_every_quality_alarm_of_the_stack(prod: offline.Recording) -> None:
    rule = prod.one(RULE, "quality-retraining-alarms")
    assert json.loads(rule.inputs["eventPattern"]) == quality_alarm_pattern("prod")
    target = prod.one(TARGET, "quality-retraining-alarms-target").inputs
    assert target["arn"] == trigger(prod).outputs["arn"]
    assert target["deadLetterConfig"]["arn"]


def test_each_configured_pattern_is_a_rule_that_names_its_model(
    prod: offline.Recording,
) -> None:
    rule = prod.one(RULE, "quality-retraining-churn-0")
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["com.example.model-quality"],
        "detail-type": ["Model Quality Degraded"],
        "detail": {"model": ["churn"]},
    }
    transformer = prod.one(TARGET, "quality-retraining-churn-0-target").inputs["inputTransformer"]
    assert transformer["inputPaths"] == {
        "id": "$.id",
        "source": "$.source",
        "detailType": "$.detail-type",
        "time": "$.time",
    }
    # what EventBridge delivers once it has put the (JSON-quoted) values in
    rendered = transformer["inputTemplate"]
    for key, value in (("id", "e-1"), ("source", "s"), ("detailType", "d"), ("time", "t")):
        rendered = rendered.replace(f"<{key}>", json.dumps(value))
    assert json.loads(rendered) == {
        "qualitySignal": {
            "model": "churn",
            "id": "e-1",
            "source": "s",
            "detailType": "d",
            "time": "t",
        }
    }
    assert not [r for r in prod.of_type(RULE) if r.name.startswith("quality-retraining-fraud-")]


def test_the_alarm_rule_matches_the_documented_alarm_event(moto_aws: None) -> None:
    event = sample("cloudwatch_metric_alarm_state_change_alarm")
    assert matches(quality_alarm_pattern("dev"), event)
    assert not matches(quality_alarm_pattern("prod"), event)
    recovered = json.loads(json.dumps(event))
    recovered["detail"]["state"]["value"] = "OK"
    assert not matches(quality_alarm_pattern("dev"), recovered)
    # the platform-critical composite alarm of prod shares the stack prefix but not the "--"
    assert not matches(
        quality_alarm_pattern("prod"), sample("cloudwatch_composite_alarm_state_change_alarm")
    )


def test_the_name_convention_is_the_one_the_function_reads() -> None:
    def named() -> None:
        name = quality_alarm_name("churn", "feature-drift")
        assert name == "trainops-test--churn--quality-feature-drift"
        assert (
            quality_signals.model_of_alarm(name, "trainops-test--", ["churn", "fraud"]) == "churn"
        )

    offline.run_under_mocks("test", {"aws:region": "us-east-1"}, named)
    assert signal_template("churn").startswith('{"qualitySignal": {"model": "churn"')


def test_bias_signals_are_the_components_own_alarms(run_stack: helpers.RunStack) -> None:
    recording = run_stack(
        "dev",
        {
            **DEV_QUALITY,
            "trainops:models.churn.endpoint": ENDPOINT,
            "trainops:models.churn.biasMonitoring": BIAS,
            "trainops:models.churn.qualityRetraining": {"biasAlarms": True},
        },
    )
    alarms = {
        a.inputs.get("name"): a.inputs
        for a in recording.of_type(helpers.ALARM)
        if a.name.startswith("quality-retraining-")
    }
    high, low = (
        "trainops-dev--churn--quality-bias-dppl-gender-f-high",
        "trainops-dev--churn--quality-bias-dppl-gender-f-low",
    )
    assert set(alarms) >= {high, low}
    monitoring_high = recording.one(
        helpers.ALARM, "monitoring-churn-bias-dppl-gender-f-high"
    ).inputs
    for key in ("namespace", "metricName", "dimensions", "threshold", "comparisonOperator"):
        assert alarms[high][key] == monitoring_high[key]
    warning = recording.one("aws:sns/topic:Topic", "monitoring-warning").outputs["arn"]
    assert alarms[low]["alarmActions"] == [warning]
    assert alarms[low]["threshold"] == -0.1


def test_a_stack_of_500_models_gets_one_alarm_rule(run_stack: helpers.RunStack) -> None:
    models = {
        f"m{i:03d}": {
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1",
            "trainingData": f"s3://example-ml-data/m{i:03d}/",
        }
        for i in range(500)
    }
    recording = run_stack("dev", {**DEV_QUALITY, "trainops:models": models})
    quality_rules = [r for r in recording.of_type(RULE) if r.name.startswith("quality-retraining")]
    assert [r.name for r in quality_rules] == ["quality-retraining-alarms"]
    catalog = json.loads(
        trigger(recording).inputs["code"].assets["trainops_runtime/catalog.json"].text
    )
    assert len(catalog) == 500


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"trainops:trainingQueue.enabled": False},
            "qualityRetraining: needs trainingQueue.enabled: true",
        ),
        (
            {**helpers.WITHOUT_MONITORING},
            "qualityRetraining: needs monitoring.enabled: true",
        ),
        (
            {"trainops:models.churn.qualityRetraining": {"biasAlarms": True}},
            "qualityRetraining.biasAlarms needs biasMonitoring with at least one alarm",
        ),
        (
            {"trainops:models.churn.qualityRetraining": {"eventPatterns": [{"detail": {}}]}},
            "an event pattern must name its source",
        ),
        (
            {
                "trainops:models.churn.qualityRetraining": {
                    "eventPatterns": [{"source": ["x"], "detail": {"k": ["v" * 2100]}}]
                }
            },
            "EventBridge allows 2048",
        ),
    ],
    ids=["without-queue", "without-monitoring", "bias-without-alarms", "no-source", "too-big"],
)
def test_config_refuses_what_cannot_work(
    parse_with: helpers.ParseWith, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_with("dev", {**DEV_QUALITY, **overrides})


def test_config_caps_the_pattern_rules_of_a_stack(parse_with: helpers.ParseWith) -> None:
    pattern = {"source": ["com.example"]}
    models = {
        f"m{i:03d}": {
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1",
            "trainingData": f"s3://example-ml-data/m{i:03d}/",
            "qualityRetraining": {"eventPatterns": [pattern] * 5},
        }
        for i in range(21)
    }
    with pytest.raises(ConfigError, match="105 patterns, one rule each; at most 100"):
        parse_with("dev", {**DEV_QUALITY, "trainops:models": models})
