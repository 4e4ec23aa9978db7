"""The destination role: read-only access to a destination registry for the operations commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

from ..errors import Problem, ReplicationConfigError
from ..model.checks import FieldChecks
from ..model.iam import applies_to_action, as_list, principal_names
from ..model.limits import ACCOUNT_PATTERN, IAM_ROLE_NAME_PATTERN
from ..model.policies import (
    ASSUME_ROLE_ACTION,
    Statement,
    destination_role_permission_statements,
    policy_document,
    trust_statement,
)
from ..model.values import Grant, Registry, RoleSettings, union_prefixes
from ..naming import (
    account_root_arn,
    destination_role_arn,
    destination_role_name,
    destination_stack_name,
)
from .nag import acknowledge_wildcard_resources
from .support import at_synthesis, claim_role_name, lazy, overrides, stack_environment
from .warnings import WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT, quiet_stack_traces, warn

WILDCARD_REASONS = {
    "ReadReplicatedImages": "a replication grant covers every repository under its prefix, "
    "including the ones replication creates later, so the repository ARN must end in '*'",
    "ReadRegistrySettings": "ec2:DescribeRegions, ecr:DescribeRepositoryCreationTemplates and "
    "ecr:GetRegistryPolicy have no resource type in IAM; '*' is the only Resource IAM accepts "
    "for them",
    "ReadDestinationStack": "a stack ARN ends in the id CloudFormation gives each stack "
    "version, unknown before the stack exists; the name is fixed",
}
"""Why each of the role's own statements needs a wildcard resource, by statement id."""


