"""TrainingMonitor under mocks: topics, failure rules, stall detection, alarms, endpoints, bias."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from cli import offline
from components.config import ConfigError
from tests.components.helpers import (
    ALARM,
    ROLE_POLICY,
    WITHOUT_MONITORING,
    ParseWith,
    RunStack,
    alarms_by_name,
    configured_models,
    role_policy,
    stack_key_arn,
    statements_by_sid,
)

ACCOUNT = offline.ACCOUNT_ID
ENDPOINT = {"deploy": True, "modelDataUrl": "s3://example-ml-data/churn/model.tar.gz"}
BIAS = {
    "groundTruth": "s3://example-ml-data/churn/ground-truth/",
    "analysisConfig": "s3://example-ml-data/churn/analysis_config.json",
    "schedule": "hourly",
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
# churn deployed to an endpoint whose captured data is checked for bias
CHURN_WATCHED = {
    "trainops:models.churn.endpoint": ENDPOINT,
    "trainops:models.churn.biasMonitoring": BIAS,
}
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


def topic_arns(recording: offline.Recording) -> dict[str, str]:
    return {
        t.name.removeprefix("monitoring-"): t.outputs["arn"]
        for t in recording.of_type("aws:sns/topic:Topic")
    }


def test_two_topics_encrypted_with_the_stack_key(dev: offline.Recording) -> None:
    key_arn = stack_key_arn(dev)
    topics = dev.of_type("aws:sns/topic:Topic")
    assert sorted(t.name for t in topics) == ["monitoring-critical", "monitoring-warning"]
    assert all(t.inputs["kmsMasterKeyId"] == key_arn for t in topics)


def test_topic_policies_admit_only_this_accounts_alarms_and_rules(dev: offline.Recording) -> None:
    arns = topic_arns(dev)
    for policy in dev.of_type("aws:sns/topicPolicy:TopicPolicy"):
        statements = statements_by_sid(json.loads(policy.inputs["policy"]))
        assert policy.inputs["arn"] in arns.values()
        alarms = statements["AlarmsOfThisAccount"]
        assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert alarms["Action"] == ["sns:Publish"]
        assert alarms["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"},
        }
        rules = statements["RulesOfThisAccount"]
        assert rules["Principal"] == {"Service": "events.amazonaws.com"}
        assert rules["Condition"]["ArnLike"] == {
            "aws:SourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/*"
        }
        assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_subscriptions_follow_the_config(run_stack: RunStack) -> None:
    recording = run_stack(
        "prod",
        {
            "trainops:monitoring.alertWebhooks": [
                "https://events.pagerduty.example.com/integration/abc/enqueue"
            ],
            "trainops:monitoring.slack": {"workspaceId": "T0123456789", "channelId": "C0123456789"},
        },
    )
    arns = topic_arns(recording)
    subscriptions = [
        (s.inputs["topic"], s.inputs["protocol"], s.inputs["endpoint"])
        for s in recording.of_type("aws:sns/topicSubscription:TopicSubscription")
    ]
    emails = {"ml-oncall@example.com", "ml-platform@example.com"}
    assert {(t, e) for t, p, e in subscriptions if p == "email"} == {
        (arns[name], e) for name in ("warning", "critical") for e in emails
    }
    assert [(t, e) for t, p, e in subscriptions if p == "https"] == [
        (arns["critical"], "https://events.pagerduty.example.com/integration/abc/enqueue")
    ]
    # an HTTPS endpoint confirms by answering; an address only when its person confirms
    confirms = {
        s.inputs["protocol"]: s.inputs.get("endpointAutoConfirms")
        for s in recording.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert confirms == {"email": None, "https": True}
    slack = recording.one("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration").inputs
    assert sorted(slack["snsTopicArns"]) == sorted(arns.values())
    guardrail = recording.one("aws:iam/policy:Policy", "monitoring-chatbot-guardrail")
    assert slack["guardrailPolicyArns"] == [guardrail.outputs["arn"]]
    assert json.loads(guardrail.inputs["policy"])["Statement"][0]["Action"] == [
        "cloudwatch:DescribeAlarms"
    ]


def rules(recording: offline.Recording) -> dict[str, offline.RecordedResource]:
    return {r.name: r for r in recording.of_type("aws:cloudwatch/eventRule:EventRule")}


def test_failure_rules_target_critical_with_retries_and_a_dead_letter_queue(
    dev: offline.Recording,
) -> None:
    arns = topic_arns(dev)
    for rule_name in ("monitoring-training-failed", "monitoring-pipeline-failed"):
        rule = rules(dev)[rule_name]
        target = dev.one("aws:cloudwatch/eventTarget:EventTarget", f"{rule_name}-target").inputs
        assert target["rule"] == rule.outputs["name"]
        assert target["arn"] == arns["critical"]
        assert target["retryPolicy"] == {
            "maximumEventAgeInSeconds": 3600,
            "maximumRetryAttempts": 10,
        }
        dlq = dev.one("aws:sqs/queue:Queue", f"{rule_name}-dlq")
        assert target["deadLetterConfig"] == {"arn": dlq.outputs["arn"]}
        assert "fifoQueue" not in dlq.inputs  # EventBridge DLQs must be standard queues
        policy = json.loads(
            dev.one("aws:sqs/queuePolicy:QueuePolicy", f"{rule_name}-dlq-policy").inputs["policy"]
        )
        send = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
        assert send["Principal"] == {"Service": "events.amazonaws.com"}
        assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}
        alarm_names = {a.name for a in dev.of_type(ALARM)}
        assert {f"{rule_name}-failed-invocations", f"{rule_name}-dlq-depth"} <= alarm_names
        transformer = target["inputTransformer"]
        assert (
            "<reason>" in transformer["inputTemplate"]
            or "<execution>" in transformer["inputTemplate"]
        )
        assert "console.aws.amazon.com" in transformer["inputTemplate"]


def test_failure_rules_are_limited_to_this_platform(dev: offline.Recording) -> None:
    training = json.loads(rules(dev)["monitoring-training-failed"].inputs["eventPattern"])
    assert {json.dumps(o["Tags"], sort_keys=True) for o in training["detail"]["$or"]} == {
        json.dumps({"trainops:stack": ["dev"]}),
        json.dumps({"Key": ["trainops:stack"], "Value": ["dev"]}),
    }
    pipeline = json.loads(rules(dev)["monitoring-pipeline-failed"].inputs["eventPattern"])
    assert pipeline["detail"]["pipelineArn"] == [
        {"prefix": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/trainops-dev--"}
    ]


@pytest.mark.parametrize(
    ("stack", "overrides"), [("prod", {}), ("dev", {"trainops:monitoring.escalate": True})]
)
def test_every_alarm_has_actions_missing_data_rule_and_an_escalation(
    run_stack: RunStack, stack: str, overrides: dict[str, Any]
) -> None:
    recording = run_stack(stack, overrides)
    arns = topic_arns(recording)
    monitoring = json.loads(offline.stack_config(stack)["trainops:monitoring"])
    escalate_minutes = monitoring.get("escalateAfterMinutes", 30)
    alarms = alarms_by_name(recording)
    assert len(alarms) >= 20
    for name, alarm in alarms.items():
        assert alarm["alarmActions"], name
        assert alarm["treatMissingData"] in {"notBreaching", "breaching", "ignore", "missing"}, name
        if name.endswith("-escalated"):
            assert alarm["alarmActions"][0] == arns["critical"], name
            continue
        assert alarm["alarmActions"] == [arns["warning"]], name
        assert alarm["okActions"] == [arns["warning"]], name
        if "--deploy-" in str(alarm.get("name")):
            # a rollback alarm guards a deployment's bake (SageMaker acts on it); the endpoint's
            # own alarms, on the same metrics, are the ones that escalate
            continue
        escalated = alarms[f"{name}-escalated"]
        query = "metricQueries" in escalated
        period = escalated["metricQueries"][0]["period"] if query else escalated["period"]
        # The twin fires escalateAfterMinutes after the warning does (not after the condition
        # began), unless CloudWatch's evaluation window caps it.
        window = 3 * 3600 if query else (86400 if period < 3600 else 7 * 86400)
        wanted = alarm["evaluationPeriods"] + math.ceil(escalate_minutes * 60 / period)
        assert escalated["evaluationPeriods"] == min(wanted, window // period), name
        assert escalated["datapointsToAlarm"] == escalated["evaluationPeriods"], name


def test_dev_alarms_notify_warning_only(dev: offline.Recording) -> None:
    """dev keeps its bill low (escalate: false): same alarms, no twins, no platform alarm."""
    arns = topic_arns(dev)
    alarms = dev.of_type(ALARM)
    assert alarms
    assert not [a for a in alarms if a.name.endswith("-escalated")]
    assert all(a.inputs["alarmActions"] == [arns["warning"]] for a in alarms)
    assert dev.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm") == []


def test_stall_detector_runs_on_a_schedule_and_its_findings_alarm(dev: offline.Recording) -> None:
    resource = dev.one("aws:lambda/function:Function", "monitoring-stall-detector-function")
    function = resource.inputs
    assert function["handler"] == "trainops_runtime.handlers.stall_detector.handler"
    catalog = json.loads(resource.archive_file("trainops_runtime/catalog.json") or "{}")
    assert catalog["churn"]["pipelineName"] == "trainops-dev--churn"
    variables = function["environment"]["variables"]
    assert "TRAINOPS_MODELS" not in variables  # the catalog ships in the code, not in 4 KB of env
    assert variables["TRAINOPS_OVERRUN_FRACTION"] == "0.8"
    assert variables["TRAINOPS_STALLED_AFTER_MINUTES"] == "60"
    schedule = rules(dev)["monitoring-stall-check"].inputs
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    permission = dev.one("aws:lambda/permission:Permission", "monitoring-stall-check-invoke").inputs
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["sourceArn"] == rules(dev)["monitoring-stall-check"].outputs["arn"]
    alarms = alarms_by_name(dev)
    for metric in (
        "overrunningtrainingjobs",
        "stalledtrainingjobs",
        "overrunningpipelineexecutions",
    ):
        alarm = alarms[f"monitoring-{metric}"]
        assert alarm["namespace"] == "trainops"
        assert alarm["dimensions"] == {"service": "trainops", "Stack": "dev"}


def test_stall_detector_may_read_but_not_start(dev: offline.Recording) -> None:
    policy = role_policy(dev, "monitoring-stall-detector-policy")
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "sagemaker:StartPipelineExecution" not in actions
    assert {
        "sagemaker:ListPipelineExecutions",
        "sagemaker:ListPipelineExecutionSteps",
        "sagemaker:DescribeTrainingJob",
        "logs:DescribeLogStreams",
    } <= actions
    (log_activity,) = [s for s in policy["Statement"] if s["Action"] == ["logs:DescribeLogStreams"]]
    assert log_activity["Resource"] == [
        f"arn:aws:logs:us-east-1:{offline.ACCOUNT_ID}:log-group:/aws/sagemaker/TrainingJobs:*"
    ]
    describe = next(
        s for s in policy["Statement"] if s["Action"] == ["sagemaker:DescribeTrainingJob"]
    )
    assert describe["Condition"] == {"StringEquals": {"aws:ResourceTag/trainops:stack": "dev"}}


def test_training_host_alarms_query_all_training_jobs(
    dev: offline.Recording, run_stack: RunStack
) -> None:
    alarms = alarms_by_name(dev)
    disk = alarms["monitoring-training-host-disk"]["metricQueries"][0]
    # GROUP BY Host: every host is its own contributor, so one idle GPU or full disk alarms
    # while the other hosts are fine. AWS requires ORDER BY in such multi-time-series alarms:
    # the fullest disks first, the idlest GPUs first.
    assert disk["expression"] == (
        'SELECT MAX(DiskUtilization) FROM SCHEMA("/aws/sagemaker/TrainingJobs", Host) '
        "GROUP BY Host ORDER BY MAX() DESC"
    )
    memory = alarms["monitoring-training-host-memory"]["metricQueries"][0]["expression"]
    assert memory.endswith("GROUP BY Host ORDER BY MAX() DESC")
    assert alarms["monitoring-training-host-gpu-idle"]["metricQueries"][0]["expression"] == (
        'SELECT MAX(GPUUtilization) FROM SCHEMA("/aws/sagemaker/TrainingJobs", Host) '
        "GROUP BY Host ORDER BY MAX() ASC"
    )
    assert alarms["monitoring-training-host-disk"]["threshold"] == 90
    gpu = alarms["monitoring-training-host-gpu-idle"]
    assert gpu["comparisonOperator"] == "LessThanThreshold"
    assert gpu["evaluationPeriods"] * gpu["metricQueries"][0]["period"] == 30 * 60
    cpu_only = run_stack("dev", {"trainops:models.fraud.instanceType": "ml.c5.xlarge"})
    assert "monitoring-training-host-gpu-idle" not in {a.name for a in cpu_only.of_type(ALARM)}


def test_failed_executions_of_every_pipeline_alarm_once(dev: offline.Recording) -> None:
    """One alarm for the stack's pipelines, whatever their number: the failure rule's matches."""
    alarms = alarms_by_name(dev)
    alarm = alarms["monitoring-pipeline-executions-failed"]
    rule = rules(dev)["monitoring-pipeline-failed"]
    assert alarm["namespace"] == "AWS/Events"
    assert alarm["metricName"] == "MatchedEvents"
    assert alarm["dimensions"] == {"RuleName": rule.outputs["name"]}
    assert alarm["statistic"] == "Sum"
    assert not [name for name in alarms if "churn" in name or "fraud" in name]


def test_disabled_monitoring_creates_nothing(run_stack: RunStack) -> None:
    recording = run_stack("dev", WITHOUT_MONITORING)
    assert recording.of_type("trainops:monitoring:TrainingMonitor") == []
    assert recording.of_type("aws:sns/topic:Topic") == []
    assert recording.of_type(ALARM) == []
    assert recording.of_type("aws:cloudwatch/dashboard:Dashboard") == []


def test_deployed_endpoint_is_isolated_encrypted_captured_and_alarmed(run_stack: RunStack) -> None:
    recording = run_stack("dev", {"trainops:models.churn.endpoint": ENDPOINT})
    key_arn = stack_key_arn(recording)
    bucket = recording.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["bucket"]
    model = recording.one("aws:sagemaker/model:Model").inputs
    assert model["enableNetworkIsolation"] is True
    assert model["primaryContainer"]["modelDataUrl"] == ENDPOINT["modelDataUrl"]
    config = recording.one(ENDPOINT_CONFIG).inputs
    assert config["kmsKeyArn"] == key_arn
    capture = config["dataCaptureConfig"]
    assert capture["destinationS3Uri"] == f"s3://{bucket}/data-capture/churn"
    assert capture["kmsKeyId"] == key_arn
    endpoint = recording.one("aws:sagemaker/endpoint:Endpoint").inputs
    assert endpoint["name"] == "trainops-dev--churn"
    alarms = alarms_by_name(recording)
    assert alarms["monitoring-churn-endpoint-5xx"]["metricName"] == "Invocation5XXErrors"
    latency = alarms["monitoring-churn-endpoint-latency-p99"]
    assert latency["extendedStatistic"] == "p99"
    assert latency["threshold"] == 1000 * 1000  # 1000 ms in microseconds
    assert latency["dimensions"] == {
        "EndpointName": "trainops-dev--churn",
        "VariantName": "AllTraffic",
    }


def test_a_32_character_model_gets_endpoint_names_sagemaker_accepts(run_stack: RunStack) -> None:
    """The endpoint config's generated name once exceeded SageMaker's 63 characters for a
    32-character model; the build's quota check measures every SageMaker name."""
    models = configured_models("dev")
    long_name = "m" * 32
    models[long_name] = {**models["churn"], "endpoint": ENDPOINT, "biasMonitoring": BIAS}
    recording = run_stack("dev", {"trainops:models": models})  # raises on any quota problem
    names = [
        m
        for m in recording.quota_check().all_measurements()
        if m.quota.id == "sagemaker-name" and long_name in m.resource
    ]
    assert {m.type.rsplit(":", 1)[-1] for m in names} >= {
        "Model",
        "EndpointConfiguration",
        "Endpoint",
        "ModelBiasJobDefinition",
        "MonitoringSchedule",
    }
    assert max(m.value for m in names) <= 63


