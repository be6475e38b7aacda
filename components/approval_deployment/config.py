"""`trainops:approvalDeployment`: whether approved model versions are deployed to their
endpoints (which models: `models.<name>.endpoint.deployOnApproval`)."""

from __future__ import annotations

from components.platform.config_types import ConfigModel, feature_switch


class ApprovalDeploymentConfig(ConfigModel):
    """Deploying each version a person approves in a model's package group to the model's
    endpoint, blue/green with automatic rollback on the endpoint's alarms."""

    enabled: bool = feature_switch("approval-driven deployment")
