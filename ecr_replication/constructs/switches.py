"""Context flags that switch a synth-time check on (``-c ecrReplication:nag=true``,
``-c ecrReplication:guard=true``), read the same way for every check."""

from __future__ import annotations

import json
from typing import Any

from constructs import Construct


class SwitchError(ValueError):
    """A check is switched on but cannot work (its package is missing, or a bad flag value)."""


def context_flag(scope: Construct, key: str) -> bool:
    """Whether the context flag ``key`` is on.

    ``-c`` passes context as strings, ``cdk.json`` as JSON values: both ``true`` and
    ``"true"`` switch it on. Anything but true/false is refused rather than guessed.
    """
    value = scope.node.try_get_context(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SwitchError(f"context {key}: {value!r} must be true or false")


def context_list(scope: Construct, key: str) -> list[Any]:
    """The items of a list-valued context key: a JSON list in ``cdk.json``; from ``-c`` a
    string read as a JSON list or as items separated by commas; a single value as one item.
    The caller checks the items."""
    value = scope.node.try_get_context(key)
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [part.strip() for part in value.split(",") if part.strip()]
    return list(value) if isinstance(value, list) else [value]
