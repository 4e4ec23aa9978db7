"""The destination side: registry policy, assumable role and repository creation templates.

Each construct is one concern and usable on its own in a stack whose account and region are
the destination registry's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._cdk import SynthValidation, claim_registry, lazy, stack_environment
from .errors import Problem, ReplicationConfigError
from .nag import acknowledge_wildcard_resources
from .naming import destination_role_name, template_role_name
from .policies import (
    Statement,
    compact_json,
    policy_document,
    pull_repository_policy,
    replication_grant_statement,
    repository_arns,
)
from .topology import (
    KMS_KEY_ARN_PATTERN,
    MAX_REGISTRY_POLICY_CHARS,
    ROOT_TEMPLATE_PREFIX,
    TEMPLATE_SEGMENT_PATTERN,
    Grant,
    Registry,
    RepositoryTemplateSettings,
    RoleSettings,
    union_prefixes,
)

WARNING_MUTABLE_DESTINATION_TAGS = "ecr-replication:mutableDestinationTags"
WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT = "ecr-replication:roleTrustsWholeAccount"


class DestinationRegistryPolicy(Construct):
    """The destination registry's one ``AWS::ECR::RegistryPolicy``: what makes replication work.

    Allows each source account ``ecr:ReplicateImage`` (and ``ecr:CreateRepository`` unless
    ``allow_create_repository`` is False) on the repositories its prefixes can produce:
    ``repository/<prefix>*``, or ``repository/*`` for a grant without prefixes. Every source
    replicating into the registry must be in this one document (writing a registry policy
    replaces the whole policy), so the construct refuses a second one for the same registry;
    add sources with :meth:`add_grant`. Synthesis fails if the document exceeds ECR's 10,240
    characters.

    :param grants: the sources (account, region) and the prefixes they replicate.
    :param allow_create_repository: let replication create missing repositories.
        Default: True (without it, each repository must already exist in the destination).

    Extension point: override :meth:`grant_statement` (one statement per grant) or
    :meth:`statements` (the whole list).

    :ivar resource: the ``CfnRegistryPolicy`` (escape hatch).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        grants: Sequence[Grant] = (),
        allow_create_repository: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.environment = stack_environment(scope)
        claim_registry(self, "a registry policy")
        self.allow_create_repository = allow_create_repository
        self._grants: list[Grant] = _merge_grants(grants)
        self._document: dict[str, Any] | None = None
        self.resource = ecr.CfnRegistryPolicy(
            self, "Resource", policy_text=lazy(lambda: self.policy_document)
        )
        self.node.add_validation(SynthValidation(self._synth_problems))

    @property
    def grants(self) -> tuple[Grant, ...]:
        return tuple(self._grants)

    def add_grant(self, grant: Grant) -> None:
        """Add a source; a second grant for the same source widens that source's statement."""
        self._grants = _merge_grants([*self._grants, grant])
        self._document = None

    @property
    def policy_document(self) -> dict[str, Any]:
        """The registry policy as a JSON-ready dictionary (rendered once per set of grants)."""
        if self._document is None:
            self._document = policy_document(self.statements())
        return self._document

    def statements(self) -> list[Statement]:
        return [self.grant_statement(grant) for grant in self._grants]

    def grant_statement(self, grant: Grant) -> Statement:
        env = self.environment
        return replication_grant_statement(
            grant,
            partition=env.partition,
            region=env.region,
            account=env.account,
            allow_create_repository=self.allow_create_repository,
        )

    def _synth_problems(self) -> list[str]:
        if not self._grants:
            return [f"{self.node.path}: a registry policy needs at least one grant"]
        text = compact_json(self.policy_document)
        # Only measurable when the registry is known: tokens stand in for ARNs otherwise.
        if self.environment.registry is not None and len(text) > MAX_REGISTRY_POLICY_CHARS:
            return [
                f"{self.node.path}: the registry policy is {len(text)} characters; ECR allows "
                f"at most {MAX_REGISTRY_POLICY_CHARS}. Use fewer or shorter repository prefixes"
            ]
        return []


def _merge_grants(grants: Sequence[Grant]) -> list[Grant]:
    """One grant per source registry, in first-seen order: two statements for one source would
    share a ``Sid``, which IAM policy documents do not allow."""
    by_source: dict[Registry, list[Grant]] = {}
    for grant in grants:
        by_source.setdefault(grant.source, []).append(grant)
    return [
        Grant(
            source=source,
            repository_prefixes=union_prefixes(g.repository_prefixes for g in same),
        )
        for source, same in by_source.items()
    ]


class ReplicationDestinationRole(Construct):
    """An IAM role in the destination account for tooling that runs in the source account.

    ECR does **not** use this role to replicate (the registry policy does that); the
    operations commands assume it to read the destination registry. Trusted by the source
    accounts of ``grants`` for ``sts:AssumeRole`` (or only by ``settings.trusted_principal_arns``),
    optionally conditioned on an external id and an organization. Permissions:
    ``ecr:CreateRepository`` and ``ecr:ReplicateImage`` on the granted repositories only, read
    actions on those repositories, and registry-level reads that have no resource scope
    (``ecr:DescribeRegistry``, ``ecr:GetRegistryPolicy``, ``ecr:DescribeRepositoryCreationTemplates``,
    ``ec2:DescribeRegions``, ``account:GetRegionOptStatus``).

    :param grants: the sources that replicate into this registry, with their prefixes.
    :param settings: trust options. Default: trust every source account, no conditions.
    :param role_name: Default: ``ecr-replication-destination-<region>`` (unique per account
        and region; the operations commands look for this name).
    :param allow_create_repository: include ``ecr:CreateRepository``. Default: True; pass the
        registry policy's setting so the role never allows more than the registry does.

    Extension points: override :meth:`trust_statements` or :meth:`permission_statements`
    (plain IAM statements), e.g. to trust a CI role only::

        class TrustedByCi(ReplicationDestinationRole):
            def trust_statements(self):
                return [{"Effect": "Allow", "Action": "sts:AssumeRole",
                         "Principal": {"AWS": "arn:aws:iam::555444333222:role/ci"}}]

    :ivar resource: the ``CfnRole`` (escape hatch); ``role_arn`` and ``role_name`` its
        attributes (``iam.Role.from_role_arn`` gives an ``IRole`` where one is needed).
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
        self.environment = stack_environment(scope)
        # IAM role names are global to an account: a second role of this name in the same
        # account and region would fail at deploy time, so refuse it at synth.
        claim_registry(self, "a destination role")
        self.settings = settings or RoleSettings()
        self.allow_create_repository = allow_create_repository
        self.grants = tuple(grants)
        trust = self.trust_statements()
        if not any(_principals(statement) for statement in trust):
            raise ReplicationConfigError(
                [
                    Problem(
                        f"{self.node.path}.grants",
                        "[] gives the role nobody to trust; pass the grants of the sources "
                        "replicating into this registry, or settings.trusted_principal_arns",
                    )
                ]
            )
        # The L1 with plain policy documents, like the registry policy: what is reviewed is
        # exactly what is deployed, and synthesis stays close to hand-written CloudFormation.
        self.resource = iam.CfnRole(
            self,
            "Resource",
            role_name=role_name or destination_role_name(self.environment.region),
            description=(
                "Lets ecr-replication tooling in the source accounts read this destination "
                "registry; ECR replicates through the registry policy, not this role"
            ),
            assume_role_policy_document=policy_document(trust),
            policies=[
                iam.CfnRole.PolicyProperty(
                    policy_name="ReadReplicas",
                    policy_document=policy_document(self.permission_statements()),
                )
            ],
        )
        self.role_arn: str = self.resource.attr_arn
        self.role_name: str = self.resource.ref
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
        if not self.settings.has_trust_conditions:
            Annotations.of(self).add_warning_v2(
                WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT,
                "the destination role trusts whole source accounts without conditions; any "
                "principal there that is allowed sts:AssumeRole can read this registry. Set "
                "role.externalId, role.trustedPrincipalArns or role.principalOrgId.",
            )

    def trust_statements(self) -> list[Statement]:
        """Who may assume the role (``sts:AssumeRole``), with the configured conditions."""
        s = self.settings
        principals = list(
            dict.fromkeys(
                s.trusted_principal_arns
                or [f"arn:{g.source.partition}:iam::{g.source.account}:root" for g in self.grants]
            )
        )
        if not principals:
            return []
        statement: Statement = {
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": "sts:AssumeRole",
        }
        conditions: dict[str, str] = {}
        if s.external_id:
            conditions["sts:ExternalId"] = s.external_id
        if s.principal_org_id:
            conditions["aws:PrincipalOrgID"] = s.principal_org_id
        if conditions:
            statement["Condition"] = {"StringEquals": conditions}
        return [statement]

    def repository_arns(self) -> list[str]:
        env = self.environment
        prefixes = union_prefixes(g.repository_prefixes for g in self.grants)
        return repository_arns(env.partition, env.region, env.account, prefixes)

    def permission_statements(self) -> list[Statement]:
        """The role's permissions as plain IAM statements. Overridable."""
        arns = self.repository_arns()
        resources: str | list[str] = arns[0] if len(arns) == 1 else arns
        return [
            {
                "Sid": "ReplicateGrantedRepositories",
                "Effect": "Allow",
                "Action": [
                    *(["ecr:CreateRepository"] if self.allow_create_repository else []),
                    "ecr:ReplicateImage",
                ],
                "Resource": resources,
            },
            {
                "Sid": "ReadGrantedRepositories",
                "Effect": "Allow",
                "Action": ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListImages"],
                "Resource": resources,
            },
            {
                # These actions have no resource-level scope in IAM: "*" is the only form.
                "Sid": "ReadRegistrySettings",
                "Effect": "Allow",
                "Action": [
                    "account:GetRegionOptStatus",
                    "ec2:DescribeRegions",
                    "ecr:DescribeRegistry",
                    "ecr:DescribeRepositoryCreationTemplates",
                    "ecr:GetRegistryPolicy",
                ],
                "Resource": "*",
            },
        ]


def _principals(statement: Statement) -> list[str]:
    principal = statement.get("Principal", {})
    values = principal.get("AWS", []) if isinstance(principal, dict) else principal
    return [values] if isinstance(values, str) else list(values)


class ReplicationRepositoryTemplate(Construct):
    """Repository creation templates (``AppliedFor: [REPLICATION]``) for replicated repositories.

    One ``AWS::ECR::RepositoryCreationTemplate`` per template prefix (a namespace such as
    ``prod``, or ``ROOT``), so that repositories created by replication get the intended
    settings instead of ECR's defaults (mutable tags, no policies). With KMS encryption or
    resource tags, also creates the role ECR assumes for them (trusting ``ecr.amazonaws.com``).

    :param prefixes: template prefixes, e.g. ``["prod", "ROOT"]``; see
        ``topology.template_prefix_for`` to derive them from replication rule prefixes.
    :param settings: the repository settings. Default: immutable tags, AES256, no lifecycle
        policy, no pull access for other accounts.

    Extension point: override :meth:`template_properties` to change one template's properties.

    :ivar templates: ``{prefix: CfnRepositoryCreationTemplate}``.
    :ivar custom_role: the role ECR assumes for KMS or tags, or None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefixes: Sequence[str],
        settings: RepositoryTemplateSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.environment = stack_environment(scope)
        self.settings = settings or RepositoryTemplateSettings()
        self.prefixes = tuple(dict.fromkeys(prefixes))
        for prefix in self.prefixes:
            if prefix != ROOT_TEMPLATE_PREFIX and not all(
                TEMPLATE_SEGMENT_PATTERN.match(s) for s in prefix.split("/")
            ):
                raise ReplicationConfigError(
                    [
                        Problem(
                            f"{self.node.path}.prefixes",
                            f"{prefix!r} is not a template prefix: a namespace such as 'prod' "
                            "or 'prod/team-a', or 'ROOT'",
                        )
                    ]
                )
            claim_registry(self, "a repository creation template for prefix", prefix)
        self.custom_role = self._create_custom_role() if self.settings.needs_custom_role else None
        self.templates: dict[str, ecr.CfnRepositoryCreationTemplate] = {
            prefix: ecr.CfnRepositoryCreationTemplate(
                self, f"Template:{prefix.replace('/', ':')}", **self.template_properties(prefix)
            )
            for prefix in self.prefixes
        }
        if self.settings.is_mutable:
            Annotations.of(self).add_warning_v2(
                WARNING_MUTABLE_DESTINATION_TAGS,
                f"replicated repositories get {self.settings.tag_mutability} tags: a tag can be "
                "moved in the destination independently of the source, so the same tag may no "
                "longer mean the same digest. Prefer IMMUTABLE (the default).",
            )

    def template_properties(self, prefix: str) -> dict[str, Any]:
        """Keyword arguments of ``CfnRepositoryCreationTemplate`` for one prefix. Overridable."""
        s = self.settings
        props: dict[str, Any] = {
            "prefix": prefix,
            "applied_for": ["REPLICATION"],
            "description": s.description,
            "image_tag_mutability": s.tag_mutability,
            "encryption_configuration": ecr.CfnRepositoryCreationTemplate.EncryptionConfigurationProperty(
                encryption_type=s.encryption, kms_key=s.kms_key_arn
            ),
        }
        if s.tag_mutability_exclusion_filters:
            props["image_tag_mutability_exclusion_filters"] = [
                ecr.CfnRepositoryCreationTemplate.ImageTagMutabilityExclusionFilterProperty(
                    image_tag_mutability_exclusion_filter_type="WILDCARD",
                    image_tag_mutability_exclusion_filter_value=value,
                )
                for value in s.tag_mutability_exclusion_filters
            ]
        if s.lifecycle_policy:
            props["lifecycle_policy"] = s.lifecycle_policy
        repository_policy = pull_repository_policy(s, partition=self.environment.partition)
        if repository_policy:
            props["repository_policy"] = (
                compact_json(repository_policy)
                if self.environment.registry is not None
                else Stack.of(self).to_json_string(repository_policy)  # holds a partition token
            )
        if s.resource_tags:
            props["resource_tags"] = [{"key": k, "value": v} for k, v in s.resource_tags]
        if self.custom_role is not None:
            props["custom_role_arn"] = self.custom_role.role_arn
        return props

    def _key_scope(self) -> tuple[str | None, dict[str, Any] | None, str]:
        """The KMS resource, conditions and (for a wildcard) the reason, or None for AES256.

        IAM authorizes key operations on key ARNs only, never through an alias ARN, so an
        alias is granted as "any key of that account and region carrying this alias".
        """
        s = self.settings
        if s.encryption == "AES256":
            return None, None, ""
        env = self.environment
        partition = env.partition
        match = KMS_KEY_ARN_PATTERN.match(s.kms_key_arn or "")
        if match and ":key/" in (s.kms_key_arn or ""):
            return s.kms_key_arn, None, ""
        if match:
            alias = (s.kms_key_arn or "").split(":", 5)[5]
            return (
                f"arn:{partition}:kms:{match['region']}:{match['account']}:key/*",
                {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}},
                f"the key is named by its alias {alias}; the kms:ResourceAliases condition "
                "limits the grant to the key carrying it",
            )
        return (
            f"arn:{partition}:kms:{env.region}:{env.account}:key/*",
            {"StringEquals": {"kms:ViaService": f"ecr.{env.region}.amazonaws.com"}},
            "no key is configured, so ECR picks the key; the kms:ViaService condition "
            "limits the grant to calls ECR makes in this region",
        )

    def _create_custom_role(self) -> iam.Role:
        env = self.environment
        role = iam.Role(
            self,
            "CustomRole",
            role_name=template_role_name(env.region),
            description="Assumed by Amazon ECR to apply KMS encryption and tags from "
            "ecr-replication repository creation templates",
            assumed_by=iam.ServicePrincipal("ecr.amazonaws.com"),
        )
        patterns = [p if p == ROOT_TEMPLATE_PREFIX else f"{p}/" for p in self.prefixes]
        repository_resources = repository_arns(
            env.partition,
            env.region,
            env.account,
            [] if ROOT_TEMPLATE_PREFIX in patterns else patterns,
        )
        statements = [
            iam.PolicyStatement(
                sid="CreateTemplatedRepositories",
                actions=["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
                resources=repository_resources,
            )
        ]
        key_resource, key_conditions, key_reason = self._key_scope()
        if key_resource is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="UseRepositoryKey",
                    actions=["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"],
                    resources=[key_resource],
                    conditions=key_conditions,
                )
            )
        policy = iam.Policy(self, "CustomRolePermissions", statements=statements, roles=[role])
        acknowledge_wildcard_resources(
            policy,
            repository_resources,
            "ECR applies a template to every repository it creates under the template's "
            "prefix, so the repository ARN must end in '*'",
        )
        if key_resource is not None and key_reason:
            acknowledge_wildcard_resources(policy, [key_resource], key_reason)
        return role
