"""Destination registries: :class:`DestinationSettings` (grants, the role, templates, kept
statements), :class:`DestinationOverride` (settings for one registry) and
:class:`DestinationRegistry`, the derived view of a destination with every grant into it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checks import (
    FieldChecks,
    set_field,
)
from .monitoring import MonitoringSettings, OperationsSettings
from .registries import Grant, Registry, repository_patterns, union_prefixes
from .roles import RoleSettings
from .templates import RepositoryTemplateSettings, template_prefix_for


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationSettings:
    """How a destination registry is set up: grants, the role, repository templates.

    :param allow_create_repository: let replication create missing repositories (the
        registry policy grants ``ecr:CreateRepository``). Default: True.
    :param role: the destination role. Default: ``RoleSettings()``.
    :param repository_template: Default: ``RepositoryTemplateSettings()``.
    :param additional_policy_statements: IAM statements kept verbatim in the registry policy
        beside the generated grants (grants for sources managed elsewhere, pull-through cache
        permissions): a deploy replaces the whole registry policy, so whatever is not generated
        or kept is removed. Each needs a Sid. Default: none.
    """

    allow_create_repository: bool = True
    role: RoleSettings = field(default_factory=RoleSettings)
    repository_template: RepositoryTemplateSettings = field(
        default_factory=RepositoryTemplateSettings
    )
    additional_policy_statements: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.boolean("allowCreateRepository", self.allow_create_repository)
        set_field(
            self,
            "additional_policy_statements",
            checks.statements("additionalPolicyStatements", self.additional_policy_statements),
        )
        checks.instance("role", self.role, RoleSettings, "a RoleSettings")
        checks.instance(
            "repositoryTemplate",
            self.repository_template,
            RepositoryTemplateSettings,
            "a RepositoryTemplateSettings",
        )
        checks.raise_if_any()


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationOverride:
    """Settings for one destination registry, replacing the topology's defaults for it."""

    registry: Registry
    settings: DestinationSettings

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.instance("registry", self.registry, Registry, "a Registry")
        checks.instance("settings", self.settings, DestinationSettings, "a DestinationSettings")
        checks.raise_if_any()


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationRegistry:
    """A destination registry as the topology sees it: who replicates into it, and its settings.

    A derived view (built by ``ReplicationTopology.destination_registries``), not an input.
    """

    registry: Registry
    grants: tuple[Grant, ...]
    settings: DestinationSettings
    monitoring: MonitoringSettings | None = None
    operations: OperationsSettings | None = None

    @property
    def cross_account_grants(self) -> tuple[Grant, ...]:
        """Grants from other accounts: the ones that need the registry policy."""
        return tuple(g for g in self.grants if g.source.account != self.registry.account)

    @property
    def role_grants(self) -> tuple[Grant, ...]:
        """The grants whose repositories the destination role reads: with an operations
        account every grant (the commands read every destination from there), otherwise the
        cross-account ones (their source accounts assume the role)."""
        return self.grants if self.operations is not None else self.cross_account_grants

    @property
    def role_trusted_accounts(self) -> tuple[str, ...]:
        """The accounts the destination role trusts (unless ``trustedPrincipalArns`` narrow
        it): the operations account, or the source accounts of the cross-account grants."""
        if self.operations is not None:
            return (self.operations.account,)
        return tuple(dict.fromkeys(g.source.account for g in self.cross_account_grants))

    @property
    def needs_registry_policy(self) -> bool:
        return bool(self.cross_account_grants or self.settings.additional_policy_statements)

    @property
    def needs_role(self) -> bool:
        """A read-only role for the commands, for callers of another account: the operations
        account (every registry outside it), or else the cross-account sources."""
        if not self.settings.role.enabled:
            return False
        if self.operations is not None:
            return self.registry.account != self.operations.account
        return bool(self.cross_account_grants)

    @property
    def needs_template(self) -> bool:
        return self.settings.repository_template.enabled

    @property
    def needs_alerts(self) -> bool:
        """Whether this registry's stack watches its bus for failed replication.

        Not when it is the central account and region itself: the monitoring stack's rule
        already watches that bus.
        """
        return self.monitoring is not None and self.monitoring.central_account != self.registry

    @property
    def needs_stack(self) -> bool:
        return (
            self.needs_registry_policy
            or self.needs_role
            or self.needs_template
            or self.needs_alerts
        )

    @property
    def template_prefixes(self) -> tuple[str, ...]:
        """One repository creation template prefix per namespace the grants can create."""
        prefixes: set[str] = set()
        for grant in self.grants:
            for prefix in grant.repository_prefixes or (None,):
                prefixes.add(template_prefix_for(prefix))
        return tuple(sorted(prefixes))

    @property
    def repository_patterns(self) -> tuple[str, ...]:
        """Repository patterns across the role's grants (what the role may read)."""
        return repository_patterns(union_prefixes(g.repository_prefixes for g in self.role_grants))
