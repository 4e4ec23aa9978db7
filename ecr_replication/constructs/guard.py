"""AWS Control Tower's proactive controls at synthesis: the switch that runs them.

Organizations that enable Control Tower's proactive controls run them as CloudFormation hooks:
a stack whose resources break one fails to deploy. The same rules run offline, at synth,
through the CDK validation plugin AWS publishes with them (``cdklabs-cdk-validator-cfnguard``:
cfn-guard and the Control Tower rule files). Switch it on for the app of this repository with
a context flag::

    cdk synth -c ecrReplication:guard=true

or in your own app with one line (after the stacks are added)::

    enable_guard(app)

A failed control fails synthesis, and the plugin's report is written to
``validation-report.json`` in the cloud assembly (``ecr-replication review`` reads it). The
plugin is an optional dependency: ``pip install 'ecr-replication[guard]'``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack, Validations
from constructs import Construct, IConstruct

from ..naming import GUARD_METADATA, GUARD_PLUGIN
from .switches import SwitchError, context_flag

GUARD_CONTEXT_KEY = "ecrReplication:guard"


def guard_requested(scope: Construct) -> bool:
    """Whether the context flag ``ecrReplication:guard`` asks for the Control Tower checks."""
    return context_flag(scope, GUARD_CONTEXT_KEY)


def enable_guard(scope: IConstruct, *, disabled_rules: Sequence[str] = ()) -> None:
    """Run AWS Control Tower's proactive controls over every stack in ``scope`` (the App).

    Call it after the stacks are added: each stack is marked (metadata ``ecr-replication:guard``)
    so that ``ecr-replication review`` can tell "passed" from "not checked" (the validation
    report lists a plugin only when it found something).

    :param disabled_rules: rule files to skip, by name (e.g. ``"ct-lambda-pr-3"``), for the
        controls your organization does not enable. Default: every bundled control runs.
    """
    try:
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
    except ImportError:
        raise SwitchError(
            f"{GUARD_CONTEXT_KEY} is on but the Control Tower validator plugin is not "
            "installed; install it with pip install 'ecr-replication[guard]'"
        ) from None
    plugin = CfnGuardValidator(disabled_rules=list(disabled_rules))
    # The plugin implements the Beta1 interface, which Validations accepts at run time.
    Validations.of(scope).add_plugins(plugin)  # type: ignore[arg-type]
    marker = {
        "plugin": GUARD_PLUGIN,
        "version": plugin.version,
        "disabledRules": sorted(disabled_rules),
    }
    for construct in scope.node.find_all():
        if isinstance(construct, Stack):
            construct.node.add_metadata(GUARD_METADATA, marker)
