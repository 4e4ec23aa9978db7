"""The library's synth warnings: their stable ids, and how they are written.

Each warning is legal but risky and carries a stable id, so that a user can acknowledge it:
``Annotations.of(stack).acknowledge_warning(id)`` in an app (on the stack or the construct:
the CDK does not apply an acknowledgement made on the App to what is below it), or the context
key ``ecrReplication:acknowledge`` for the app of this repository.
"""

from __future__ import annotations

import weakref
from typing import Any

from aws_cdk import Annotations
from constructs import Construct

WARNING_UNFILTERED_CROSS_ACCOUNT = "ecr-replication:unfilteredCrossAccountRule"
WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT = "ecr-replication:roleTrustsWholeAccount"
WARNING_MUTABLE_DESTINATION_TAGS = "ecr-replication:mutableDestinationTags"
WARNING_BACKFILLS_QUEUE = "ecr-replication:backfillsQueue"
WARNING_REPLICATION_NOT_CHAINED = "ecr-replication:replicationNotChained"
WARNING_DELETIONS_REPLICATED = "ecr-replication:deletionsReplicated"
WARNING_MANY_DESTINATIONS = "ecr-replication:manyDestinations"

WARNING_IDS = (
    WARNING_UNFILTERED_CROSS_ACCOUNT,
    WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT,
    WARNING_MUTABLE_DESTINATION_TAGS,
    WARNING_BACKFILLS_QUEUE,
    WARNING_REPLICATION_NOT_CHAINED,
    WARNING_DELETIONS_REPLICATED,
    WARNING_MANY_DESTINATIONS,
)

DISABLE_METADATA_STACK_TRACE = "aws:cdk:disable-stack-trace"
"""The CDK's context key that keeps JavaScript stack traces out of construct metadata."""


# Apps whose whole tree already records warnings without a stack trace (``quiet_app``): the
# constructs below them need not set it again, a round trip to the CDK each.
_quiet_roots: weakref.WeakSet[Any] = weakref.WeakSet()


def quiet_app(app: Construct) -> None:
    """Record every warning of the app without a stack trace (call before adding stacks)."""
    app.node.set_context(DISABLE_METADATA_STACK_TRACE, True)
    _quiet_roots.add(app)


def quiet_stack_traces(construct: Construct) -> None:
    """Record this construct's warnings without a stack trace. Call before adding children.

    The CDK keeps a JavaScript stack trace with each warning, and the CDK CLI prints its first
    frame outside ``node_modules``: for a Python app that is the jsii kernel's bundled
    ``program.js`` (a line such as ``/tmp/tmpabc/lib/program.js:1:5591``), which tells a
    reader nothing. The construct path and the warning id do. Nothing to do in an app made
    quiet by :func:`quiet_app` (the context is inherited).
    """
    environment = getattr(construct, "_environment", None)
    if environment is not None and environment.root in _quiet_roots:
        return
    construct.node.set_context(DISABLE_METADATA_STACK_TRACE, True)


def warn(construct: Construct, warning_id: str, message: str) -> None:
    """Add one of the library's warnings (acknowledgeable by its id)."""
    Annotations.of(construct).add_warning_v2(warning_id, message)
