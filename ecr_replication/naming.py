"""Names shared by the CDK side and the operations side, computed in one place.

The operations commands find what the constructs created by these names, so changing one is a
breaking change for deployed set-ups.
"""

from __future__ import annotations

from .topology import Registry

DESTINATION_ROLE_NAME_PREFIX = "ecr-replication-destination-"
"""The destination assumable role is ``ecr-replication-destination-<region>``.

IAM role names are global to an account, so the region in the name keeps one account that is a
destination in several regions from having two stacks fight over one role.
"""

TEMPLATE_ROLE_NAME_PREFIX = "ecr-replication-template-"
"""The role ECR assumes for KMS or tags in repository creation templates, per region."""

SESSION_NAME = "ecr-replication"
"""The STS session name of the operations commands: CloudTrail shows this tool as the caller."""


def destination_role_name(region: str) -> str:
    return f"{DESTINATION_ROLE_NAME_PREFIX}{region}"


def template_role_name(region: str) -> str:
    return f"{TEMPLATE_ROLE_NAME_PREFIX}{region}"


def destination_role_arn(registry: Registry, role_name: str | None = None) -> str:
    name = role_name or destination_role_name(registry.region)
    return f"arn:{registry.partition}:iam::{registry.account}:role/{name}"


def source_stack_name(registry: Registry) -> str:
    return f"EcrReplicationSource-{registry.account}-{registry.region}"


def destination_stack_name(registry: Registry) -> str:
    return f"EcrReplicationDestination-{registry.account}-{registry.region}"
