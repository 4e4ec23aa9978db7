"""The destination role: read-only access to a destination registry for the operations commands."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from ..model.checks import FieldChecks
from ..model.policies import Statement, destination_role_permission_statements
from ..model.registries import Grant, Registry, union_prefixes
from ..model.roles import RoleSettings
from ..naming import destination_role_arn, destination_role_name, destination_stack_name
from .tooling_role import ToolingRole, whole_accounts_trusted
from .warnings import WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT

__all__ = [
    "WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT",
    "WILDCARD_REASONS",
    "ReplicationDestinationRole",
    "whole_accounts_trusted",
]

WILDCARD_REASONS = {
    "ReadReplicatedImages": "a replication grant covers every repository under its prefix, "
    "including the ones replication creates later, so the repository ARN must end in '*'",
    "ReadRegistrySettings": "ec2:DescribeRegions, ecr:DescribeRepositoryCreationTemplates, "
    "ecr:GetRegistryPolicy and ecr:GetAccountSetting have no resource type in IAM; '*' is the "
    "only Resource IAM accepts for them (a condition on the setting's name holds "
    "ecr:GetAccountSetting to REGISTRY_POLICY_SCOPE)",
    "ReadRegistryPolicyScope": "ecr:GetAccountSetting has no resource type in IAM; '*' is the "
    "only Resource IAM accepts for it, and a condition on the setting's name holds it to "
    "REGISTRY_POLICY_SCOPE",
    "ReadDestinationStack": "a stack ARN ends in the id CloudFormation gives each stack "
    "version, unknown before the stack exists; the name is fixed",
}
"""Why each of the role's own statements needs a wildcard resource, by statement id."""


class ReplicationDestinationRole(ToolingRole):
    """A read-only IAM role in a destination account for the operations commands.

    ECR does **not** use this role to replicate: the registry policy does that. The operations
    commands (``preflight``, ``verify``, ``cost``, ``backfill --dry-run``) assume it to read the
    destination registry, so it may do exactly what they call and nothing else:
    ``ecr:DescribeImages`` and ``ecr:BatchGetImage`` (what ``ListImageReferrers`` needs, for
    ``verify --referrers``) on the granted repositories; ``ecr:GetRegistryPolicy``,
    ``ecr:DescribeRepositoryCreationTemplates`` and ``ec2:DescribeRegions`` (no resource type in
    IAM, so ``*``); ``ecr:GetAccountSetting`` (``*``) for the setting ``REGISTRY_POLICY_SCOPE``
    only; ``account:GetRegionOptStatus`` on the account's own ``account`` resource;
    ``cloudformation:DescribeStackResources`` on the destination stack. It carries no write
    action: a role that may ``ecr:CreateRepository`` would let whoever may assume it create a
    destination repository before replication does, with ECR's defaults instead of the
    repository creation template.

    Trusted for ``sts:AssumeRole`` by ``trusted_accounts`` (default: the source accounts of
    ``grants``; the topology's stacks pass the operations account when it has one), or only by
    ``settings.trusted_principal_arns``, optionally conditioned on an external id and an
    organization. A trust that admits whole accounts without a condition synthesizes with the
    warning ``ecr-replication:roleTrustsWholeAccount``.

    :param grants: the sources that replicate into this registry, with their prefixes
        (their prefixes scope the read access).
    :param settings: trust options. Default: ``RoleSettings()``, no conditions.
        ``settings.enabled`` False is refused: leave the construct out.
    :param role_name: Default: ``ecr-replication-destination-<region>`` (the operations
        commands look for this name). IAM role names are unique per account: two roles of one
        name in one account (in any regions) are refused at synthesis.
    :param trusted_accounts: the accounts whose principals may assume the role. Default: the
        source accounts of ``grants``.

    Extension points: override :meth:`trust_statements` or :meth:`permission_statements`;
    both run at synthesis and return plain IAM statements.

    :ivar resource: the ``CfnRole`` (escape hatch).
    """

    KIND = "destination"
    POLICY_NAME = "ReadReplicas"
    DESCRIPTION = (
        "Read-only access for the ecr-replication operations commands to this "
        "destination registry; ECR replicates through the registry policy, not this role"
    )
    WILDCARD_REASONS = WILDCARD_REASONS
    TRUST_FIELD = "grants"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        grants: Sequence[Grant],
        settings: RoleSettings | None = None,
        role_name: str | None = None,
        trusted_accounts: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        checks = FieldChecks()
        self._grants: tuple[Grant, ...] = checks.sequence(
            "grants", grants, Grant, "a list of Grant", item_name="a Grant"
        )
        self._check_common(
            checks, settings=settings, role_name=role_name, trusted_accounts=trusted_accounts
        )
        if trusted_accounts is None:
            self._trusted_accounts = tuple(dict.fromkeys(g.source.account for g in self._grants))
        self._build(
            role_name or destination_role_name(self._environment.region),
            ReplicationDestinationRole,
        )

    @staticmethod
    def role_arn_of(registry: Registry, role_name: str | None = None) -> str:
        return destination_role_arn(registry, role_name)

    @property
    def grants(self) -> tuple[Grant, ...]:
        return self._grants

    def permission_statements(self) -> list[Statement]:
        """The role's permissions as plain IAM statements. Overridable; runs at synthesis."""
        env = self._environment
        return destination_role_permission_statements(
            partition=env.partition,
            region=env.region,
            account=env.account,
            prefixes=union_prefixes(g.repository_prefixes for g in self.grants),
            stack_name=destination_stack_name(env),
        )

    def _nobody_trusted(self) -> str:
        return (
            "the role trusts nobody; pass the grants of the sources replicating into this "
            "registry, trusted_accounts, or settings.trusted_principal_arns"
        )
