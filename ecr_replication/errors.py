"""The library's one error type: every problem of an input, each with its field path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
