"""The one reading of IAM policy statements, used by ``preflight``, ``review`` and the tests.

Does a policy let a principal call an action on every resource of a set? Read the way IAM
reads it: ``Principal`` and ``NotPrincipal``, action wildcards (``ecr:Replicate*``, ``ecr:*``,
``*``; case-insensitive) and ``NotAction``, resource patterns and ``NotResource``, an explicit
``Deny`` over any ``Allow``. A statement with a ``Condition`` cannot be evaluated without the
request's context, so it makes the answer :attr:`Decision.CONDITIONAL`, never a plain yes;
given the context a service sends (``evaluate(..., context={...})``), the common operators
(``String*``, ``Arn*``, ``Bool``, ``Null``, their ``IfExists`` forms and the ``ForAnyValue`` /
``ForAllValues`` set qualifiers) are evaluated, with IAM's rule for a key the request does not
carry: only ``...IfExists``, the negated operators and ``Null`` can then hold.

A wanted resource is a literal ARN or a literal prefix followed by one ``*`` (what grants
produce: ``...:repository/prod/*`` stands for every repository whose name starts with
``prod/``). An ``Allow`` must cover the whole set with one of its patterns; a ``Deny`` counts as
soon as it reaches part of it.

Not modelled: policy variables (``${aws:username}``) and the union of several ``Allow``
statements that each cover part of a set.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..naming import account_root_arn

Statement = Mapping[str, Any]


class Decision(Enum):
    ALLOWED = "allowed"
    """An unconditional ``Allow`` covers the request and no ``Deny`` reaches it."""
    CONDITIONAL = "conditional"
    """Allowed only if a ``Condition`` holds (of an ``Allow``, or of a ``Deny`` that reaches it)."""
    DENIED = "denied"
    """An unconditional ``Deny`` reaches (part of) the request."""
    NOT_ALLOWED = "not-allowed"
    """No statement allows it (IAM's implicit deny)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Caller:
    """Who calls: an account as a whole (``arn`` None: any principal of it, such as ECR's
    replication service-linked role) or one principal ARN of that account; or, with
    ``service``, an AWS service principal (``events.amazonaws.com``) acting for ``account``."""

    account: str
    partition: str = "aws"
    arn: str | None = None
    service: str | None = None

    @property
    def root(self) -> str:
        return account_root_arn(self.partition, self.account)


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluation:
    """The answer for one request, and the statements (``Sid`` or ``#index``) that gave it."""

    decision: Decision
    statements: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED

    def reason(self) -> str:
        """Why it is not plainly allowed, in words (empty when it is)."""
        named = ", ".join(self.statements)
        if self.decision is Decision.DENIED:
            return f"denied by statement {named}"
        if self.decision is Decision.CONDITIONAL:
            return (
                f"only under a Condition (statement {named}), which ECR's replication role may "
                "not meet"
            )
        if self.decision is Decision.NOT_ALLOWED:
            return "no statement allows it"
        return ""


# ---------------------------------------------------------------------------------------------
# Patterns


def as_list(value: object) -> list[Any]:
    """A policy element (one value or a list) as a list."""
    if isinstance(value, list | tuple):
        return list(value)
    return [] if value is None else [value]


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*`` any run of characters, ``?`` one) as a regex."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(regex, (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)


def action_matches(pattern: object, action: str) -> bool:
    """Whether an ``Action`` entry (``ecr:*``, ``ecr:Replicate*``) names ``action``."""
    return isinstance(pattern, str) and _glob(pattern, True).fullmatch(action) is not None


def _is_prefix_set(wanted: str) -> bool:
    return wanted.endswith("*") and "*" not in wanted[:-1] and "?" not in wanted


def resource_covers(pattern: object, wanted: str) -> bool:
    """Whether every ARN of ``wanted`` matches the policy's resource ``pattern``.

    ``repository/prod*`` and ``repository/*`` cover ``repository/prod/*``;
    ``repository/prod/api*`` does not. A set (trailing ``*``) is covered exactly when the
    pattern ends in ``*`` and the rest of it matches some beginning of the set's prefix.
    """
    if not isinstance(pattern, str):
        return False
    if not _is_prefix_set(wanted):
        return _glob(pattern, False).fullmatch(wanted) is not None
    if not pattern.endswith("*"):
        return False
    return _glob(pattern[:-1], False).match(wanted[:-1]) is not None


def resource_overlaps(pattern: object, wanted: str) -> bool:
    """Whether some ARN of ``wanted`` matches the policy's resource ``pattern``."""
    if not isinstance(pattern, str):
        return False
    if not _is_prefix_set(wanted):
        return _glob(pattern, False).fullmatch(wanted) is not None
    return _can_extend(pattern, wanted[:-1])


