"""Names and ARNs that the CDK side and the operations side must agree on, built in one place.

The operations commands find what the constructs created by these names, so changing one is a
breaking change for deployed set-ups. A leaf module: it imports nothing of the package, so the
model, the constructs, the review and the operations commands may all use it.

Arguments may be CDK tokens (an environment-agnostic stack's account or partition); nothing
here inspects them.
"""

from __future__ import annotations

from typing import Protocol


class RegistryLike(Protocol):
    """What naming needs of a registry (``ecr_replication.model.Registry`` has it)."""

    @property
    def account(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def partition(self) -> str: ...


DESTINATION_ROLE_NAME_PREFIX = "ecr-replication-destination-"
"""The destination role is ``ecr-replication-destination-<region>``.

IAM role names are unique per account, so the region in the name keeps one account that is a
destination in several regions from having two stacks fight over one role.
"""

SOURCE_ROLE_NAME_PREFIX = "ecr-replication-source-"
"""The source role (with an operations account) is ``ecr-replication-source-<region>``."""

TEMPLATE_ROLE_NAME_PREFIX = "ecr-replication-template-"
"""The role ECR assumes for KMS or tags in repository creation templates, per region."""

GUARD_PLUGIN = "cdk-validator-cfnguard"
"""The name of AWS Control Tower's validation plugin in ``validation-report.json``."""
GUARD_METADATA = "ecr-replication:guard"
"""Stack metadata written when the Control Tower checks ran at synth (``enable_guard``): the
validation report lists a plugin only when it found something, so this says it ran."""

SESSION_NAME = "ecr-replication"
"""The STS session name of the operations commands: CloudTrail shows this tool as the caller."""


def destination_role_name(region: str) -> str:
    return f"{DESTINATION_ROLE_NAME_PREFIX}{region}"


def source_role_name(region: str) -> str:
    return f"{SOURCE_ROLE_NAME_PREFIX}{region}"


def template_role_name(region: str) -> str:
    return f"{TEMPLATE_ROLE_NAME_PREFIX}{region}"


def account_root_arn(partition: str, account: str) -> str:
    """``arn:PARTITION:iam::ACCOUNT:root``: the principal that stands for a whole account."""
    return f"arn:{partition}:iam::{account}:root"


def account_arn(partition: str, account: str) -> str:
    """The ``account`` resource of the Account Management API (``account:GetRegionOptStatus``)."""
    return f"arn:{partition}:account::{account}:account"


def role_arn(partition: str, account: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{name}"


def repository_arn(partition: str, region: str, account: str, pattern: str) -> str:
    """An ECR repository ARN; ``pattern`` is a repository name or an IAM pattern (``prod/*``)."""
    return f"arn:{partition}:ecr:{region}:{account}:repository/{pattern}"


def stack_arn(partition: str, region: str, account: str, name: str) -> str:
    """Every version of a CloudFormation stack of this name (``.../stack/NAME/*``)."""
    return f"arn:{partition}:cloudformation:{region}:{account}:stack/{name}/*"


def destination_role_arn(registry: RegistryLike, name: str | None = None) -> str:
    """The destination role of a registry (``name`` default: :func:`destination_role_name`)."""
    return role_arn(
        registry.partition, registry.account, name or destination_role_name(registry.region)
    )


def source_role_arn(registry: RegistryLike, name: str | None = None) -> str:
    """The source role of a registry (``name`` default: :func:`source_role_name`)."""
    return role_arn(registry.partition, registry.account, name or source_role_name(registry.region))


def source_stack_name(registry: RegistryLike) -> str:
    return f"EcrReplicationSource-{registry.account}-{registry.region}"


def destination_stack_name(registry: RegistryLike) -> str:
    return f"EcrReplicationDestination-{registry.account}-{registry.region}"


def monitoring_stack_name(registry: RegistryLike) -> str:
    return f"EcrReplicationMonitoring-{registry.account}-{registry.region}"
