"""The library's errors and the command line's exit codes: a leaf module everything may import.

* :class:`Problem` — one thing wrong with an input: its field path and what is wrong.
* :class:`ReplicationConfigError` — every problem of an input at once (a ``ValueError``).
* :class:`UsageError` — bad usage found by a command after its arguments were read.
* ``EXIT_*`` and :func:`exit_code` — the exit codes every command shares.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
"""All good."""
EXIT_PROBLEMS = 1
"""A problem was found (drift, missing grant, disabled region, missing images)."""
EXIT_USAGE = 2
"""Bad usage or invalid input (one-line error, no traceback)."""
EXIT_UNCHECKED = 3
"""A registry could not be checked (access denied, throttled, expired credentials, ...)."""

MAX_VALUE_CHARS = 60


def exit_code(*, problems: bool, unchecked: bool) -> int:
    """The shared exit-code rule: problems win over unchecked registries."""
    if problems:
        return EXIT_PROBLEMS
    if unchecked:
        return EXIT_UNCHECKED
    return EXIT_OK


def describe_value(value: object) -> str:
    """A value as an error message shows it: short, and never failing on any Python object.

    Strings are quoted as Python shows them (``'12345'``), JSON values as JSON (``[1, 2]``,
    ``true``), anything else by its ``repr`` (a set, a value object).
    """
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (a field path such as ``sources[0].region``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def under(self, prefix: str) -> Problem:
        """The same problem, seen from a parent object whose field ``prefix`` holds this one."""
        if not prefix:
            return self
        if not self.path:
            return Problem(prefix, self.message)
        joiner = "" if self.path.startswith("[") else "."
        return Problem(f"{prefix}{joiner}{self.path}", self.message)


class ReplicationConfigError(ValueError):
    """An invalid replication topology or construct input.

    Carries every problem found (``problems``), so that one run shows the user all of them.
    Its message is one line per problem, each naming the field path, the value and what is
    allowed, e.g. ``sources[0].rules[1].destinations[0].account: '12345' is not a 12-digit AWS
    account id``.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def under(self, prefix: str) -> ReplicationConfigError:
        return ReplicationConfigError(p.under(prefix) for p in self.problems)


class ProblemCollector:
    """Collects problems while an input is checked, then raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def extend(self, error: ReplicationConfigError, prefix: str = "") -> None:
        self.problems.extend(p.under(prefix) for p in error.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ReplicationConfigError(self.problems)


class UsageError(Exception):
    """Bad usage detected by a command after argument parsing; exits 2 with its message."""
