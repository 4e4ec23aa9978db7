"""ecr-replication: AWS CDK constructs and an operations CLI for Amazon ECR replication.

The model (registries, rules, grants, settings, the topology; ``ecr_replication.model``) is
importable without ``aws_cdk``. The CDK constructs and stacks are listed here too, but loaded
only when first used, so ``import ecr_replication`` stays light for the operations commands.

Constructs: SourceRegistryReplication, DestinationRegistryPolicy, ReplicationDestinationRole,
ReplicationRepositoryTemplate, ReplicationSourceRole, ReplicationBackfillOnDeploy,
ReplicationFailureAlerts, ReplicationMonitoringHub. Stacks: SourceReplicationStack,
DestinationReplicationStack, ReplicationMonitoringStack, add_replication_stacks,
ReplicationStage (for CDK Pipelines). Checks at synth: enable_nag (cdk-nag), enable_guard (AWS
Control Tower's proactive controls).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import Problem, ReplicationConfigError
from .model import (
    BackfillFunctionSettings,
    Destination,
    DestinationOverride,
    DestinationSettings,
    Grant,
    MonitoringSettings,
    OperationsSettings,
    Registry,
    ReplicationRule,
    ReplicationTopology,
    RepositoryTemplateSettings,
    RoleSettings,
    SourceRegistry,
    parse_topology,
    topology_from_context,
)

if TYPE_CHECKING:
    from .constructs.alerts import ReplicationFailureAlerts, ReplicationMonitoringHub
    from .constructs.backfill import ReplicationBackfillOnDeploy
    from .constructs.destination_role import ReplicationDestinationRole
    from .constructs.guard import enable_guard
    from .constructs.nag import enable_nag
    from .constructs.registry_policy import DestinationRegistryPolicy
    from .constructs.source import SourceRegistryReplication
    from .constructs.source_role import ReplicationSourceRole
    from .constructs.stacks import (
        DestinationReplicationStack,
        ReplicationMonitoringStack,
        ReplicationStacks,
        SourceReplicationStack,
        add_replication_stacks,
    )
    from .constructs.stage import ReplicationStage
    from .constructs.templates import ReplicationRepositoryTemplate

_CDK_EXPORTS = {
    "SourceRegistryReplication": "source",
    "DestinationRegistryPolicy": "registry_policy",
    "ReplicationDestinationRole": "destination_role",
    "ReplicationRepositoryTemplate": "templates",
    "ReplicationBackfillOnDeploy": "backfill",
    "ReplicationFailureAlerts": "alerts",
    "ReplicationMonitoringHub": "alerts",
    "ReplicationMonitoringStack": "stacks",
    "ReplicationSourceRole": "source_role",
    "ReplicationStage": "stage",
    "SourceReplicationStack": "stacks",
    "DestinationReplicationStack": "stacks",
    "ReplicationStacks": "stacks",
    "add_replication_stacks": "stacks",
    "enable_nag": "nag",
    "enable_guard": "guard",
}


def __getattr__(name: str) -> Any:
    if name in _CDK_EXPORTS:
        module = importlib.import_module(f".constructs.{_CDK_EXPORTS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_CDK_EXPORTS})


__all__ = [
    "BackfillFunctionSettings",
    "Destination",
    "DestinationOverride",
    "DestinationRegistryPolicy",
    "DestinationReplicationStack",
    "DestinationSettings",
    "Grant",
    "MonitoringSettings",
    "OperationsSettings",
    "Problem",
    "Registry",
    "ReplicationBackfillOnDeploy",
    "ReplicationConfigError",
    "ReplicationDestinationRole",
    "ReplicationFailureAlerts",
    "ReplicationMonitoringHub",
    "ReplicationMonitoringStack",
    "ReplicationRepositoryTemplate",
    "ReplicationRule",
    "ReplicationSourceRole",
    "ReplicationStacks",
    "ReplicationStage",
    "ReplicationTopology",
    "RepositoryTemplateSettings",
    "RoleSettings",
    "SourceRegistry",
    "SourceRegistryReplication",
    "SourceReplicationStack",
    "add_replication_stacks",
    "enable_guard",
    "enable_nag",
    "parse_topology",
    "topology_from_context",
]
