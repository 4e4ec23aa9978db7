"""The CDK app: topology from context, every stack, synth; clean errors for bad input."""

from __future__ import annotations

import json
import os
import sys

from aws_cdk import Annotations, App
from constructs import Construct

from ..errors import Problem, ReplicationConfigError, describe_value
from ..model.json_form import CONTEXT_KEY, topology_from_context
from .guard import disabled_rules_from_context, enable_guard, guard_requested
from .nag import enable_nag, nag_requested
from .stacks import ReplicationStacks, add_replication_stacks
from .switches import SwitchError, context_list
from .warnings import WARNING_IDS, quiet_app

CONTEXT_ENV = "CDK_CONTEXT_JSON"
"""How the CDK CLI hands the context to the app (also set by hand to run ``python app.py``)."""
CLI_ENV = (CONTEXT_ENV, "CDK_OUTDIR", "CONTEXT_OVERFLOW_LOCATION_ENV")
"""What the CDK CLI sets for every app it runs (a large context goes into a file named by the
last one): none of them set means the app was started by hand, without ``cdk.json``."""
NOT_RUN_BY_THE_CLI = (
    f"ecr-replication: {CONTEXT_KEY} is not in the app's context: `python app.py` alone does not "
    "read cdk.json. Run `cdk synth` (the CDK CLI reads cdk.json and runs the app), or set "
    f"{CONTEXT_ENV}='{{\"{CONTEXT_KEY}\": {{...}}}}' (and CDK_OUTDIR) to run it directly"
)


def _context_json_problem(text: str | None) -> str | None:
    """Why ``CDK_CONTEXT_JSON`` cannot be the app's context, or None.

    Checked before ``App()`` reads it: jsii would fail on text that is not JSON with a
    JavaScript traceback, and read a list or a number as an empty context, blaming a missing
    ``ecrReplication`` instead.
    """
    if text is None:
        return None
    try:
        context = json.loads(text)
    except json.JSONDecodeError as error:
        return f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except RecursionError:
        return "is not valid JSON: nested too deeply"
    if not isinstance(context, dict):
        example = f'{{"{CONTEXT_KEY}": {{...}}}}'
        return f"{text[:60]!r} must be a JSON object of context keys, e.g. {example}"
    return None


ACKNOWLEDGE_CONTEXT_KEY = "ecrReplication:acknowledge"
"""Context key: the ids of the library's warnings this app acknowledges (a list)."""
_ACK_PREFIX = "Annotation::"


def acknowledged_warnings(scope: Construct) -> tuple[str, ...]:
    """The warning ids of the context key ``ecrReplication:acknowledge``.

    ``cdk.json`` gives a JSON list; ``-c`` gives a string, read as a JSON list or as ids
    separated by commas. The CLI's form ``Annotation::<id>`` is accepted too. An id that is not
    one of the library's warnings is refused, so a typo never hides nothing silently.
    """
    ids = context_list(scope, ACKNOWLEDGE_CONTEXT_KEY)
    problems = []
    found = []
    for index, item in enumerate(ids):
        warning_id = item.removeprefix(_ACK_PREFIX) if isinstance(item, str) else item
        if warning_id in WARNING_IDS:
            found.append(str(warning_id))
        else:
            problems.append(
                Problem(
                    f"{ACKNOWLEDGE_CONTEXT_KEY}[{index}]",
                    f"{describe_value(item)} is not a warning of ecr-replication; known: "
                    f"{', '.join(WARNING_IDS)}",
                )
            )
    if problems:
        raise ReplicationConfigError(problems)
    return tuple(dict.fromkeys(found))


def build_app(app: App) -> ReplicationStacks:
    """Read the topology from ``app``'s context (key ``ecrReplication``) and add its stacks.

    With the context flag ``ecrReplication:nag=true`` the cdk-nag AwsSolutions checks run at
    synth (see :mod:`ecr_replication.constructs.nag`); with ``ecrReplication:guard=true``, AWS
    Control Tower's proactive controls (see :mod:`ecr_replication.constructs.guard`). The
    warnings listed under ``ecrReplication:acknowledge`` are acknowledged in every stack.
    """
    topology = topology_from_context(app.node.try_get_context(CONTEXT_KEY))
    acknowledged = acknowledged_warnings(app)
    stacks = add_replication_stacks(app, topology)
    for stack in [*stacks.sources.values(), *stacks.destinations.values()]:
        for warning_id in acknowledged:
            # On each stack: the CDK does not apply an App-level acknowledgement below it.
            Annotations.of(stack).acknowledge_warning(
                warning_id, f"acknowledged in the context key {ACKNOWLEDGE_CONTEXT_KEY}"
            )
    if nag_requested(app):
        enable_nag(app)
    if guard_requested(app):
        enable_guard(app, disabled_rules=disabled_rules_from_context(app))
    return stacks


def main() -> None:
    """Entry point of ``app.py``: what ``cdk synth`` runs (or ``python app.py`` directly).

    An invalid topology prints one line per problem and exits 2, without a traceback, before
    anything is written.
    """
    if (context_problem := _context_json_problem(os.environ.get(CONTEXT_ENV))) is not None:
        print(f"ecr-replication: {CONTEXT_ENV}: {context_problem}", file=sys.stderr)
        sys.exit(2)
    app = App()
    if app.node.try_get_context(CONTEXT_KEY) is None and not any(map(os.environ.get, CLI_ENV)):
        print(NOT_RUN_BY_THE_CLI, file=sys.stderr)
        sys.exit(2)
    # Warnings carry their construct path and id; a JavaScript stack trace would only point
    # the CDK CLI at the jsii kernel's program.js.
    quiet_app(app)
    try:
        build_app(app)
    except ReplicationConfigError as error:
        print(f"ecr-replication: invalid {CONTEXT_KEY} topology:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(2)
    except SwitchError as error:
        print(f"ecr-replication: {error}", file=sys.stderr)
        sys.exit(2)
    try:
        app.synth()
    except RuntimeError as error:
        # jsii raises every error of the CDK (JavaScript) as a RuntimeError. Failed
        # validations (ours, cdk-nag findings) are already printed by the CDK above; a trace of
        # the jsii kernel would only bury them, so show the message alone, whatever it says.
        print(f"ecr-replication: synthesis failed: {_message(error)}", file=sys.stderr)
        sys.exit(1)


def _message(error: BaseException) -> str:
    """An error's message without the JavaScript stack trace jsii appends to some."""
    lines = [line for line in str(error).splitlines() if not line.strip().startswith("at ")]
    return "\n".join(lines).strip()
