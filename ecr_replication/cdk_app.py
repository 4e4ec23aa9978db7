"""The CDK app: topology from context, every stack, synth; clean errors for bad input."""

from __future__ import annotations

import sys

from aws_cdk import App

from .errors import ReplicationConfigError
from .stacks import ReplicationStacks, add_replication_stacks
from .topology import CONTEXT_KEY, topology_from_context


def build_app(app: App) -> ReplicationStacks:
    """Read the topology from ``app``'s context (key ``ecrReplication``) and add its stacks."""
    topology = topology_from_context(app.node.try_get_context(CONTEXT_KEY))
    return add_replication_stacks(app, topology)


def main() -> None:
    """Entry point of ``app.py``: what ``cdk synth`` runs (or ``python app.py`` directly).

    An invalid topology prints one line per problem and exits 2, without a traceback, before
    anything is written.
    """
    app = App()
    try:
        build_app(app)
    except ReplicationConfigError as error:
        print(f"ecr-replication: invalid {CONTEXT_KEY} topology:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(2)
    app.synth()
