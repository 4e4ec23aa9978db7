"""The value objects of a replication topology, importable from here as they always were.

Each subject has a module of its own: :mod:`.registries` (registries, rules, grants),
:mod:`.templates` (repository creation templates), :mod:`.roles` (the tooling roles' trust),
:mod:`.monitoring` (alerts and the operations account), :mod:`.backfill_function` (how the
backfill-on-deploy function runs) and :mod:`.destinations` (destination settings and the
derived view of a destination). Every value object is a frozen dataclass that checks itself on
construction and raises :class:`~ecr_replication.errors.ReplicationConfigError` with all of its
problems, each under its field's JSON name; the same objects serve the CDK constructs, the JSON
reader and the operations commands.
"""

from __future__ import annotations

from .backfill_function import (
    BackfillFunctionSettings,
    backfill_function_problems,
)
from .destinations import (
    DestinationOverride,
    DestinationRegistry,
    DestinationSettings,
)
from .monitoring import (
    MonitoringSettings,
    OperationsSettings,
)
from .registries import (
    Destination,
    Grant,
    Registry,
    ReplicationRule,
    SourceRegistry,
    many_destinations_warning,
    merge_grants,
    repository_patterns,
    source_rule_problems,
    union_prefixes,
)
from .roles import (
    RoleSettings,
)
from .templates import (
    RepositoryTemplateSettings,
    canonical_applied_for,
    template_prefix_for,
    template_prefix_problem,
)

__all__ = [
    "BackfillFunctionSettings",
    "Destination",
    "DestinationOverride",
    "DestinationRegistry",
    "DestinationSettings",
    "Grant",
    "MonitoringSettings",
    "OperationsSettings",
    "Registry",
    "ReplicationRule",
    "RepositoryTemplateSettings",
    "RoleSettings",
    "SourceRegistry",
    "backfill_function_problems",
    "canonical_applied_for",
    "many_destinations_warning",
    "merge_grants",
    "repository_patterns",
    "source_rule_problems",
    "template_prefix_for",
    "template_prefix_problem",
    "union_prefixes",
]
