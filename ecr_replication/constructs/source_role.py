"""The source role: read-only access to a source registry for the operations commands, when
they run from an operations account."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from ..model.checks import FieldChecks
from ..model.policies import Statement, source_role_permission_statements
from ..model.registries import Registry, ReplicationRule, union_prefixes
from ..model.roles import RoleSettings
from ..naming import source_role_arn, source_role_name
from .tooling_role import ToolingRole

WILDCARD_REASONS = {
    "ListRepositories": "IAM authorizes a DescribeRepositories listing (no repository names) on "
    "repository/*; the listing is filtered by the replication rules afterwards",
    "ReadReplicatedImages": "a replication rule covers every repository under its prefix, "
    "including the ones created later, so the repository ARN must end in '*'",
    "ReadRegistrySettings": "ec2:DescribeRegions and ecr:DescribeRegistry have no resource "
    "type in IAM; '*' is the only Resource IAM accepts for them",
    "BackfillReplication": "ecr:StartReplicationBackfill, ecr:ListReplicationBackfills, "
    "ecr:DescribeReplicationBackfillResults and ecr:StopReplicationBackfill have no resource "
    "type in IAM; '*' is the only Resource IAM accepts for them",
}
"""Why each of the role's own statements needs a wildcard resource, by statement id."""


class ReplicationSourceRole(ToolingRole):
    """A read-only IAM role in a source account, for the operations commands run from an
    operations account (topology key ``operations``).

    It may do exactly what ``preflight``, ``verify``, ``cost`` and ``backfill --dry-run`` call
    in the source registry, on the narrowest resources IAM supports:
    ``ecr:DescribeRepositories`` on ``repository/*`` (a listing); ``ecr:DescribeImages``,
    ``ecr:DescribeImageReplicationStatus`` and ``ecr:BatchGetImage`` (what
    ``ListImageReferrers`` needs, for ``verify --referrers``) on the replicated repositories
    (the rules' prefixes); ``ecr:DescribeRegistry`` and ``ec2:DescribeRegions`` (no resource
    type, ``*``); ``account:GetRegionOptStatus`` on the account's own ``account`` resource. With
    ``allow_backfill`` also ``ecr:StartReplicationBackfill``, ``ecr:ListReplicationBackfills``,
    ``ecr:DescribeReplicationBackfillResults`` and ``ecr:StopReplicationBackfill`` (``*``):
    the only write it can be given, and only when asked.

    :param rules: the registry's replication rules (their prefixes scope the image reads).
    :param trusted_accounts: the accounts whose principals may assume it (the operations
        account).
    :param settings: trust options (``trusted_principal_arns``, ``external_id``,
        ``principal_org_id``; the topology's stacks use ``destinationDefaults.role``).
        Default: ``RoleSettings()``, no conditions.
    :param allow_backfill: add the backfill actions. Default: False.
    :param role_name: Default: ``ecr-replication-source-<region>`` (the operations commands
        look for this name; ``--source-role-name`` overrides it).

    Extension points: override :meth:`trust_statements` or :meth:`permission_statements`;
    both run at synthesis and return plain IAM statements.

    :ivar resource: the ``CfnRole`` (escape hatch).
    """

    KIND = "source"
    POLICY_NAME = "ReadSourceRegistry"
    DESCRIPTION = (
        "Read-only access for the ecr-replication operations commands, run from the "
        "operations account, to this source registry"
    )
    WILDCARD_REASONS = WILDCARD_REASONS

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rules: Sequence[ReplicationRule],
        trusted_accounts: Sequence[str],
        settings: RoleSettings | None = None,
        allow_backfill: bool = False,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        checks = FieldChecks()
        self._rules: tuple[ReplicationRule, ...] = checks.sequence(
            "rules", rules, ReplicationRule, "a list of ReplicationRule", item_name="a rule"
        )
        checks.boolean("allow_backfill", allow_backfill)
        self._allow_backfill = allow_backfill
        self._check_common(
            checks, settings=settings, role_name=role_name, trusted_accounts=trusted_accounts
        )
        self._build(role_name or source_role_name(self._environment.region), ReplicationSourceRole)

    @staticmethod
    def role_arn_of(registry: Registry, role_name: str | None = None) -> str:
        return source_role_arn(registry, role_name)

    @property
    def rules(self) -> tuple[ReplicationRule, ...]:
        return self._rules

    @property
    def allow_backfill(self) -> bool:
        return self._allow_backfill

    def permission_statements(self) -> list[Statement]:
        """The role's permissions as plain IAM statements. Overridable; runs at synthesis."""
        env = self._environment
        return source_role_permission_statements(
            partition=env.partition,
            region=env.region,
            account=env.account,
            prefixes=union_prefixes(r.repository_prefixes for r in self.rules),
            allow_backfill=self.allow_backfill,
        )
