"""Templates as the snapshots keep them: what this library writes, not what the CDK adds.

The ``BootstrapVersion`` parameter and the ``CheckBootstrapVersion`` rule come from the CDK's
default stack synthesizer and change with CDK releases; keeping them would make every CDK
upgrade rewrite every snapshot. The fine-grained assertions beside the snapshots pin behaviour.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template

BOOTSTRAP_PARAMETER = "BootstrapVersion"
BOOTSTRAP_RULE = "CheckBootstrapVersion"


def without_bootstrap_checks(template: dict[str, Any]) -> dict[str, Any]:
    """The template without the synthesizer's bootstrap-version parameter and rule."""
    for section, name in (("Parameters", BOOTSTRAP_PARAMETER), ("Rules", BOOTSTRAP_RULE)):
        entries = template.get(section, {})
        entries.pop(name, None)
        if not entries:
            template.pop(section, None)
    return template


def snapshot_template(stack: Stack) -> dict[str, Any]:
    """A stack's template for a snapshot."""
    return without_bootstrap_checks(Template.from_stack(stack).to_json())
