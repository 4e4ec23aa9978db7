"""Field checks shared by every value object, so that one rule gives one message everywhere.

A value object's ``__post_init__`` runs its fields through a :class:`FieldChecks`, which
records each problem under the field's JSON name (the topology key: ``repositoryPrefixes``)
and normalises what Python allows in several forms (any sequence becomes a tuple). The JSON
reader builds value objects from the JSON form and lets them check themselves, so a Python
user and a ``cdk.json`` user read the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from ..errors import ProblemCollector, describe_value
from .limits import (
    ACCOUNT_PATTERN,
    ECR_FILTER_PATTERN,
    ORG_ID_PATTERN,
    is_known_region,
)

T = TypeVar("T")


def account_problem(value: object) -> str | None:
    if isinstance(value, str) and ACCOUNT_PATTERN.match(value):
        return None
    return (
        f"{describe_value(value)} is not a 12-digit AWS account id (give it as a string, e.g. "
        "'123456789012')"
    )


def region_problem(value: object) -> str | None:
    if is_known_region(value):
        return None
    return f"{describe_value(value)} is not a known AWS region (e.g. 'us-east-1', 'eu-west-1')"


def prefix_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"{describe_value(value)} must be a string"
    if not 2 <= len(value) <= 256:
        return f"{value!r} must be 2 to 256 characters long (it has {len(value)})"
    if not ECR_FILTER_PATTERN.match(value):
        return (
            f"{value!r} is not a valid ECR repository filter: lower-case letters, digits and "
            "'.', '_', '-', '/' only, e.g. 'prod/' or 'team-a/service'"
        )
    return None


def org_id_problem(value: object) -> str | None:
    if isinstance(value, str) and ORG_ID_PATTERN.match(value):
        return None
    return (
        f"{describe_value(value)} is not an AWS Organizations id (o- followed by 10 to 32 "
        "lower-case letters or digits)"
    )


def is_list_like(value: object) -> bool:
    """Whether a value stands for a JSON list: a sequence that is not a string or bytes."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


class FieldChecks(ProblemCollector):
    """The checks of one value object's fields; ``raise_if_any`` raises them all at once."""

    def check(self, path: str, value: object, problem: Callable[[object], str | None]) -> bool:
        """Record ``problem(value)`` under ``path`` if there is one; whether the value is good."""
        message = problem(value)
        if message is not None:
            self.add(path, message)
        return message is None

    def boolean(self, path: str, value: object) -> None:
        if not isinstance(value, bool):
            self.add(path, f"{describe_value(value)} must be true or false")

    def string(self, path: str, value: object, *, optional: bool = False) -> bool:
        if isinstance(value, str) or (optional and value is None):
            return True
        self.add(path, f"{describe_value(value)} must be a string{' or null' if optional else ''}")
        return False

    def sequence(
        self, path: str, value: object, item_type: type[T], what: str, *, item_name: str = ""
    ) -> tuple[T, ...]:
        """``value`` as a tuple of ``item_type``: any sequence but a string, items checked.

        A bare string where a list is due is one problem, not one per character.
        """
        if value is None:
            return ()
        if not is_list_like(value):
            hint = f" (write [{value!r}])" if isinstance(value, str) else ""
            self.add(path, f"{describe_value(value)} must be {what}{hint}")
            return ()
        items: tuple[Any, ...] = tuple(cast(Sequence[Any], value))
        good: list[T] = []
        for index, item in enumerate(items):
            if isinstance(item, item_type) and not (
                isinstance(item, bool) and item_type is not bool
            ):
                good.append(item)
            else:
                self.add(
                    f"{path}[{index}]",
                    f"{describe_value(item)} must be {item_name or 'a ' + item_type.__name__}",
                )
        return tuple(good) if len(good) == len(items) else ()

    def strings(self, path: str, value: object) -> tuple[str, ...]:
        return self.sequence(path, value, str, "a list of strings", item_name="a string")

    def prefixes(self, path: str, value: object) -> tuple[str, ...]:
        """Repository-name prefixes: each valid for ECR's ``PREFIX_MATCH``, none twice."""
        prefixes = self.strings(path, value)
        seen: set[str] = set()
        for index, prefix in enumerate(prefixes):
            if not self.check(f"{path}[{index}]", prefix, prefix_problem):
                continue
            if prefix in seen:
                self.add(f"{path}[{index}]", f"{prefix!r} is listed twice")
            seen.add(prefix)
        return prefixes

    def string_pairs(self, path: str, value: object) -> tuple[tuple[str, str], ...]:
        """A mapping of strings (or a sequence of pairs) as sorted ``(key, value)`` pairs."""
        if value is None:
            return ()
        if isinstance(value, Mapping):
            pairs: list[Any] = list(value.items())
        elif is_list_like(value) and all(
            is_list_like(p) and len(p) == 2
            for p in value  # type: ignore[attr-defined]
        ):
            pairs = [tuple(p) for p in value]  # type: ignore[attr-defined]
        else:
            self.add(path, f"{describe_value(value)} must be an object of names to string values")
            return ()
        good = True
        for key, item in pairs:
            if not isinstance(key, str):
                self.add(path, f"key {describe_value(key)} must be a string")
                good = False
            elif not isinstance(item, str):
                self.add(f"{path}.{key}", f"{describe_value(item)} must be a string")
                good = False
        return tuple(sorted(pairs)) if good else ()

    def instance(self, path: str, value: object, kind: type, what: str) -> bool:
        if isinstance(value, kind):
            return True
        self.add(path, f"{describe_value(value)} must be {what}")
        return False
