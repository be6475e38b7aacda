"""An optional SageMaker notebook for exploring runs and events (part of TrainingEventStore).

Hardened: encrypted with the stack key, no root access, IMDSv2 only, no direct internet access
when it runs in a VPC subnet, and a lifecycle configuration that stops it after
`idleMinutes` without kernel activity, so a forgotten notebook does not bill for weeks. Its
role may read the artifacts and the event tables, and stop only itself.
"""

from __future__ import annotations

import base64

import pulumi
import pulumi_aws as aws

from components.event_sourcing.config import NotebookConfig
from components.platform import iam, naming
from components.platform.roles import service_role

# Runs at every start: installs a cron job that stops the instance once every kernel has been
# idle for the configured time (only the standard library and the AWS CLI on the image).
AUTOSTOP = """#!/bin/bash
set -euo pipefail
cat > /usr/local/bin/trainops-autostop.py <<'PY'
import datetime, json, ssl, subprocess, sys, urllib.request
IDLE_MINUTES = int(sys.argv[1])
context = ssl._create_unverified_context()  # the notebook server's own self-signed certificate
kernels = json.load(urllib.request.urlopen("https://localhost:8443/api/kernels", context=context))
now = datetime.datetime.now(datetime.timezone.utc)
def idle(kernel):
    last = datetime.datetime.fromisoformat(kernel["last_activity"].replace("Z", "+00:00"))
    return kernel["execution_state"] == "idle" and (now - last).total_seconds() > IDLE_MINUTES * 60
uptime = float(open("/proc/uptime").read().split()[0])
if all(idle(k) for k in kernels) and uptime > IDLE_MINUTES * 60:
    name = json.load(open("/opt/ml/metadata/resource-metadata.json"))["ResourceName"]
    command = ["aws", "sagemaker", "stop-notebook-instance", "--notebook-instance-name", name]
    subprocess.run(command, check=True)
PY
CHECK="/usr/bin/python3 /usr/local/bin/trainops-autostop.py __IDLE__"
echo "*/5 * * * * root $CHECK" > /etc/cron.d/trainops-autostop
"""


def autostop_script(idle_minutes: int) -> str:
    return AUTOSTOP.replace("__IDLE__", str(idle_minutes))


def build_notebook(
    name: str,
    config: NotebookConfig,
    *,
    ctx: iam.AwsContext,
    key_arn: pulumi.Input[str],
    artifacts_bucket_arn: pulumi.Input[str],
    table_arns: list[pulumi.Output[str]],
    parent: pulumi.Resource,
) -> aws.sagemaker.NotebookInstance:
    child = pulumi.ResourceOptions(parent=parent)
    notebook_name = naming.physical_name("notebook", max_length=63)
    role = service_role(
        f"{name}-role",
        service="sagemaker",
        ctx=ctx,
        parent=parent,
        description="trainops notebook: read artifacts and events, stop itself",
        policy_name=f"{name}-policy",
        statements=[
            iam.allow(
                ["s3:GetObject", "s3:ListBucket"],
                [artifacts_bucket_arn, pulumi.Output.concat(artifacts_bucket_arn, "/*")],
                sid="ReadArtifacts",
            ),
            iam.allow(
                ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
                table_arns,
                sid="ReadEvents",
            ),
            iam.allow(
                ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance"],
                [ctx.arn("sagemaker", f"notebook-instance/{notebook_name}")],
                sid="StopItself",
            ),
            iam.use_key(key_arn, sid="StackKey"),
            iam.allow(
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                [
                    ctx.arn("logs", "log-group:/aws/sagemaker/NotebookInstances"),
                    ctx.arn("logs", "log-group:/aws/sagemaker/NotebookInstances:log-stream:*"),
                ],
                sid="NotebookLogs",
            ),
        ],
    ).role
    lifecycle = aws.sagemaker.NotebookInstanceLifecycleConfiguration(
        f"{name}-lifecycle",
        name=naming.physical_name("notebook-autostop", max_length=63),
        on_start=base64.b64encode(autostop_script(config.idle_minutes).encode()).decode(),
        opts=child,
    )
    in_vpc = config.subnet_id is not None
    return aws.sagemaker.NotebookInstance(
        name,
        name=notebook_name,
        role_arn=role.arn,
        instance_type=config.instance_type,
        volume_size=config.volume_size_gb,
        kms_key_id=key_arn,
        root_access="Disabled",
        direct_internet_access="Disabled" if in_vpc else "Enabled",
        subnet_id=config.subnet_id,
        security_groups=list(config.security_group_ids) or None,
        instance_metadata_service_configuration={"minimum_instance_metadata_service_version": "2"},
        lifecycle_config_name=lifecycle.name,
        opts=child,
    )
