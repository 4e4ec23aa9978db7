"""Stacks: one per source registry and one per destination registry that needs anything.

Stacks only compose the constructs; every decision (what a registry needs, names, grants) is
derived from the topology.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import App, Environment, Stack
from constructs import Construct

from ..errors import Problem, ReplicationConfigError
from ..model.destinations import DestinationRegistry
from ..model.monitoring import OperationsSettings
from ..model.registries import Registry, SourceRegistry
from ..model.roles import RoleSettings
from ..model.topology import ReplicationTopology
from ..naming import destination_stack_name, monitoring_stack_name, source_stack_name
from .destination_role import ReplicationDestinationRole
from .registry_policy import DestinationRegistryPolicy
from .source import SourceRegistryReplication
from .support import remember_environment
from .templates import ReplicationRepositoryTemplate
from .warnings import WARNING_REPLICATION_NOT_CHAINED, warn

if TYPE_CHECKING:
    from .alerts import ReplicationFailureAlerts
    from .source_role import ReplicationSourceRole


class _RegistryStack(Stack):
    """A stack in one registry's account and region, named after it unless told otherwise."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: Registry,
        stack_name: str,
        description: str,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("stack_name", stack_name)
        kwargs.setdefault("description", description)
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=registry.account, region=registry.region),
            **kwargs,
        )
        # In an App (the usual case) the stack's root and path are known without asking jsii.
        if isinstance(scope, App):
            remember_environment(self, registry, root=scope, path=construct_id)


class SourceReplicationStack(_RegistryStack):
    """The replication configuration of one source registry (its account and region).

    With ``operations`` (an operations account other than the source's) the stack also holds
    the read-only source role the operations commands assume from there, trusted with the
    conditions of ``role_settings``.

    :ivar replication: the :class:`SourceRegistryReplication`.
    :ivar role: the :class:`ReplicationSourceRole`, or None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: SourceRegistry,
        operations: OperationsSettings | None = None,
        role_settings: RoleSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            registry=source.registry,
            stack_name=source_stack_name(source.registry),
            description=f"ECR replication configuration of registry {source.registry.key} "
            "(ecr-replication)",
            **kwargs,
        )
        self.source = source
        self.replication = SourceRegistryReplication(
            self,
            "Replication",
            rules=source.rules,
            backfill_existing_images=source.backfill_existing_images,
            backfill_function=source.backfill_function,
        )
        self.role: ReplicationSourceRole | None = None
        if operations is not None and operations.account != source.account:
            from .source_role import ReplicationSourceRole

            self.role = ReplicationSourceRole(
                self,
                "SourceRole",
                rules=source.rules,
                trusted_accounts=[operations.account],
                settings=role_settings,
                allow_backfill=operations.allow_backfill,
            )


class DestinationReplicationStack(_RegistryStack):
    """What one destination registry needs: registry policy, role, repository templates.

    A registry that only same-account sources replicate into gets no registry policy and no
    role (same-account replication needs no permissions in the destination).

    :ivar registry_policy: the :class:`DestinationRegistryPolicy`, or None.
    :ivar role: the :class:`ReplicationDestinationRole`, or None.
    :ivar repository_template: the :class:`ReplicationRepositoryTemplate`, or None.
    :ivar alerts: the :class:`ReplicationFailureAlerts`, or None (no monitoring, or this is
        the central account and region, whose monitoring stack watches the bus).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        destination: DestinationRegistry,
        **kwargs: Any,
    ) -> None:
        registry = destination.registry
        super().__init__(
            scope,
            construct_id,
            registry=registry,
            stack_name=destination_stack_name(registry),
            description="Destination side of ECR replication into registry "
            f"{registry.key} (ecr-replication)",
            **kwargs,
        )
        self.destination = destination
        settings = destination.settings
        grants = destination.cross_account_grants
        self.registry_policy = (
            DestinationRegistryPolicy(
                self,
                "RegistryPolicy",
                grants=grants,
                allow_create_repository=settings.allow_create_repository,
                additional_statements=settings.additional_policy_statements,
            )
            if destination.needs_registry_policy
            else None
        )
        self.role = (
            ReplicationDestinationRole(
                self,
                "DestinationRole",
                grants=destination.role_grants,
                settings=settings.role,
                trusted_accounts=destination.role_trusted_accounts,
            )
            if destination.needs_role
            else None
        )
        self.repository_template = (
            ReplicationRepositoryTemplate(
                self,
                "RepositoryTemplate",
                prefixes=destination.template_prefixes,
                settings=settings.repository_template,
            )
            if destination.needs_template
            else None
        )
        self.alerts: ReplicationFailureAlerts | None = None
        if destination.needs_alerts and destination.monitoring is not None:
            # Imported here: aws_sns, aws_kms and aws_cloudwatch cost every app without alerts.
            from .alerts import ReplicationFailureAlerts

            self.alerts = ReplicationFailureAlerts(
                self, "FailureAlerts", settings=destination.monitoring
            )