def test_existing_endpoints_are_watched_on_their_own_variant(run_stack: RunStack) -> None:
    recording = run_stack(
        "dev", {"trainops:models.fraud.endpoint": {"name": "fraud-live", "variantName": "blue"}}
    )
    alarms = alarms_by_name(recording)
    assert alarms["monitoring-fraud-endpoint-5xx"]["dimensions"] == {
        "EndpointName": "fraud-live",
        "VariantName": "blue",
    }
    assert recording.of_type(ENDPOINT_CONFIG) == []


def test_endpoints_on_local_nvme_storage_name_no_volume_key(run_stack: RunStack) -> None:
    """SageMaker rejects a KmsKeyId for instance types with local storage (hardware-encrypted)."""
    recording = run_stack(
        "dev", {"trainops:models.churn.endpoint": {**ENDPOINT, "instanceType": "ml.g5.xlarge"}}
    )
    config = recording.one(ENDPOINT_CONFIG).inputs
    assert "kmsKeyArn" not in config
    key_arn = stack_key_arn(recording)
    assert config["dataCaptureConfig"]["kmsKeyId"] == key_arn  # captured data still is


def test_bias_monitoring_has_one_job_definition_and_one_schedule_per_model(
    run_stack: RunStack,
) -> None:
    recording = run_stack(
        "dev",
        {
            **CHURN_WATCHED,
            "trainops:models.fraud.endpoint": {"name": "fraud-live", "dataCapture": True},
            "trainops:models.fraud.biasMonitoring": {**BIAS, "schedule": "daily", "alarms": []},
        },
    )
    definitions = recording.of_type("aws-native:sagemaker:ModelBiasJobDefinition")
    schedules = recording.of_type("aws-native:sagemaker:MonitoringSchedule")
    jobs = ["trainops-dev--churn-bias", "trainops-dev--fraud-bias"]
    assert sorted(d.inputs["jobDefinitionName"] for d in definitions) == jobs
    configs = [s.inputs["monitoringScheduleConfig"] for s in schedules]
    assert sorted(config["monitoringJobDefinitionName"] for config in configs) == jobs
    churn = next(d.inputs for d in definitions if "churn" in d.inputs["jobDefinitionName"])
    assert churn["networkConfig"] == {
        "enableNetworkIsolation": True,
        "enableInterContainerTrafficEncryption": True,
    }
    key_arn = stack_key_arn(recording)
    assert churn["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == key_arn
    assert churn["modelBiasJobOutputConfig"]["kmsKeyId"] == key_arn
    assert churn["modelBiasJobInput"]["endpointInput"]["endpointName"] == "trainops-dev--churn"
    assert churn["modelBiasAppSpecification"]["imageUri"].endswith(
        "/sagemaker-clarify-processing:1.0"
    )
    # the Clarify container publishes the metrics the alarms below watch only when asked to
    assert churn["modelBiasAppSpecification"]["environment"] == {
        "publish_cloudwatch_metrics": "Enabled"
    }
    fraud_schedule = next(s.inputs for s in schedules if s.inputs["endpointName"] == "fraud-live")
    assert fraud_schedule["monitoringScheduleConfig"]["scheduleConfig"] == {
        "scheduleExpression": "cron(0 0 ? * * *)"
    }
    assert fraud_schedule["monitoringScheduleConfig"]["monitoringType"] == "ModelBias"
    alarms = alarms_by_name(recording)
    high = alarms["monitoring-churn-bias-dppl-gender-f-high"]
    assert high["namespace"] == "aws/sagemaker/Endpoints/bias-metrics"
    assert high["metricName"] == "bias_metric_DPPL"
    assert high["threshold"] == 0.1
    assert high["dimensions"]["MonitoringSchedule"] == "trainops-dev--churn-bias"
    assert alarms["monitoring-churn-bias-dppl-gender-f-low"]["threshold"] == -0.1


def test_endpoint_and_bias_jobs_run_as_the_models_own_role(run_stack: RunStack) -> None:
    """The serving model and its bias jobs use the model's execution role; their grants are
    added to that role only, scoped to the model's capture and report prefixes."""
    recording = run_stack("dev", CHURN_WATCHED)
    churn = recording.one("aws:iam/role:Role", "pipeline-churn-execution")
    bucket_arn = recording.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["arn"]
    assert (
        recording.one("aws:sagemaker/model:Model").inputs["executionRoleArn"]
        == churn.outputs["arn"]
    )
    definition = recording.one("aws-native:sagemaker:ModelBiasJobDefinition").inputs
    assert definition["roleArn"] == churn.outputs["arn"]
    endpoint = recording.one(ROLE_POLICY, "monitoring-churn-endpoint-permissions")
    bias = recording.one(ROLE_POLICY, "monitoring-churn-bias-permissions")
    assert endpoint.inputs["role"] == bias.inputs["role"] == churn.outputs["name"]
    endpoint_grants = statements_by_sid(json.loads(endpoint.inputs["policy"]))
    assert endpoint_grants["WriteDataCapture"]["Resource"] == [f"{bucket_arn}/data-capture/churn/*"]
    bias_grants = statements_by_sid(json.loads(bias.inputs["policy"]))
    assert bias_grants["ReadDataCapture"]["Resource"] == [f"{bucket_arn}/data-capture/churn/*"]
    assert bias_grants["WriteBiasReports"]["Resource"] == [f"{bucket_arn}/bias-reports/churn/*"]
    assert bias_grants["ListCaptureAndReports"]["Condition"] == {
        "StringLike": {"s3:prefix": ["data-capture/churn/*", "bias-reports/churn/*"]}
    }


def test_bias_monitoring_without_a_captured_endpoint_is_rejected(parse_with: ParseWith) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_with("dev", {"trainops:models.churn.biasMonitoring": BIAS})
    assert raised.value.problems[0].startswith(
        "trainops:models.churn: biasMonitoring needs an endpoint with data capture"
    )
    with pytest.raises(ConfigError):
        parse_with(
            "dev",
            {
                "trainops:models.churn.endpoint": {"name": "live", "dataCapture": False},
                "trainops:models.churn.biasMonitoring": BIAS,
            },
        )


def test_incident_manager_engages_on_escalated_alarms(run_stack: RunStack) -> None:
    recording = run_stack(
        "prod",
        {
            "trainops:monitoring.incidentManager": {
                "enabled": True,
                "contacts": [
                    {"alias": "oncall", "name": "On-call", "email": "ml-oncall@example.com"},
                    {"alias": "lead", "name": "ML lead", "email": "ml-platform@example.com"},
                ],
            }
        },
    )
    plan = recording.one("aws:ssmincidents/responsePlan:ResponsePlan")
    escalation = recording.one("aws:ssmcontacts/contact:Contact", "monitoring-incidents-escalation")
    assert escalation.inputs["type"] == "ESCALATION"
    assert plan.inputs["engagements"] == [escalation.outputs["arn"]]
    stages = recording.one(
        "aws:ssmcontacts/plan:Plan", "monitoring-incidents-escalation-plan"
    ).inputs["stages"]
    assert [s["durationInMinutes"] for s in stages] == [15, 15]
    for alarm in recording.of_type(ALARM):
        if alarm.name.endswith("-escalated"):
            assert plan.outputs["arn"] in alarm.inputs["alarmActions"], alarm.name
        else:
            assert plan.outputs["arn"] not in alarm.inputs["alarmActions"], alarm.name
    assert recording.of_type("aws:ssmincidents/replicationSet:ReplicationSet") == []


INCIDENTS = {
    "enabled": True,
    "contacts": [{"alias": "oncall", "name": "On-call", "email": "ml-oncall@example.com"}],
}


@pytest.mark.parametrize(
    ("escalate_after", "stage_minutes", "expected"),
    [(60, None, 30), (1440, None, 30), (10, None, 10), (60, 5, 5)],
)
def test_escalation_stages_stay_within_what_ssm_contacts_accepts(
    run_stack: RunStack,
    escalate_after: int,
    stage_minutes: int | None,
    expected: int,
) -> None:
    """SSM Contacts takes 0-30 minutes per stage; escalateAfterMinutes goes up to 1440."""
    incidents = {**INCIDENTS, **({"stageMinutes": stage_minutes} if stage_minutes else {})}
    recording = run_stack(
        "prod",
        {
            "trainops:monitoring.escalateAfterMinutes": escalate_after,
            "trainops:monitoring.incidentManager": incidents,
        },
    )
    (stage,) = recording.one(
        "aws:ssmcontacts/plan:Plan", "monitoring-incidents-escalation-plan"
    ).inputs["stages"]
    assert stage["durationInMinutes"] == expected


def test_a_stage_longer_than_ssm_contacts_allows_is_a_config_error(parse_with: ParseWith) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_with(
            "prod", {"trainops:monitoring.incidentManager": {**INCIDENTS, "stageMinutes": 45}}
        )
    assert raised.value.problems == [
        "trainops:monitoring.incidentManager.stageMinutes: Input should be less than or equal "
        "to 30 (got 45)"
    ]


def test_dashboard_body_shows_queues_trainings_functions_and_alarms(
    prod: offline.Recording,
) -> None:
    body = json.loads(prod.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"].get("title") for w in body["widgets"]]
    assert "Dead-letter queue depths" in titles
    assert "Pipeline executions started / succeeded / failed" in titles
    assert "Failed executions per pipeline" in titles
    assert "Stalled and overrunning training" in titles
    assert "Lambda errors" in titles
    assert "Alarm states" in titles
    widgets = {w["properties"].get("title"): w for w in body["widgets"]}
    executions = widgets["Pipeline executions started / succeeded / failed"]["properties"]
    assert [m[0]["label"] for m in executions["metrics"]] == ["started", "succeeded", "failed"]
    assert executions["metrics"][2][0]["expression"] == (
        "SUM(SEARCH('{AWS/Sagemaker/ModelBuildingPipeline,PipelineName} "
        "MetricName=\"ExecutionFailed\" PipelineName=trainops-prod', 'Sum', 300))"
    )
    (search,) = widgets["Failed executions per pipeline"]["properties"]["metrics"]
    assert search == [
        {
            "expression": "SEARCH('{AWS/Sagemaker/ModelBuildingPipeline,PipelineName} "
            "MetricName=\"ExecutionFailed\" PipelineName=trainops-prod', 'Sum', 300)",
            "id": "failed",
        }
    ]
    dlq_names = {m[3] for m in widgets["Dead-letter queue depths"]["properties"]["metrics"]}
    # every dead-letter and failure queue but the per-model ones (a model's quality-signal
    # rules), which stay off a dashboard that is the same for 3 or 500 models
    models = configured_models("prod")
    assert dlq_names == {
        q.outputs["name"]
        for q in prod.of_type("aws:sqs/queue:Queue")
        if q.name.endswith(("-dlq", "-failures"))
        and not any(f"-{model}-" in q.name for model in models)
    }
    # The platform's alarms; per-model ones (endpoints, bias) would not be listed, so the
    # dashboard is the same size for 3 or 500 models.
    alarm_arns = set(widgets["Alarm states"]["properties"]["alarms"])
    platform = {
        a.outputs["arn"]
        for a in prod.of_type(ALARM)
        if not a.name.endswith("-escalated") and not any(f"-{m}-" in a.name for m in models)
    }
    assert alarm_arns == platform
    assert "churn" not in json.dumps(body)


def test_escalation_counts_from_the_warning_and_respects_cloudwatch_windows() -> None:
    from components.platform.alarms import Condition, escalation_periods

    thirty_minutes = Condition(period_seconds=300, evaluation_periods=6)
    assert escalation_periods(thirty_minutes, 15) == 6 + 3
    assert escalation_periods(thirty_minutes, 1440) == 86400 // 300  # one day below hourly
    assert escalation_periods(thirty_minutes, 1440, max_window_seconds=3 * 3600) == 36
    assert escalation_periods(Condition(period_seconds=60), 1) == 2
