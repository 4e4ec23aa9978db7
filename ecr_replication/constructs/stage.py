"""A ``cdk.Stage`` holding every stack of a topology: the unit CDK Pipelines deploys."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stage
from constructs import Construct

from ..errors import Problem, ReplicationConfigError
from ..model.topology import ReplicationTopology
from .stacks import ReplicationStacks, add_replication_stacks


class ReplicationStage(Stage):
    """Every stack of a topology in one stage, for ``pipelines.CodePipeline.add_stage``.

    The stacks are those of :func:`~.stacks.add_replication_stacks`, with their dependencies:
    a pipeline deploys the monitoring stack (central monitoring) before the destination stacks,
    and each destination stack before the source stacks that replicate into it, so registry
    policies exist before the replication rules that need them. Each stack keeps its own
    account and region; every target account and region must be bootstrapped trusting the
    pipeline's account (``cdk bootstrap --trust``).

    :param topology: the replication topology.
    :param stage_props: passed to ``cdk.Stage`` (``outdir``, ``stage_name``, ...).

    :ivar stacks: the :class:`~.stacks.ReplicationStacks`, by registry.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: ReplicationTopology,
        **stage_props: Any,
    ) -> None:
        super().__init__(scope, construct_id, **stage_props)
        if not isinstance(topology, ReplicationTopology):
            raise ReplicationConfigError(
                [
                    Problem(
                        f"{self.node.path}.topology",
                        f"{type(topology).__name__} must be a ReplicationTopology "
                        "(parse_topology reads one from JSON)",
                    )
                ]
            )
        self.topology = topology
        self.stacks: ReplicationStacks = add_replication_stacks(self, topology)
