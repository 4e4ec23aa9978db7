"""The replication model: pure Python, the one source of truth for every side.

Imports none of ``aws_cdk``, ``constructs``, ``jsii``, ``boto3``, ``botocore`` or ``rich``
(botocore's bundled region data is read as a file), so the operations commands and the review
load it without Node.js.

* :mod:`.limits` — ECR's quotas and formats, regions and partitions;
* :mod:`.checks` — the field checks every value object shares;
* the value objects, one subject a module: :mod:`.registries` (registries, rules, grants),
  :mod:`.templates`, :mod:`.roles`, :mod:`.monitoring` (alerts, the operations account),
  :mod:`.backfill_function`, :mod:`.destinations` (destination settings and the derived view);
  :mod:`.values` re-exports them all under the names they always had;
* :mod:`.topology` — :class:`ReplicationTopology` and its derived views;
* :mod:`.json_form` — :func:`parse_topology` and :func:`topology_from_context`;
* :mod:`.policies` — every policy document the library writes, as data;
* :mod:`.iam` — the one evaluator of policy statements.
"""

from __future__ import annotations

from .backfill_function import BackfillFunctionSettings
from .destinations import DestinationOverride, DestinationRegistry, DestinationSettings
from .json_form import CONTEXT_KEY, parse_topology, topology_from_context
from .limits import region_partitions
from .monitoring import MonitoringSettings, OperationsSettings
from .registries import (
    Destination,
    Grant,
    Registry,
    ReplicationRule,
    SourceRegistry,
    repository_patterns,
    union_prefixes,
)
from .roles import RoleSettings
from .templates import RepositoryTemplateSettings, template_prefix_for
from .topology import ReplicationTopology

__all__ = [
    "CONTEXT_KEY",
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
    "ReplicationTopology",
    "RepositoryTemplateSettings",
    "RoleSettings",
    "SourceRegistry",
    "parse_topology",
    "region_partitions",
    "repository_patterns",
    "template_prefix_for",
    "topology_from_context",
    "union_prefixes",
]