class ReplicationDestinationRole(Construct):
    """A read-only IAM role in a destination account for the operations commands.

    ECR does **not** use this role to replicate: the registry policy does that. The operations
    commands (``preflight``, ``verify``, ``backfill --dry-run``) assume it to read the
    destination registry, so it may do exactly what they call and nothing else:
    ``ecr:DescribeImages`` on the granted repositories; ``ecr:GetRegistryPolicy``,
    ``ecr:DescribeRepositoryCreationTemplates`` and ``ec2:DescribeRegions`` (no resource type in
    IAM, so ``*``); ``account:GetRegionOptStatus`` on the account's own ``account`` resource.
    It carries no write action: a role that may ``ecr:CreateRepository`` would let whoever may
    assume it create a destination repository before replication does, with ECR's defaults
    instead of the repository creation template.

    Trusted by the source accounts of ``grants`` for ``sts:AssumeRole`` (or only by
    ``settings.trusted_principal_arns``), optionally conditioned on an external id and an
    organization. A trust that admits whole accounts without a condition synthesizes with the
    warning ``ecr-replication:roleTrustsWholeAccount``.

    :param grants: the sources that replicate into this registry, with their prefixes
        (their accounts are trusted, their prefixes scope the read access).
    :param settings: trust options. Default: ``RoleSettings()``, trust every source account
        without conditions. ``settings.enabled`` False is refused: leave the construct out.
    :param role_name: Default: ``ecr-replication-destination-<region>`` (the operations
        commands look for this name). IAM role names are unique per account: two roles of one
        name in one account (in any regions) are refused at synthesis.

    Extension points: override :meth:`trust_statements` or :meth:`permission_statements`;
    both run at synthesis and return plain IAM statements.

    :ivar resource: the ``CfnRole`` (escape hatch).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        grants: Sequence[Grant],
        settings: RoleSettings | None = None,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        checks = FieldChecks()
        self._grants: tuple[Grant, ...] = checks.sequence(
            "grants", grants, Grant, "a list of Grant", item_name="a Grant"
        )
        settings = RoleSettings() if settings is None else settings
        if checks.instance("settings", settings, RoleSettings, "a RoleSettings") and (
            settings.enabled is False
        ):
            checks.add(
                "settings.enabled",
                "False is not allowed here: this construct always creates the role; leave it "
                "out instead (the topology's stacks read role.enabled)",
            )
        if role_name is not None and not (
            isinstance(role_name, str) and IAM_ROLE_NAME_PATTERN.match(role_name)
        ):
            checks.add(
                "role_name",
                f"{role_name!r} is not an IAM role name: 1 to 64 letters, digits and + = , . @ _ -",
            )
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)
        self._settings = settings
        name = role_name or destination_role_name(self._environment.region)
        claim_role_name(self, name)
        self._imported_role: iam.IRole | None = None
        # The hooks run at synthesis when a subclass overrides them. The base class's own
        # statements depend only on the grants, settings and stack, which cannot change after
        # construction, so they are written now: the same documents, no round trip at synth.
        trust: Any
        permissions: Any
        rendered_later = overrides(
            self, ReplicationDestinationRole, "trust_statements", "permission_statements"
        )
        if rendered_later:
            trust = lazy(lambda: policy_document(self.trust_statements()))
            permissions = lazy(lambda: policy_document(self.permission_statements()))
        else:
            if problem := self._check(self.trust_statements()):
                raise ReplicationConfigError([Problem(f"{self.node.path}.grants", problem)])
            if whole_accounts_trusted(self.trust_statements()):
                quiet_stack_traces(self)  # before any child: this construct warns below
            trust = policy_document(self.trust_statements())
            permissions = policy_document(self.permission_statements())
        # The L1 with plain policy documents (typed properties, so that tools reading the
        # construct tree, such as cdk-nag, see them too).
        self.resource = iam.CfnRole(
            self,
            "Resource",
            role_name=name,
            description=(
                "Read-only access for the ecr-replication operations commands to this "
                "destination registry; ECR replicates through the registry policy, not this role"
            ),
            assume_role_policy_document=trust,
            policies=[
                iam.CfnRole.PolicyProperty(policy_name="ReadReplicas", policy_document=permissions)
            ],
        )
        if rendered_later:
            at_synthesis(self, self._at_synthesis)
        else:
            self._warn_and_acknowledge(self.trust_statements(), self.permission_statements())

    @classmethod
    def from_registry(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        account: str,
        region: str,
        role_name: str | None = None,
    ) -> iam.IRole:
        """The destination role of a registry, by its deterministic name, as an ``IRole``.

        For tooling stacks that need to ``grant_assume_role`` it. Imported immutable: grants
        never widen a role that tooling assumes.
        """
        registry = Registry(account=account, region=region)
        return iam.Role.from_role_arn(
            scope, construct_id, destination_role_arn(registry, role_name), mutable=False
        )

    @property
    def grants(self) -> tuple[Grant, ...]:
        return self._grants

    @property
    def settings(self) -> RoleSettings:
        return self._settings

    @property
    def role(self) -> iam.IRole:
        """The role as an ``aws_iam.IRole`` (immutable: grants never widen it)."""
        if self._imported_role is None:
            self._imported_role = iam.Role.from_role_arn(
                self, "Role", self.resource.attr_arn, mutable=False
            )
        return self._imported_role

    @property
    def role_arn(self) -> str:
        """The role's ARN (a token: ``Fn::GetAtt``)."""
        return self.resource.attr_arn

    @property
    def role_name(self) -> str:
        """The role's name (a token: ``Ref``)."""
        return self.resource.ref

    def trust_statements(self) -> list[Statement]:
        """Who may assume the role (``sts:AssumeRole``), with the configured conditions.

        Overridable; runs at synthesis.
        """
        s = self.settings
        principals = list(
            dict.fromkeys(
                s.trusted_principal_arns
                or [account_root_arn(g.source.partition, g.source.account) for g in self.grants]
            )
        )
        if not principals:
            return []
        return [
            trust_statement(
                principals, external_id=s.external_id, principal_org_id=s.principal_org_id
            )
        ]

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

    def _at_synthesis(self) -> list[str]:
        trust = self.trust_statements()
        if problem := self._check(trust):
            return [f"{self.node.path}: {problem}"]
        self._warn_and_acknowledge(trust, self.permission_statements())
        return []

    @staticmethod
    def _check(trust: Sequence[Statement]) -> str | None:
        if any(principal_names(s.get("Principal")) for s in trust):
            return None
        return (
            "the role trusts nobody; pass the grants of the sources replicating into this "
            "registry, or settings.trusted_principal_arns"
        )

    def _warn_and_acknowledge(
        self, trust: Sequence[Statement], permissions: Sequence[Statement]
    ) -> None:
        self._acknowledge_wildcards(permissions)
        if whole := whole_accounts_trusted(trust):
            warn(
                self,
                WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT,
                f"the destination role may be assumed by any principal of {', '.join(whole)} "
                "that is allowed sts:AssumeRole: the trust names whole accounts without a "
                "condition. Narrow it: in the topology set role.externalId, "
                "role.trustedPrincipalArns or role.principalOrgId (in Python "
                "RoleSettings(external_id=..., trusted_principal_arns=..., "
                "principal_org_id=...)), or override trust_statements().",
            )

    def _acknowledge_wildcards(self, statements: Sequence[Statement]) -> None:
        """Acknowledge cdk-nag's wildcard finding for the library's own statements, each with
        the reason of its statement; a wildcard in any other statement stays a finding."""
        groups = [
            (as_list(s.get("Resource")), WILDCARD_REASONS[str(s.get("Sid"))])
            for s in statements
            if s.get("Effect") == "Allow" and str(s.get("Sid")) in WILDCARD_REASONS
        ]
        acknowledge_wildcard_resources(self.resource, *groups)


def whole_accounts_trusted(statements: Sequence[Statement]) -> list[str]:
    """The accounts (or ``anyone``) that an unconditional ``sts:AssumeRole`` trust admits whole.

    Read from the statements as deployed: an account root, a bare account id or ``*`` in an
    ``Allow`` without a ``Condition``.
    """
    found: list[str] = []
    for statement in statements:
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if not applies_to_action(statement, ASSUME_ROLE_ACTION):
            continue
        for name in principal_names(statement.get("Principal")):
            if name == "*":
                found.append("anyone (*)")
            elif ACCOUNT_PATTERN.match(name) or name.endswith(":root"):
                account = name if ACCOUNT_PATTERN.match(name) else name.split(":")[4]
                found.append(f"account {account}")
    return list(dict.fromkeys(found))