def _can_extend(pattern: str, literal: str) -> bool:
    """Whether some string that starts with ``literal`` matches the glob ``pattern``.

    Runs the pattern as a small automaton over the literal: any state still alive afterwards
    can be completed, since a pattern's rest (characters, ``?``, ``*``) always has a match.
    """

    def closure(states: set[int]) -> set[int]:
        result = set(states)
        for state in states:
            index = state
            while index < len(pattern) and pattern[index] == "*":
                index += 1
                result.add(index)
        return result

    states = closure({0})
    for char in literal:
        following: set[int] = set()
        for state in states:
            if state == len(pattern):
                continue
            token = pattern[state]
            if token == "*":
                following.add(state)
            elif token in ("?", char):
                following.add(state + 1)
        states = closure(following)
        if not states:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Statements


def principal_names(value: object) -> list[str]:
    """The principals of a ``Principal`` / ``NotPrincipal`` element (``*`` for anyone)."""
    if value == "*":
        return ["*"]
    if not isinstance(value, Mapping):
        return []
    return [str(name) for kind in value.values() for name in as_list(kind)]


def _names_caller(names: Iterable[str], caller: Caller) -> bool:
    if caller.service is not None:
        return any(name in ("*", caller.service) for name in names)
    for name in names:
        if name == "*" or name in (caller.account, caller.root):
            return True
        if caller.arn is not None and name == caller.arn:
            return True
    return False


def principal_matches(statement: Statement, caller: Caller) -> bool:
    """Whether a resource-policy statement applies to ``caller``."""
    if "NotPrincipal" in statement:
        return not _names_caller(principal_names(statement["NotPrincipal"]), caller)
    return _names_caller(principal_names(statement.get("Principal")), caller)


def applies_to_action(statement: Statement, action: str) -> bool:
    """Whether a statement's ``Action`` (or ``NotAction``) reaches ``action``."""
    if "NotAction" in statement:
        return not any(action_matches(p, action) for p in as_list(statement["NotAction"]))
    return any(action_matches(p, action) for p in as_list(statement.get("Action")))


def _names_no_resource(statement: Statement) -> bool:
    """A resource policy's statement may leave the resource out (a role's trust policy): it is
    then about the resource the policy is attached to, which is the one asked about."""
    return (
        "Resource" not in statement
        and "NotResource" not in statement
        and ("Principal" in statement or "NotPrincipal" in statement)
    )


def _covers_resource(statement: Statement, wanted: str) -> bool:
    if _names_no_resource(statement):
        return True
    if "NotResource" in statement:
        return not any(resource_overlaps(p, wanted) for p in as_list(statement["NotResource"]))
    return any(resource_covers(p, wanted) for p in as_list(statement.get("Resource")))


def _reaches_resource(statement: Statement, wanted: str) -> bool:
    if _names_no_resource(statement):
        return True
    if "NotResource" in statement:
        return not any(resource_covers(p, wanted) for p in as_list(statement["NotResource"]))
    return any(resource_overlaps(p, wanted) for p in as_list(statement.get("Resource")))


def statements_of(document: object) -> list[Statement]:
    """The statements of a policy document (one statement or a list; malformed ones skipped)."""
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def statement_name(statement: Statement, index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


# ---------------------------------------------------------------------------------------------
# Conditions

RequestContext = Mapping[str, str | bool | Sequence[str]]
"""The condition keys a request carries (``aws:SourceAccount``, ``kms:GrantIsForAWSResource``);
a list for a multi-valued key."""

_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike")  # fmt: skip


_OPERATORS = (
    *_NEGATED,
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "Bool",
    "Null",
)


class _UnknownOperatorError(Exception):
    """A condition operator this evaluator does not read (numeric, date, IP address, ...)."""


def _value_matches(operator: str, expected: str, actual: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals",
                    "ArnNotLike"):  # fmt: skip
        return _glob(expected, False).fullmatch(actual) is not None
    if operator == "Bool":
        return actual.lower() == expected.lower()
    raise _UnknownOperatorError(operator)


def _context_value(context: RequestContext, key: str) -> list[str] | None:
    """The request's values of a condition key (keys are case-insensitive), or None."""
    for name, value in context.items():
        if name.lower() == key.lower():
            values = value if isinstance(value, list | tuple) else [value]
            return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return None


def _entry_holds(operator: str, key: str, expected: list[str], context: RequestContext) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise _UnknownOperatorError(operator)
    actual = _context_value(context, key)
    if base == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    negated = base in _NEGATED
    if actual is None:
        return if_exists or negated or qualifier == "ForAllValues"
    if qualifier == "ForAllValues":
        return all(any(_value_matches(base, e, a) for e in expected) for a in actual)
    matched = any(_value_matches(base, e, a) for e in expected for a in actual)
    return not matched if negated else matched


def condition_holds(condition: object, context: RequestContext) -> bool:
    """Whether a statement's ``Condition`` holds for a request carrying ``context``.

    Raises :class:`_UnknownOperatorError` for an operator it does not read.
    """
    if not isinstance(condition, Mapping):
        raise _UnknownOperatorError(repr(condition))
    for operator, entries in condition.items():
        if not isinstance(entries, Mapping):
            raise _UnknownOperatorError(str(operator))
        for key, expected in entries.items():
            values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]
            if not values or not _entry_holds(str(operator), str(key), values, context):
                return False
    return True


