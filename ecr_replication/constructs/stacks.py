"""Stacks: one per source registry and one per destination registry that needs anything.

Stacks only compose the constructs; every decision (what a registry needs, names, grants) is
derived from the topology.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Environment, Stack
from constructs import Construct

from ..model.topology import ReplicationTopology
from ..model.values import DestinationRegistry, Registry, SourceRegistry
from ..naming import destination_stack_name, source_stack_name
from .destination_role import ReplicationDestinationRole
from .registry_policy import DestinationRegistryPolicy
from .source import SourceRegistryReplication
from .support import remember_environment
from .templates import ReplicationRepositoryTemplate


def _remember_environment(
    stack: Stack, scope: Construct, construct_id: str, registry: Registry
) -> None:
    # In an App (the usual case) the stack's root and path are known without asking jsii.
    if isinstance(scope, App):
        remember_environment(stack, registry, root=scope, path=construct_id)


class SourceReplicationStack(Stack):
    """The replication configuration of one source registry (its account and region).

    :ivar replication: the :class:`SourceRegistryReplication`.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, source: SourceRegistry, **kwargs: Any
    ) -> None:
        kwargs.setdefault("stack_name", source_stack_name(source.registry))
        kwargs.setdefault(
            "description",
            f"ECR replication configuration of registry {source.registry.key} (ecr-replication)",
        )
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=source.account, region=source.region),
            **kwargs,
        )
        _remember_environment(self, scope, construct_id, source.registry)
        self.source = source
        self.replication = SourceRegistryReplication(
            self,
            "Replication",
            rules=source.rules,
            backfill_existing_images=source.backfill_existing_images,
        )


class DestinationReplicationStack(Stack):
    """What one destination registry needs: registry policy, role, repository templates.

    A registry that only same-account sources replicate into gets no registry policy and no
    role (same-account replication needs no permissions in the destination).

    :ivar registry_policy: the :class:`DestinationRegistryPolicy`, or None.
    :ivar role: the :class:`ReplicationDestinationRole`, or None.
    :ivar repository_template: the :class:`ReplicationRepositoryTemplate`, or None.
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
        kwargs.setdefault("stack_name", destination_stack_name(registry))
        kwargs.setdefault(
            "description",
            f"Destination side of ECR replication into registry {registry.key} (ecr-replication)",
        )
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=registry.account, region=registry.region),
            **kwargs,
        )
        _remember_environment(self, scope, construct_id, registry)
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
                grants=grants,
                settings=settings.role,
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


@dataclass(frozen=True)
class ReplicationStacks:
    """The stacks built for a topology, by registry."""

    sources: dict[Registry, SourceReplicationStack]
    destinations: dict[Registry, DestinationReplicationStack]


def add_replication_stacks(scope: Construct, topology: ReplicationTopology) -> ReplicationStacks:
    """Build every stack of a topology into ``scope`` (usually an ``App``).

    One source stack per source registry, one destination stack per destination registry
    that needs anything; each source stack depends on the destination stacks it replicates
    into, so ``cdk deploy --all`` creates the grants before the replication rules.
    """
    destinations = {
        d.registry: DestinationReplicationStack(
            scope, destination_stack_name(d.registry), destination=d
        )
        for d in topology.destination_registries()
        if d.needs_stack
    }
    sources: dict[Registry, SourceReplicationStack] = {}
    for source in topology.sources:
        stack = SourceReplicationStack(scope, source_stack_name(source.registry), source=source)
        for destination in source.destinations:
            if destination in destinations:
                stack.add_stack_dependency(
                    destinations[destination],
                    "the destination's registry policy must exist before replication into it",
                )
        sources[source.registry] = stack
    return ReplicationStacks(sources=sources, destinations=destinations)
