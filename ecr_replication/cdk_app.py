"""The CDK app: topology from context, every stack, synth; clean errors for bad input."""

from __future__ import annotations

import sys

from aws_cdk import App

from .errors import ReplicationConfigError
from .nag import NagSwitchError, enable_nag, nag_requested
from .stacks import ReplicationStacks, add_replication_stacks
from .topology import CONTEXT_KEY, topology_from_context


def build_app(app: App) -> ReplicationStacks:
    """Read the topology from ``app``'s context (key ``ecrReplication``) and add its stacks.

    With the context flag ``ecrReplication:nag=true`` the cdk-nag AwsSolutions checks run at
    synth (see :mod:`ecr_replication.nag`).
    """
    topology = topology_from_context(app.node.try_get_context(CONTEXT_KEY))
    stacks = add_replication_stacks(app, topology)
    if nag_requested(app):
        enable_nag(app)
    return stacks


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
    except NagSwitchError as error:
        print(f"ecr-replication: {error}", file=sys.stderr)
        sys.exit(2)
    try:
        app.synth()
    except RuntimeError as error:
        # Failed validations (e.g. cdk-nag findings) are already printed by the CDK above;
        # a jsii traceback on top would only bury them.
        if not str(error).startswith("ValidationFailed"):
            raise
        print(f"ecr-replication: synthesis failed validation: {error}", file=sys.stderr)
        sys.exit(1)
