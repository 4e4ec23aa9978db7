"""The destination role: read access to a destination registry for the operations commands."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..model.iam import principal_names
from ..model.policies import (
    Statement,
    destination_role_permission_statements,
    policy_document,
    repository_arns,
    trust_statement,
)
from ..model.values import Grant, RoleSettings, union_prefixes
from ..naming import account_root_arn, destination_role_name
from .nag import acknowledge_wildcard_resources
from .support import SynthValidation, claim_registry, lazy, stack_environment

WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT = "ecr-replication:roleTrustsWholeAccount"


class ReplicationDestinationRole(Construct):
    """An IAM role in the destination account for tooling that runs in the source account.

    ECR does **not** use this role to replicate (the registry policy does that); the
    operations commands assume it to read the destination registry. Trusted by the source
    accounts of ``grants`` for ``sts:AssumeRole`` (or only by ``settings.trusted_principal_arns``),
    optionally conditioned on an external id and an organization.

    :param grants: the sources that replicate into this registry, with their prefixes.
    :param settings: trust options. Default: trust every source account, no conditions.
    :param role_name: Default: ``ecr-replication-destination-<region>`` (unique per account
        and region; the operations commands look for this name).
    :param allow_create_repository: include ``ecr:CreateRepository``. Default: True; pass the
        registry policy's setting so the role never allows more than the registry does.

    Extension points: override :meth:`trust_statements` or :meth:`permission_statements`;
    both run at synthesis and return plain IAM statements, e.g. to trust a CI role only::

        class TrustedByCi(ReplicationDestinationRole):
            def trust_statements(self):
                return [{"Effect": "Allow", "Action": "sts:AssumeRole",
                         "Principal": {"AWS": "arn:aws:iam::555444333222:role/ci"}}]

    :ivar resource: the ``CfnRole`` (escape hatch); ``role_arn`` and ``role_name`` its
        attributes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        grants: Sequence[Grant],
        settings: RoleSettings | None = None,
        role_name: str | None = None,
        allow_create_repository: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        # IAM role names are global to an account: a second role of this name in the same
        # account and region would fail at deploy time, so refuse it at synth.
        claim_registry(self, "a destination role")
        self.settings = settings or RoleSettings()
        self.allow_create_repository = allow_create_repository
        self.grants = tuple(grants)
        # The L1 with plain policy documents, like the registry policy: what is reviewed is
        # exactly what is deployed, and synthesis stays close to hand-written CloudFormation.
        # The L1 with plain policy documents produced at synthesis (typed properties, so
        # that tools reading the construct tree, such as cdk-nag, see them too).
        self.resource = iam.CfnRole(
            self,
            "Resource",
            role_name=role_name or destination_role_name(self._environment.region),
            description=(
                "Lets ecr-replication tooling in the source accounts read this destination "
                "registry; ECR replicates through the registry policy, not this role"
            ),
            assume_role_policy_document=lazy(lambda: policy_document(self.trust_statements())),
            policies=[
                iam.CfnRole.PolicyProperty(
                    policy_name="ReadReplicas",
                    policy_document=lazy(lambda: policy_document(self.permission_statements())),
                )
            ],
        )
        self.node.add_validation(SynthValidation(self._synth_problems))
        acknowledge_wildcard_resources(
            self.resource,
            self.repository_arns(),
            "a replication grant covers every repository under its prefix, including the "
            "ones replication creates later, so the repository ARN must end in '*'",
        )
        acknowledge_wildcard_resources(
            self.resource,
            ["*"],
            "account:GetRegionOptStatus, ec2:DescribeRegions, ecr:DescribeRegistry, "
            "ecr:DescribeRepositoryCreationTemplates and ecr:GetRegistryPolicy have no "
            "resource-level permissions; '*' is the only Resource IAM accepts for them",
        )
        s = self.settings
        named = bool(s.trusted_principal_arns) and not any(
            arn.endswith(":root") for arn in s.trusted_principal_arns
        )
        if not (s.external_id or s.principal_org_id or named):
            Annotations.of(self).add_warning_v2(
                WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT,
                "the destination role trusts whole source accounts without conditions; any "
                "principal there that is allowed sts:AssumeRole can read this registry. Set "
                "role.externalId, role.trustedPrincipalArns or role.principalOrgId.",
            )

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

    def repository_arns(self) -> list[str]:
        """The granted repositories of this registry (``repository/<prefix>*``)."""
        env = self._environment
        prefixes = union_prefixes(g.repository_prefixes for g in self.grants)
        return repository_arns(env.partition, env.region, env.account, prefixes)

    def permission_statements(self) -> list[Statement]:
        """The role's permissions as plain IAM statements. Overridable; runs at synthesis."""
        env = self._environment
        return destination_role_permission_statements(
            partition=env.partition,
            region=env.region,
            account=env.account,
            prefixes=union_prefixes(g.repository_prefixes for g in self.grants),
            allow_create_repository=self.allow_create_repository,
        )

    def _synth_problems(self) -> list[str]:
        if any(principal_names(s.get("Principal")) for s in self.trust_statements()):
            return []
        return [
            f"{self.node.path}: the role trusts nobody; pass the grants of the sources "
            "replicating into this registry, or settings.trusted_principal_arns"
        ]
