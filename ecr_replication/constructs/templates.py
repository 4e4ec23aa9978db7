"""Repository creation templates: the settings of repositories that replication creates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..errors import ReplicationConfigError
from ..model.checks import FieldChecks
from ..model.limits import ROOT_TEMPLATE_PREFIX
from ..model.policies import compact_json, pull_repository_policy, repository_arns
from ..model.templates import RepositoryTemplateSettings, template_prefix_problem
from ..naming import template_role_name
from .nag import acknowledge_wildcard_resources
from .support import (
    cfn_to_l1_props,
    claim_registry,
    claim_role_name,
    overrides,
    rendered_resource,
    stack_environment,
)
from .warnings import WARNING_MUTABLE_DESTINATION_TAGS, quiet_stack_traces, warn

TemplateProperties = dict[str, Any]
"""A template's properties as CloudFormation writes them (``{"Prefix": ..., ...}``)."""


class ReplicationRepositoryTemplate(Construct):
    """Repository creation templates for replicated repositories (``AppliedFor``:
    ``REPLICATION``, and what ``settings.applied_for`` adds).

    One ``AWS::ECR::RepositoryCreationTemplate`` per template prefix (a namespace such as
    ``prod``, or ``ROOT``), so that repositories created by replication get the intended
    settings instead of ECR's defaults (mutable tags, no policies). With KMS encryption or
    resource tags, also creates the role ECR assumes for them (trusting ``ecr.amazonaws.com``).

    :param prefixes: template prefixes, e.g. ``["prod", "ROOT"]``; see
        ``ecr_replication.model.template_prefix_for`` to derive them from rule prefixes.
    :param settings: the repository settings. Default: immutable tags, AES256, no lifecycle
        policy, no pull access for other accounts.

    Extension point: override :meth:`template_properties`, called at synthesis for each
    prefix; it returns the template's CloudFormation properties (plain data).

    :ivar templates: ``{prefix: CfnRepositoryCreationTemplate}`` (escape hatches: their
        properties are rendered at synthesis from :meth:`template_properties`;
        ``add_property_override`` applies on top).
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
        self._environment = stack_environment(scope)
        checks = FieldChecks()
        given = checks.strings("prefixes", prefixes)
        for index, prefix in enumerate(given):
            checks.check(f"prefixes[{index}]", prefix, template_prefix_problem)
        settings = RepositoryTemplateSettings() if settings is None else settings
        if checks.instance(
            "settings", settings, RepositoryTemplateSettings, "a RepositoryTemplateSettings"
        ) and (settings.enabled is False):
            checks.add(
                "settings.enabled",
                "False is not allowed here: this construct always creates the templates; leave "
                "it out instead (the topology's stacks read repositoryTemplate.enabled)",
            )
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)
        self._settings = settings
        self._prefixes = tuple(dict.fromkeys(given))
        if settings.is_mutable:
            quiet_stack_traces(self)  # before any child: this construct warns below
        for prefix in self.prefixes:
            claim_registry(self, "a repository creation template for prefix", prefix)
        self.custom_role = self._create_custom_role() if self.settings.needs_custom_role else None
        self.templates: dict[str, ecr.CfnRepositoryCreationTemplate] = {}
        # The hook runs at synthesis when a subclass overrides it. The base class's own output
        # depends only on the settings and prefixes, which cannot change after construction,
        # so it is written now: the same template, without a round trip to the CDK at synth.
        rendered_later = overrides(self, ReplicationRepositoryTemplate, "template_properties")
        for prefix in self.prefixes:
            construct_id = f"Template:{prefix.replace('/', ':')}"
            self.templates[prefix] = (
                rendered_resource(
                    ecr.CfnRepositoryCreationTemplate,
                    self,
                    construct_id,
                    self._properties_at_synthesis(prefix),
                    prefix=prefix,
                    applied_for=list(settings.applied_for),
                )
                if rendered_later
                else ecr.CfnRepositoryCreationTemplate(
                    self, construct_id, **cfn_to_l1_props(self.template_properties(prefix))
                )
            )
        if self.settings.is_mutable:
            warn(
                self,
                WARNING_MUTABLE_DESTINATION_TAGS,
                f"replicated repositories get {self.settings.tag_mutability} tags: a tag can be "
                "moved in the destination independently of the source, so the same tag may no "
                "longer mean the same digest. Prefer IMMUTABLE (the default).",
            )

    @property
    def settings(self) -> RepositoryTemplateSettings:
        return self._settings

    @property
    def prefixes(self) -> tuple[str, ...]:
        return self._prefixes

    def _properties_at_synthesis(self, prefix: str) -> Callable[[], TemplateProperties]:
        return lambda: self.template_properties(prefix)

    def template_properties(self, prefix: str) -> TemplateProperties:
        """One template's CloudFormation properties. Overridable; runs at synthesis."""
        s = self.settings
        props: TemplateProperties = {
            "Prefix": prefix,
            "AppliedFor": list(s.applied_for),
            "Description": s.description,
            "ImageTagMutability": s.tag_mutability,
            "EncryptionConfiguration": {"EncryptionType": s.encryption},
        }
        if s.kms_key_arn:
            props["EncryptionConfiguration"]["KmsKey"] = s.kms_key_arn
        if s.tag_mutability_exclusion_filters:
            props["ImageTagMutabilityExclusionFilters"] = [
                {
                    "ImageTagMutabilityExclusionFilterType": "WILDCARD",
                    "ImageTagMutabilityExclusionFilterValue": value,
                }
                for value in s.tag_mutability_exclusion_filters
            ]
        if s.lifecycle_policy:
            props["LifecyclePolicy"] = s.lifecycle_policy
        repository_policy = pull_repository_policy(s, partition=self._environment.partition)
        if repository_policy:
            props["RepositoryPolicy"] = (
                compact_json(repository_policy)
                if self._environment.registry is not None
                else Stack.of(self).to_json_string(repository_policy)  # holds a partition token
            )
        if s.tags:
            props["ResourceTags"] = [{"Key": k, "Value": v} for k, v in s.tags]
        if self.custom_role is not None:
            props["CustomRoleArn"] = self.custom_role.role_arn
        return props

    def _key_scope(self) -> tuple[str | None, dict[str, Any] | None, str]:
        """The KMS resource, conditions and (for a wildcard) the reason, or None for AES256.

        A given key is granted by its ARN (the settings accept key ARNs only, as ECR's
        template does). Without one ECR picks the AWS managed key, whose ARN is not known here.
        """
        s = self.settings
        if s.encryption == "AES256":
            return None, None, ""
        if s.kms_key_arn:
            return s.kms_key_arn, None, ""
        env = self._environment
        return (
            f"arn:{env.partition}:kms:{env.region}:{env.account}:key/*",
            {"StringEquals": {"kms:ViaService": f"ecr.{env.region}.amazonaws.com"}},
            "no key is configured, so ECR picks the key; the kms:ViaService condition "
            "limits the grant to calls ECR makes in this region",
        )

    def _create_custom_role(self) -> iam.Role:
        env = self._environment
        claim_role_name(self, template_role_name(env.region))
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
            (
                repository_resources,
                "ECR applies a template to every repository it creates under the template's "
                "prefix, so the repository ARN must end in '*'",
            ),
            ([key_resource] if key_resource is not None and key_reason else [], key_reason),
        )
        return role
