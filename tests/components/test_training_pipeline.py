"""TrainingPipeline: one pipeline and execution role per model, its definition and permissions."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from cli import offline
from components.platform import iam, instance_types
from components.platform.sagemaker import start_statements
from components.training_pipeline import definition as pd
from components.training_pipeline.component import pipeline_role_statements
from tests.components.helpers import (
    ROLE_POLICY,
    ParseWith,
    RunStack,
    configured_models,
    role_policy,
    stack_key_arn,
    statements_by_sid,
)

ACCOUNT = offline.ACCOUNT_ID
CTX = iam.AwsContext(account_id=ACCOUNT, region="us-east-1")


def definitions(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    return {
        p.inputs["pipelineName"]: json.loads(p.inputs["pipelineDefinition"])
        for p in recording.of_type("aws:sagemaker/pipeline:Pipeline")
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_model_has_exactly_one_pipeline(run_stack: RunStack, stack: str) -> None:
    recording = run_stack(stack)
    models = configured_models(stack)
    names = sorted(
        p.inputs["pipelineName"] for p in recording.of_type("aws:sagemaker/pipeline:Pipeline")
    )
    assert names == sorted(f"trainops-{stack}--{model}" for model in models)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_definition_uses_image_role_key_and_isolation(run_stack: RunStack, stack: str) -> None:
    recording = run_stack(stack)
    models = configured_models(stack)
    key_arn = stack_key_arn(recording)
    bucket = recording.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["bucket"]
    for pipeline in recording.of_type("aws:sagemaker/pipeline:Pipeline"):
        model = pipeline.inputs["pipelineName"].removeprefix(f"trainops-{stack}--")
        role_arn = recording.one("aws:iam/role:Role", f"pipeline-{model}-execution").outputs["arn"]
        assert pipeline.inputs["roleArn"] == role_arn
        document = json.loads(pipeline.inputs["pipelineDefinition"])
        assert document["Version"] == "2020-12-01"
        (train,) = [s for s in document["Steps"] if s["Type"] == "Training"]
        arguments = train["Arguments"]
        assert arguments["AlgorithmSpecification"]["TrainingImage"] == models[model]["image"]
        assert arguments["RoleArn"] == role_arn
        assert arguments["OutputDataConfig"]["KmsKeyId"] == key_arn
        instance_type = models[model]["instanceType"]
        if instance_types.has_local_storage(
            instance_type
        ):  # hardware-encrypted NVMe: no key accepted
            assert "VolumeKmsKeyId" not in arguments["ResourceConfig"], instance_type
        else:
            assert arguments["ResourceConfig"]["VolumeKmsKeyId"] == key_arn
        assert arguments["EnableNetworkIsolation"] is True
        assert arguments["EnableInterContainerTrafficEncryption"] is True
        output = arguments["OutputDataConfig"]["S3OutputPath"]["Std:Join"]["Values"]
        assert output[0] == f"s3://{bucket}/models/{model}"
        assert {"Key": "trainops:model", "Value": model} in arguments["Tags"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_declared_and_referenced_parameters_match(run_stack: RunStack, stack: str) -> None:
    for name, document in definitions(run_stack(stack)).items():
        declared = {p["Name"] for p in document["Parameters"]}
        assert declared == pd.referenced_parameters(document), name
        assert len(declared) == len(document["Parameters"]), f"{name}: duplicate parameter"


def test_defaults_carry_the_model_config(dev: offline.Recording) -> None:
    document = definitions(dev)["trainops-dev--churn"]
    defaults = {p["Name"]: p["DefaultValue"] for p in document["Parameters"]}
    assert defaults == {
        "TrainingDataUri": "s3://example-ml-data/churn/train/",
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "MaxRuntimeSeconds": 240 * 60,
        "RequestId": "manual",
        "Attempt": 1,
        "Hp-epochs": "20",
        "Hp-learning_rate": "0.05",
    }
    hyperparameters = document["Steps"][0]["Arguments"]["HyperParameters"]
    assert hyperparameters == {
        "epochs": {"Get": "Parameters.Hp-epochs"},
        "learning_rate": {"Get": "Parameters.Hp-learning_rate"},
    }


def test_spot_training_adds_wait_and_checkpoints(run_stack: RunStack) -> None:
    recording = run_stack(
        "dev", {"trainops:models.churn.spot": {"enabled": True, "maxWaitMinutes": 600}}
    )
    arguments = definitions(recording)["trainops-dev--churn"]["Steps"][0]["Arguments"]
    assert arguments["EnableManagedSpotTraining"] is True
    assert arguments["StoppingCondition"]["MaxWaitTimeInSeconds"] == 600 * 60
    assert arguments["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"][0].endswith(
        "/checkpoints/churn"
    )
    fraud = definitions(recording)["trainops-dev--fraud"]["Steps"][0]["Arguments"]
    assert fraud["EnableManagedSpotTraining"] is False
    assert "CheckpointConfig" not in fraud


def test_spot_wait_shorter_than_runtime_is_a_config_error(parse_with: ParseWith) -> None:
    from components.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_with("dev", {"trainops:models.churn.spot": {"enabled": True, "maxWaitMinutes": 60}})
    (problem,) = raised.value.problems
    assert problem.startswith(
        "trainops:models.churn: spot.maxWaitMinutes (60) must be at least maxRuntimeMinutes (240)"
    )


def test_register_model_creates_a_group_and_a_pending_approval_step(run_stack: RunStack) -> None:
    recording = run_stack("dev", {"trainops:models.churn.registerModel": {"enabled": True}})
    (group,) = recording.of_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert group.inputs["modelPackageGroupName"] == "trainops-dev--churn"
    steps = definitions(recording)["trainops-dev--churn"]["Steps"]
    assert [s["Type"] for s in steps] == ["Training", "RegisterModel"]
    register = steps[1]["Arguments"]
    assert register["ModelPackageGroupName"] == "trainops-dev--churn"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    policy = role_policy(recording, "pipeline-churn-execution-policy")
    register_statement = next(
        s for s in policy["Statement"] if s["Sid"] == "RegisterIntoOwnPackageGroup"
    )
    assert register_statement["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/trainops-dev--churn",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/trainops-dev--churn/*",
    ]
    assert definitions(recording)["trainops-dev--fraud"]["Steps"][-1]["Type"] == "Training"


def test_pipeline_permissions_demand_isolation_encryption_and_the_model_tag(
    dev: offline.Recording,
) -> None:
    key_arn = stack_key_arn(dev)
    role = dev.one("aws:iam/role:Role", "pipeline-churn-execution")
    permissions = dev.one(ROLE_POLICY, "pipeline-churn-execution-policy")
    assert permissions.inputs["role"] == role.id
    statements = statements_by_sid(json.loads(permissions.inputs["policy"]))
    create = statements["CreateIsolatedEncryptedTrainingJobs"]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/trainops:model": "churn"},
        "Bool": {
            "sagemaker:NetworkIsolation": "true",
            "sagemaker:InterContainerTrafficEncryption": "true",
        },
        "ArnEquals": {"sagemaker:VolumeKmsKey": key_arn, "sagemaker:OutputKmsKey": key_arn},
    }
    assert statements["PassExecutionRoleToTrainingJobs"]["Resource"] == [role.outputs["arn"]]
    assert statements["PassExecutionRoleToTrainingJobs"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_local_storage_instances_get_no_volume_key_but_a_fixed_instance_type(
    dev: offline.Recording,
) -> None:
    """fraud trains on ml.g5.xlarge (local NVMe): SageMaker rejects a VolumeKmsKeyId there."""
    key_arn = stack_key_arn(dev)
    resource_config = definitions(dev)["trainops-dev--fraud"]["Steps"][0]["Arguments"][
        "ResourceConfig"
    ]
    assert resource_config == {
        "InstanceType": {"Get": "Parameters.InstanceType"},
        "InstanceCount": {"Get": "Parameters.InstanceCount"},
        "VolumeSizeInGB": 50,
    }
    statements = statements_by_sid(role_policy(dev, "pipeline-fraud-execution-policy"))
    condition = statements["CreateIsolatedEncryptedTrainingJobs"]["Condition"]
    assert condition["ArnEquals"] == {"sagemaker:OutputKmsKey": key_arn}
    assert condition["ForAllValues:StringEquals"] == {"sagemaker:InstanceTypes": ["ml.g5.xlarge"]}
    assert condition["Bool"] == {
        "sagemaker:NetworkIsolation": "true",
        "sagemaker:InterContainerTrafficEncryption": "true",
    }


@pytest.mark.parametrize(
    ("instance_type", "local"),
    [
        ("ml.m5.xlarge", False),
        ("ml.c5.4xlarge", False),
        ("ml.p3.2xlarge", False),
        ("ml.g5.2xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p4d.24xlarge", True),
        ("ml.m5d.large", True),
        ("ml.trn1.32xlarge", True),
    ],
)
def test_local_storage_families(instance_type: str, *, local: bool) -> None:
    assert instance_types.has_local_storage(instance_type) is local


def test_pipeline_waits_for_its_permissions(dev: offline.Recording) -> None:
    pipeline = dev.one("aws:sagemaker/pipeline:Pipeline", "pipeline-churn-pipeline")
    component = dev.one("trainops:pipelines:TrainingPipeline", "pipeline-churn")
    permissions = dev.one(ROLE_POLICY, "pipeline-churn-execution-policy")
    assert pipeline.parent_urn == component.urn
    assert permissions.urn in pipeline.dependencies
    assert pipeline.inputs["parallelismConfiguration"] == {"maxParallelExecutionSteps": 1}


def test_start_statements_cover_this_stacks_pipelines_by_prefix() -> None:
    """One ARN pattern, whatever the number of models; a stack whose name extends this one's
    (dev-2) is outside it, because the stack part of a model name ends with a double hyphen."""
    start, read = start_statements(CTX, "dev")
    assert read["Action"] == ["sagemaker:DescribePipelineExecution"]
    assert start["Action"] == [
        "sagemaker:ListPipelineExecutions",
        "sagemaker:StartPipelineExecution",
    ]
    assert start["Resource"] == [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/trainops-dev--*"]
    assert read["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/trainops-dev--*/execution/*"
    ]
    pattern = start["Resource"][0]
    assert fnmatch.fnmatchcase(pattern.replace("*", "churn"), pattern)
    for other in ("trainops-dev-2--churn", "trainops-prod--churn", "trainops-development--x"):
        assert not fnmatch.fnmatchcase(
            f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/{other}", pattern
        )
    (only,) = start_statements(CTX, "dev", read_executions=False)
    assert only == start


def test_a_name_too_long_for_sagemaker_fails_at_preview() -> None:
    long_model = "m" * 32
    models = configured_models("dev")
    models[long_model] = {**models["churn"], "registerModel": {"enabled": True}}
    with pytest.raises(ValueError, match="is 73 characters; the limit here is 63"):
        offline.run_program(
            "this-is-a-very-long-stack-name",
            config={**offline.stack_config("dev"), "trainops:models": json.dumps(models)},
        )


def test_each_model_has_its_own_execution_role(dev: offline.Recording) -> None:
    """One role per model: it reads only its data, pulls only its image, writes only its
    artifacts; nothing in one model's role names another model."""
    bucket_arn = dev.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["arn"]
    key_arn = stack_key_arn(dev)
    churn = dev.one("aws:iam/role:Role", "pipeline-churn-execution")
    fraud = dev.one("aws:iam/role:Role", "pipeline-fraud-execution")
    assert churn.outputs["arn"] != fraud.outputs["arn"]
    assert churn.inputs["path"] == "/trainops/dev/"
    assert churn.outputs["arn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/trainops/dev/")
    (trust,) = json.loads(churn.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}

    text = dev.one(ROLE_POLICY, "pipeline-churn-execution-policy").inputs["policy"]
    assert "fraud" not in text
    policy = {s["Sid"]: s for s in json.loads(text)["Statement"]}
    assert policy["ReadTrainingData0"]["Resource"] == ["arn:aws:s3:::example-ml-data/churn/train/*"]
    assert policy["ListTrainingData1"]["Condition"] == {
        "StringLike": {"s3:prefix": ["churn/train/*"]}
    }
    assert policy["WriteOwnArtifacts"]["Resource"] == [
        f"{bucket_arn}/models/churn/*",
        f"{bucket_arn}/checkpoints/churn/*",
    ]
    assert policy["ListOwnArtifacts"]["Condition"] == {
        "StringLike": {"s3:prefix": ["models/churn/*", "checkpoints/churn/*"]}
    }
    assert policy["UseStackKey"]["Resource"] == [key_arn]
    assert policy["GrantStackKeyToSageMaker"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}
    }
    assert policy["PullTrainingImage"]["Resource"] == [
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/churn-train"
    ]
    assert policy["PassExecutionRoleToTrainingJobs"]["Resource"] == [churn.outputs["arn"]]
    # Clarify's bias metrics live in "aws/sagemaker/Endpoints/bias-metrics" (no leading slash).
    assert policy["SageMakerMetrics"]["Condition"] == {
        "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/Endpoints/*"]}
    }
    # The only "*" resources are the two actions AWS offers on "*" alone.
    star = sorted(a for s in policy.values() if s["Resource"] == "*" for a in s["Action"])
    assert star == ["cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"]


