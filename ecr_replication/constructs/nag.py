"""cdk-nag for replication apps: the switch that turns the AwsSolutions checks on, and the
acknowledgements (suppressions, each with its reason) for the findings this library expects.

Switch it on for the app of this repository with a context flag::

    cdk synth -c ecrReplication:nag=true

or in your own app with one line (after the stacks are added)::

    enable_nag(app)

cdk-nag 3.x runs as a CDK validation plugin: a finding that is not acknowledged fails
synthesis and is written to ``validation-report.json`` in the cloud assembly. cdk-nag is an
optional dependency (``pip install 'ecr-replication[nag]'``); the acknowledgements below need
only ``aws_cdk``, so they are recorded whether or not cdk-nag is installed.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Validations
from constructs import Construct, IConstruct

from .switches import SwitchError, context_flag

NAG_CONTEXT_KEY = "ecrReplication:nag"
NAG_PACK = "AwsSolutions"
WILDCARD_PERMISSIONS_RULE = "AwsSolutions-IAM5"


NagSwitchError = SwitchError
"""The cdk-nag switch is on but cannot work (cdk-nag missing, or a bad flag value)."""


def nag_requested(scope: Construct) -> bool:
    """Whether the context flag ``ecrReplication:nag`` asks for the cdk-nag checks."""
    return context_flag(scope, NAG_CONTEXT_KEY)


def enable_nag(scope: IConstruct) -> None:
    """Run cdk-nag's AwsSolutions checks over every stack in ``scope`` (usually the App)."""
    try:
        from cdk_nag import AwsSolutionsChecks
    except ImportError:
        raise NagSwitchError(
            f"{NAG_CONTEXT_KEY} is on but cdk-nag is not installed; install it with "
            "pip install 'ecr-replication[nag]'"
        ) from None
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope))


def acknowledge_wildcard_resources(scope: IConstruct, *groups: tuple[Iterable[str], str]) -> None:
    """Acknowledge ``AwsSolutions-IAM5`` for exactly these wildcard resources under ``scope``.

    Each group is ``(resources, reason)``. One acknowledgement per resource ARN (cdk-nag 3.x
    reports each wildcard as its own finding), so a statement widened to another wildcard, or
    a wildcard *action*, is still reported. Resources that are unresolved tokens
    (environment-agnostic stacks) are skipped: their finding ids are not known before
    synthesis. One call to the CDK for all of them.
    """
    acknowledgments: dict[str, Acknowledgment] = {}
    for resources, reason in groups:
        for resource in resources:
            # "${Token[" marks an unresolved token in a string; checked without a jsii call.
            if "*" not in resource or "${Token[" in resource:
                continue
            finding = f"{NAG_PACK}::{WILDCARD_PERMISSIONS_RULE}[Resource::{resource}]"
            acknowledgments.setdefault(finding, Acknowledgment(id=finding, reason=reason))
    if acknowledgments:
        Validations.of(scope).acknowledge(*acknowledgments.values())
