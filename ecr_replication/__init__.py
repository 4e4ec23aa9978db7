"""ecr-replication: AWS CDK constructs and an operations CLI for Amazon ECR replication.

The topology model (``ecr_replication.topology``) is importable without ``aws_cdk``; the CDK
constructs are imported from here lazily, so ``import ecr_replication`` stays light for the
operations commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import Problem, ReplicationConfigError
from .topology import (
    Destination,
    DestinationOverride,
    DestinationSettings,
    Grant,
    Registry,
    ReplicationRule,
    ReplicationTopology,
    RepositoryTemplateSettings,
    RoleSettings,
    SourceRegistry,
    parse_topology,
)

if TYPE_CHECKING:
    from .destination import (
        DestinationRegistryPolicy,
        ReplicationDestinationRole,
        ReplicationRepositoryTemplate,
    )
    from .source import SourceRegistryReplication
    from .stacks import (
        DestinationReplicationStack,
        ReplicationStacks,
        SourceReplicationStack,
        add_replication_stacks,
    )

_CDK_EXPORTS = {
    "SourceRegistryReplication": "source",
    "DestinationRegistryPolicy": "destination",
    "ReplicationDestinationRole": "destination",
    "ReplicationRepositoryTemplate": "destination",
    "SourceReplicationStack": "stacks",
    "DestinationReplicationStack": "stacks",
    "ReplicationStacks": "stacks",
    "add_replication_stacks": "stacks",
}


def __getattr__(name: str) -> Any:
    if name in _CDK_EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_CDK_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Destination",
    "DestinationOverride",
    "DestinationRegistryPolicy",
    "DestinationReplicationStack",
    "DestinationSettings",
    "Grant",
    "Problem",
    "Registry",
    "ReplicationConfigError",
    "ReplicationDestinationRole",
    "ReplicationRepositoryTemplate",
    "ReplicationRule",
    "ReplicationStacks",
    "ReplicationTopology",
    "RepositoryTemplateSettings",
    "RoleSettings",
    "SourceRegistry",
    "SourceRegistryReplication",
    "SourceReplicationStack",
    "add_replication_stacks",
    "parse_topology",
]