def test_training_data_access_follows_the_model(run_stack: RunStack) -> None:
    recording = run_stack("dev", {"trainops:models.churn.trainingData": "s3://other-bucket/churn/"})
    policy = role_policy(recording, "pipeline-churn-execution-policy")
    reads = [s["Resource"] for s in policy["Statement"] if s["Action"] == ["s3:GetObject"]]
    assert reads == [["arn:aws:s3:::other-bucket/churn/*"]]


def gated_steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return pd.declared_steps(document)


def test_prod_gates_churn_registration_on_its_evaluation(prod: offline.Recording) -> None:
    """Pulumi.prod.yaml turns the gate on for churn: evaluated on held-out data with the training
    image, compared with the threshold and the approved version, registered only on the
    Condition step's true branch."""
    models = configured_models("prod")
    evaluation = models["churn"]["evaluation"]
    key_arn = stack_key_arn(prod)
    document = definitions(prod)["trainops-prod--churn"]
    assert [s["Type"] for s in document["Steps"]] == ["Training", "Processing", "Condition"]
    steps = gated_steps(document)
    evaluate = steps["Evaluate"]["Arguments"]
    assert evaluate["AppSpecification"] == {
        "ImageUri": models["churn"]["image"],  # default: the training image
        "ContainerEntrypoint": evaluation["command"],
    }
    assert evaluate["ProcessingInputs"][1]["S3Input"]["S3Uri"] == evaluation["heldOutData"]
    assert evaluate["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key_arn
    assert evaluate["ProcessingOutputConfig"]["KmsKeyId"] == key_arn
    assert evaluate["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert {"Key": "trainops:model", "Value": "churn"} in evaluate["Tags"]
    check = steps["CheckEvaluation"]["Arguments"]
    # at least the threshold, and at least the approved version (compareWithApproved)
    assert evaluation["compareWithApproved"] is True
    threshold, approved = check["Conditions"]
    for condition in (threshold, approved):
        assert condition["Type"] == "GreaterThanOrEqualTo"
        assert condition["LeftValue"]["Std:JsonGet"]["Path"] == evaluation["metric"]
    assert threshold["RightValue"] == evaluation["threshold"]
    assert approved["RightValue"] == {"Get": "Parameters.ApprovedMetricValue"}
    assert [s["Name"] for s in check["IfSteps"]] == ["RegisterModel"]
    assert [s["Type"] for s in check["ElseSteps"]] == ["Fail"]
    metrics = check["IfSteps"][0]["Arguments"]["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert metrics["ContentType"] == "application/json"
    # the other models are as before
    for model in ("fraud", "forecast"):
        assert [s["Type"] for s in definitions(prod)[f"trainops-prod--{model}"]["Steps"]] == [
            "Training"
        ]


def test_the_outcome_handler_learns_the_gate_from_the_catalog(prod: offline.Recording) -> None:
    function = prod.one("aws:lambda/function:Function", "training-queue-outcome-function")
    catalog = json.loads(function.archive_file("trainops_runtime/catalog.json") or "{}")
    assert catalog["churn"]["evaluation"] == {
        "metric": "metrics.auc.value",
        "threshold": 0.8,
        "comparison": "GreaterThanOrEqualTo",
    }
    assert "evaluation" not in catalog["fraud"]


def test_the_evaluation_jobs_are_the_models_own_isolated_and_encrypted(
    prod: offline.Recording,
) -> None:
    key_arn = stack_key_arn(prod)
    bucket_arn = prod.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["arn"]
    role = prod.one("aws:iam/role:Role", "pipeline-churn-execution")
    text = prod.one(ROLE_POLICY, "pipeline-churn-execution-policy").inputs["policy"]
    assert "fraud" not in text
    assert "forecast" not in text
    policy = statements_by_sid(json.loads(text))
    jobs = [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/pipelines-*",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/pipelines-*",
    ]
    # training (ml.m5.2xlarge) and evaluation (ml.m5.xlarge) jobs are held to the same
    # conditions, so one statement covers both kinds
    assert "CreateIsolatedEncryptedTrainingJobs" not in policy
    create = policy["CreateIsolatedEncryptedJobs"]
    assert create["Action"] == ["sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob"]
    assert create["Resource"] == jobs
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/trainops:model": "churn"},
        "Bool": {
            "sagemaker:NetworkIsolation": "true",
            "sagemaker:InterContainerTrafficEncryption": "true",
        },
        "ArnEquals": {"sagemaker:VolumeKmsKey": key_arn, "sagemaker:OutputKmsKey": key_arn},
    }
    assert policy["TagJobsOnCreate"] == {
        "Sid": "TagJobsOnCreate",
        "Effect": "Allow",
        "Action": ["sagemaker:AddTags"],
        "Resource": jobs,
        "Condition": {
            "StringEquals": {
                "sagemaker:TaggingAction": ["CreateProcessingJob", "CreateTrainingJob"]
            }
        },
    }
    assert policy["FollowJobs"]["Action"] == [
        "sagemaker:DescribeProcessingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopProcessingJob",
        "sagemaker:StopTrainingJob",
    ]
    assert policy["FollowJobs"]["Resource"] == jobs
    assert policy["FollowJobs"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/trainops:model": "churn"}
    }
    # it passes itself (and only itself) to SageMaker's jobs
    assert policy["PassExecutionRoleToTrainingJobs"]["Resource"] == [role.outputs["arn"]]
    # reads the held-out data beside the training data; writes reports under its own prefix
    assert policy["ReadTrainingData0"]["Resource"] == [
        "arn:aws:s3:::example-ml-data/churn/holdout/*",
        "arn:aws:s3:::example-ml-data/churn/train/*",
    ]
    assert policy["ListTrainingData1"]["Condition"] == {
        "StringLike": {"s3:prefix": ["churn/holdout/*", "churn/train/*"]}
    }
    assert policy["WriteOwnArtifacts"]["Resource"] == [
        f"{bucket_arn}/models/churn/*",
        f"{bucket_arn}/checkpoints/churn/*",
        f"{bucket_arn}/evaluation/churn/*",
    ]
    assert policy["ListOwnArtifacts"]["Condition"] == {
        "StringLike": {"s3:prefix": ["models/churn/*", "checkpoints/churn/*", "evaluation/churn/*"]}
    }
    # a model without a gate gets none of it
    fraud = statements_by_sid(role_policy(prod, "pipeline-fraud-execution-policy"))
    assert {"CreateIsolatedEncryptedTrainingJobs", "FollowTrainingJobs"} <= set(fraud)
    assert "processing-job" not in json.dumps(fraud)
    assert "evaluation/" not in json.dumps(fraud)


def test_an_evaluation_image_and_local_storage_instance_are_granted_exactly(
    run_stack: RunStack,
) -> None:
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/churn-eval:3"
    recording = run_stack(
        "dev",
        {
            "trainops:models.churn.registerModel": {"enabled": True},
            "trainops:models.churn.evaluation": {
                "image": image,
                "command": ["evaluate"],
                "heldOutData": "s3://other-bucket/churn/holdout/",
                "instanceType": "ml.m5d.xlarge",
                "metric": "metrics.rmse.value",
                "threshold": 12.5,
                "comparison": "LessThanOrEqualTo",
                "compareWithApproved": True,
                "maxRuntimeMinutes": 30,
            },
        },
    )
    key_arn = stack_key_arn(recording)
    document = definitions(recording)["trainops-dev--churn"]
    assert {p["Name"]: p["DefaultValue"] for p in document["Parameters"]}[
        "ApprovedMetricValue"
    ] == 12.5
    evaluate = gated_steps(document)["Evaluate"]["Arguments"]
    assert evaluate["AppSpecification"]["ImageUri"] == image
    assert evaluate["StoppingCondition"] == {"MaxRuntimeInSeconds": 30 * 60}
    assert "VolumeKmsKeyId" not in evaluate["ProcessingResources"]["ClusterConfig"]
    policy = statements_by_sid(role_policy(recording, "pipeline-churn-execution-policy"))
    assert policy["PullTrainingImage"]["Resource"] == [
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/churn-eval",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/churn-train",
    ]
    # evaluation on local NVMe storage, training on EBS: a statement for each kind
    evaluation_jobs = policy["CreateIsolatedEncryptedEvaluationJobs"]
    assert evaluation_jobs["Action"] == ["sagemaker:CreateProcessingJob"]
    assert evaluation_jobs["Resource"] == [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/pipelines-*"
    ]
    condition = evaluation_jobs["Condition"]
    assert condition["StringEquals"] == {"aws:RequestTag/trainops:model": "churn"}
    assert condition["ArnEquals"] == {"sagemaker:OutputKmsKey": key_arn}
    assert condition["ForAllValues:StringEquals"] == {"sagemaker:InstanceTypes": ["ml.m5d.xlarge"]}
    # the training job keeps its own (EBS-backed) conditions
    training = policy["CreateIsolatedEncryptedTrainingJobs"]["Condition"]
    assert training["ArnEquals"] == {
        "sagemaker:VolumeKmsKey": key_arn,
        "sagemaker:OutputKmsKey": key_arn,
    }
    reads = [s["Resource"] for s in policy.values() if s["Action"] == ["s3:GetObject"]]
    assert reads == [
        ["arn:aws:s3:::example-ml-data/churn/train/*"],
        ["arn:aws:s3:::other-bucket/churn/holdout/*"],
    ]


def test_evaluation_without_registration_is_a_config_error(parse_with: ParseWith) -> None:
    from components.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_with(
            "dev",
            {
                "trainops:models.churn.evaluation": {
                    "command": ["evaluate"],
                    "heldOutData": "s3://example-ml-data/churn/holdout/",
                    "metric": "metrics.auc.value",
                    "threshold": 0.8,
                }
            },
        )
    (problem,) = raised.value.problems
    assert problem.startswith("trainops:models.churn: evaluation needs registerModel.enabled: true")


@pytest.mark.parametrize(
    ("training", "evaluation", "creates"),
    [
        ("ml.m5.xlarge", "ml.c5.2xlarge", {"CreateIsolatedEncryptedJobs"}),
        ("ml.g5.xlarge", "ml.g5.xlarge", {"CreateIsolatedEncryptedJobs"}),
        (
            "ml.g5.xlarge",
            "ml.m5.xlarge",
            {"CreateIsolatedEncryptedTrainingJobs", "CreateIsolatedEncryptedEvaluationJobs"},
        ),
    ],
    ids=["both-ebs", "same-local-type", "local-training-ebs-evaluation"],
)
def test_a_gated_models_job_statements_are_scoped_and_lint_clean(
    training: str, evaluation: str, creates: set[str]
) -> None:
    """One statement per job kind where their conditions differ, one for both where they agree;
    either way every create demands the model's tag, isolation and the stack key, and the
    document passes parliament."""
    from parliament import analyze_policy_string

    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    statements = pipeline_role_statements(
        CTX,
        "churn",
        instance_type=training,
        key_arn=key,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/trainops/dev/churn",
        model_package_group="trainops-dev--churn",
        evaluation_instance_type=evaluation,
    )
    document = iam.document(*statements)
    by_sid = statements_by_sid(document)
    assert {sid for sid in by_sid if sid.startswith("Create")} == creates
    processing = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:processing-job/pipelines-*"
    for sid in creates:
        condition = by_sid[sid]["Condition"]
        assert condition["StringEquals"] == {"aws:RequestTag/trainops:model": "churn"}
        assert condition["Bool"] == {
            "sagemaker:NetworkIsolation": "true",
            "sagemaker:InterContainerTrafficEncryption": "true",
        }
        assert condition["ArnEquals"]["sagemaker:OutputKmsKey"] == key
    assert any(processing in by_sid[sid]["Resource"] for sid in creates)
    for sid in ("TagJobsOnCreate", "FollowJobs"):
        assert processing in by_sid[sid]["Resource"]
    assert analyze_policy_string(json.dumps(document)).findings == []


def test_the_starters_find_the_approved_versions_metric_in_prod(prod: offline.Recording) -> None:
    """churn's gate compares with the approved version: both starters ship where its value is
    (the model's package group and its own report prefix) and may read exactly that."""
    bucket = prod.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["bucket"]
    prefix = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:"
    for function, policy in (
        ("training-queue-worker-function", "training-queue-worker-policy"),
        ("scheduled-retraining-start-function", "scheduled-retraining-start-policy"),
    ):
        shipped = prod.one("aws:lambda/function:Function", function)
        catalog = json.loads(shipped.archive_file("trainops_runtime/catalog.json") or "{}")
        assert catalog["churn"]["approvedMetric"] == {
            "packageGroup": "trainops-prod--churn",
            "metric": "metrics.auc.value",
            "reports": f"s3://{bucket}/evaluation/churn/",
        }
        assert "approvedMetric" not in catalog["fraud"]
        grants = statements_by_sid(role_policy(prod, policy))
        assert grants["FindApprovedVersions"]["Resource"] == [
            f"{prefix}model-package-group/trainops-prod--*",
            f"{prefix}model-package/trainops-prod--*/*",
        ]
        assert grants["ReadApprovedVersions"] == {
            "Sid": "ReadApprovedVersions",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage"],
            "Resource": [f"{prefix}model-package/trainops-prod--*/*"],
        }
        assert grants["ReadEvaluationReports"]["Action"] == ["s3:GetObject"]
        assert grants["ReadEvaluationReports"]["Resource"] == [
            f"arn:aws:s3:::{bucket}/evaluation/*"
        ]
        assert grants["DecryptEvaluationReports"]["Resource"] == [stack_key_arn(prod)]


def test_without_a_comparing_gate_the_starters_read_no_registry(dev: offline.Recording) -> None:
    grants = json.dumps(role_policy(dev, "training-queue-worker-policy"))
    assert "ModelPackage" not in grants
    assert "evaluation/" not in grants