def evaluate(
    statements: Sequence[Statement] | Mapping[str, Any],
    *,
    caller: Caller | None,
    action: str,
    resource: str,
    context: RequestContext | None = None,
) -> Evaluation:
    """Whether the statements let ``caller`` call ``action`` on every ARN of ``resource``.

    ``statements``: a policy document or its statements. ``caller`` None evaluates an identity
    policy (no ``Principal``: the statements apply to whoever holds them). ``context``: the
    condition keys of the request; without it a ``Condition`` makes the answer conditional.
    """
    listed = statements_of(statements) if isinstance(statements, Mapping) else list(statements)
    allowed: list[str] = []
    conditional: list[str] = []
    denied: list[str] = []
    conditional_deny: list[str] = []
    for index, statement in enumerate(listed):
        if not isinstance(statement, Mapping):
            continue
        if caller is not None and not principal_matches(statement, caller):
            continue
        if not applies_to_action(statement, action):
            continue
        name = statement_name(statement, index)
        has_condition = bool(statement.get("Condition"))
        if has_condition and context is not None:
            try:
                if not condition_holds(statement["Condition"], context):
                    continue
                has_condition = False
            except _UnknownOperatorError:
                pass  # stays conditional: this evaluator cannot say
        effect = statement.get("Effect")
        if effect == "Deny" and _reaches_resource(statement, resource):
            (conditional_deny if has_condition else denied).append(name)
        elif effect == "Allow" and _covers_resource(statement, resource):
            (conditional if has_condition else allowed).append(name)
    if denied:
        return Evaluation(decision=Decision.DENIED, statements=tuple(denied))
    if allowed and conditional_deny:
        return Evaluation(decision=Decision.CONDITIONAL, statements=tuple(conditional_deny))
    if allowed:
        return Evaluation(decision=Decision.ALLOWED, statements=tuple(allowed))
    if conditional:
        return Evaluation(decision=Decision.CONDITIONAL, statements=tuple(conditional))
    return Evaluation(decision=Decision.NOT_ALLOWED)


def patterns_intersect(first: str, second: str) -> bool:
    """Whether two IAM wildcard patterns (``*``, ``?``) can match a common string.

    E.g. a policy resource ``arn:aws:logs:*:*:log-group:app:*`` and an ARN format
    ``arn:*:logs:*:*:log-group:*:log-stream:*`` (placeholders as ``*``) do; a repository ARN
    and a log-group format do not.
    """

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        a = first[i] if i < len(first) else None
        b = second[j] if j < len(second) else None
        if a == "*":
            return meet(i + 1, j) or (b is not None and meet(i, j + 1))
        if b == "*":
            return meet(i, j + 1) or (a is not None and meet(i + 1, j))
        if a is None or b is None:
            return False
        return (a == b or "?" in (a, b)) and meet(i + 1, j + 1)

    return meet(0, 0)


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def arn_format_pattern(arn_format: str) -> str:
    """An ARN format of the IAM reference (``arn:${Partition}:ecr:...``) as a wildcard pattern."""
    return _PLACEHOLDER.sub("*", arn_format)


def arn_patterns_intersect(first: str, second: str) -> bool:
    """Whether two ARN patterns can name a common ARN, field by field.

    The partition, service, region and account fields are compared on their own, so a
    wildcard in a repository name never reaches into another service's ARN; the resource
    field (everything after the fifth colon, which may hold colons itself) is compared whole.
    Anything that is not an ARN is compared as one pattern.
    """
    a, b = first.split(":", 5), second.split(":", 5)
    if len(a) != 6 or len(b) != 6:
        return patterns_intersect(first, second)
    return all(patterns_intersect(x, y) for x, y in zip(a, b, strict=True))
