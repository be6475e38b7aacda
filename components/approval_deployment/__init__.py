"""Approval-driven deployment: a version approved in a model's package group replaces the one its
endpoint serves, blue/green with automatic rollback (`component.ApprovalDeployment`)."""

from components.approval_deployment.component import ApprovalDeployment, ApprovalDeploymentArgs

__all__ = ["ApprovalDeployment", "ApprovalDeploymentArgs"]
