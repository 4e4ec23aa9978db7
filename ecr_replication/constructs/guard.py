"""AWS Control Tower's proactive controls at synthesis: the switch that runs them.

Organizations that enable Control Tower's proactive controls run them as CloudFormation hooks:
a stack whose resources break one fails to deploy. The same rules run offline, at synth,
through the CDK validation plugin AWS publishes with them (``cdklabs-cdk-validator-cfnguard``:
cfn-guard and the Control Tower rule files). Switch it on for the app of this repository with
a context flag::

    cdk synth -c ecrReplication:guard=true

or in your own app with one line (after the stacks are added)::

    enable_guard(app)

Controls your organization does not enable can be left out: ``enable_guard(app,
disabled_rules=["CT.LAMBDA.PR.3"])``, or the context key ``ecrReplication:guardDisabledRules``.

A failed control fails synthesis, and the plugin's report is written to
``validation-report.json`` in the cloud assembly (``ecr-replication review`` reads it). The
plugin is an optional dependency: ``pip install 'ecr-replication[guard]'``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack, Validations
from constructs import Construct, IConstruct

from ..naming import GUARD_METADATA, GUARD_PLUGIN
from .switches import SwitchError, context_flag, context_list

GUARD_CONTEXT_KEY = "ecrReplication:guard"
GUARD_DISABLED_RULES_CONTEXT_KEY = "ecrReplication:guardDisabledRules"
"""Context key: the controls to leave out (a list, or ids separated by commas)."""


def guard_requested(scope: Construct) -> bool:
    """Whether the context flag ``ecrReplication:guard`` asks for the Control Tower checks."""
    return context_flag(scope, GUARD_CONTEXT_KEY)


def disabled_rules_from_context(scope: Construct) -> tuple[str, ...]:
    """The controls ``ecrReplication:guardDisabledRules`` leaves out: a JSON list in
    ``cdk.json``; on the command line a JSON list or ids separated by commas."""
    items = context_list(scope, GUARD_DISABLED_RULES_CONTEXT_KEY)
    if not all(isinstance(item, str) for item in items):
        raise SwitchError(
            f"context {GUARD_DISABLED_RULES_CONTEXT_KEY}: {items!r} must be a list of control "
            'ids, e.g. ["CT.LAMBDA.PR.3"]'
        )
    return tuple(items)


def _rule_file(control: str) -> str:
    """A control as the plugin names its rule file: ``CT.LAMBDA.PR.3`` -> ``ct-lambda-pr-3``."""
    return control.strip().lower().replace(".", "-")


def enable_guard(scope: IConstruct, *, disabled_rules: Sequence[str] = ()) -> None:
    """Run AWS Control Tower's proactive controls over every stack in ``scope`` (the App).

    Call it after the stacks are added: each stack is marked (metadata ``ecr-replication:guard``)
    so that ``ecr-replication review`` can tell "passed" from "not checked" (the validation
    report lists a plugin only when it found something).

    :param disabled_rules: controls to leave out, for those your organization does not enable:
        ids as AWS writes them (``"CT.LAMBDA.PR.3"``) or rule file names (``"ct-lambda-pr-3"``).
        An id the plugin does not bundle is refused. Default: every bundled control runs.
    """
    try:
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
    except ImportError:
        raise SwitchError(
            f"{GUARD_CONTEXT_KEY} is on but the Control Tower validator plugin is not "
            "installed; install it with pip install 'ecr-replication[guard]'"
        ) from None
    files = [_rule_file(rule) for rule in disabled_rules]
    if files:
        bundled = set(CfnGuardValidator().rule_ids or ())
        unknown = [
            rule
            for rule, file in zip(disabled_rules, files, strict=True)
            if not file.startswith("ct-") or file[3:].replace("-", "") not in bundled
        ]
        if unknown:
            raise SwitchError(
                f"disabled rules: {', '.join(repr(r) for r in unknown)} "
                f"{'is not a control' if len(unknown) == 1 else 'are not controls'} the plugin "
                "bundles; give control ids such as 'CT.LAMBDA.PR.3'"
            )
    plugin = CfnGuardValidator(disabled_rules=files)
    # The plugin implements the Beta1 interface, which Validations accepts at run time.
    Validations.of(scope).add_plugins(plugin)  # type: ignore[arg-type]
    marker = {
        "plugin": GUARD_PLUGIN,
        "version": plugin.version,
        "disabledRules": sorted(files),
    }
    for construct in scope.node.find_all():
        if isinstance(construct, Stack):
            construct.node.add_metadata(GUARD_METADATA, marker)