class ReplicationMonitoringStack(_RegistryStack):
    """The central account's side of the alerts: its bus admits the destination accounts, a
    rule alerts on their failed replication.

    :ivar hub: the :class:`ReplicationMonitoringHub`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: ReplicationTopology,
        **kwargs: Any,
    ) -> None:
        monitoring = topology.monitoring
        if monitoring is None or monitoring.central_account is None:
            raise ReplicationConfigError(
                [Problem("monitoring.centralAccount", "is not set: no monitoring stack is needed")]
            )
        central = monitoring.central_account
        super().__init__(
            scope,
            construct_id,
            registry=central,
            stack_name=monitoring_stack_name(central),
            description=f"Alerts on failed ECR replication, for every destination ({central.key})",
            **kwargs,
        )
        from .alerts import ReplicationMonitoringHub

        self.hub = ReplicationMonitoringHub(
            self,
            "Hub",
            settings=monitoring,
            accounts=topology.monitoring_accounts(),
            organization_id=topology.destination_defaults.role.principal_org_id,
        )


@dataclass(frozen=True)
class ReplicationStacks:
    """The stacks built for a topology, by registry."""

    sources: dict[Registry, SourceReplicationStack]
    destinations: dict[Registry, DestinationReplicationStack]
    monitoring: ReplicationMonitoringStack | None = None


def add_replication_stacks(scope: Construct, topology: ReplicationTopology) -> ReplicationStacks:
    """Build every stack of a topology into ``scope`` (usually an ``App``).

    One source stack per source registry, one destination stack per destination registry
    that needs anything; each source stack depends on the destination stacks it replicates
    into, so ``cdk deploy --all`` creates the grants before the replication rules. With
    central monitoring, a monitoring stack in that account and region comes first.
    """
    monitoring = (
        ReplicationMonitoringStack(
            scope, monitoring_stack_name(topology.monitoring.central_account), topology=topology
        )
        if topology.monitoring is not None and topology.monitoring.central_account is not None
        else None
    )
    destinations = {
        d.registry: DestinationReplicationStack(
            scope, destination_stack_name(d.registry), destination=d
        )
        for d in topology.destination_registries()
        if d.needs_stack
    }
    if monitoring is not None:
        for destination_stack in destinations.values():
            if destination_stack.alerts is not None:
                destination_stack.add_stack_dependency(
                    monitoring, "the central bus must admit the destination before it forwards"
                )
    sources: dict[Registry, SourceReplicationStack] = {}
    for source in topology.sources:
        stack = SourceReplicationStack(
            scope,
            source_stack_name(source.registry),
            source=source,
            operations=topology.operations,
            role_settings=topology.source_role_settings,
        )
        for destination in source.destinations:
            if destination in destinations:
                stack.add_stack_dependency(
                    destinations[destination],
                    "the destination's registry policy must exist before replication into it",
                )
        sources[source.registry] = stack
    for unforwarded in topology.unforwarded_replications():
        warn(
            sources[unforwarded.registry].replication,
            WARNING_REPLICATION_NOT_CHAINED,
            unforwarded.message(),
        )
    return ReplicationStacks(sources=sources, destinations=destinations, monitoring=monitoring)
