"""The one reading of IAM policy statements, used by ``preflight``, ``review`` and the tests.

Does a policy let a principal call an action on every resource of a set? Read the way IAM
reads it: ``Principal`` and ``NotPrincipal``, action wildcards (``ecr:Replicate*``, ``ecr:*``,
``*``; case-insensitive) and ``NotAction``, resource patterns and ``NotResource``, an explicit
``Deny`` over any ``Allow``. A statement with a ``Condition`` cannot be evaluated without the
request's context, so it makes the answer :attr:`Decision.CONDITIONAL`, never a plain yes.

Given the context a service sends (``evaluate(..., context={...})``; a list for a multivalued
key, even of one value) the conditions are evaluated as the IAM user guide describes them
("Condition operators", "Conditions with multiple context keys or values", "Single-valued vs.
multivalued context keys", "Policy variables"):

* ``String*``, ``Arn*`` (each of the six ARN parts matched on its own), ``Bool``, ``Null``, and
  their ``IfExists`` forms; every key of an operator and every operator of a condition must
  hold; an operator holds when any of its values matches, a negated one
  (``StringNotEquals``, ``ArnNotLike``, ...) when none does;
* ``ForAnyValue`` holds when some value of the key holds the operator (never when the key is
  absent), ``ForAllValues`` when every value does (always when it is absent); a negated
  operator under them is judged per value;
* a key the request does not carry: only ``...IfExists``, the negated operators,
  ``ForAllValues`` and ``Null`` can then hold;
* policy variables (``${aws:PrincipalAccount}``, ``${aws:PrincipalTag/team, 'none'}``,
  ``${*}``) in condition values and in ``Resource`` / ``NotResource``, substituted from the
  context as literal text.

What it cannot decide leaves the statement :attr:`Decision.CONDITIONAL` (as a condition does
without a context), never a guess: an operator it does not read (numeric, date, IP address,
binary); a single-valued operator on a multivalued key (IAM requires a set qualifier there);
``IfExists`` under a set qualifier, ``Null`` with either; a ``Bool`` value that is not
``true``/``false``; an ``Arn*`` operator on a value or pattern that is not a six-part ARN; a
policy variable the context lacks (without a default) or that names a multivalued key; a
policy variable in a resource pattern without a context.

A wanted resource is a literal ARN or a literal prefix followed by one ``*`` (what grants
produce: ``...:repository/prod/*`` stands for every repository whose name starts with
``prod/``). An ``Allow`` must cover the whole set with one of its patterns; a ``Deny`` counts as
soon as it reaches part of it. In a resource pattern a wildcard stays within its colon-separated
ARN segment, except a ``*`` that ends one, which may reach over colons (IAM user guide, "IAM
JSON policy elements: Resource").

Not modelled: the union of several ``Allow`` statements that each cover part of a set, and
IAM's rules for principals of the resource's own account (an ``Allow`` naming the account is
read as allowing any principal of it, as for a caller in another account whose own policies
allow the call).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..naming import account_root_arn

Statement = Mapping[str, Any]


class Decision(Enum):
    ALLOWED = "allowed"
    """An unconditional ``Allow`` covers the request and no ``Deny`` reaches it."""
    CONDITIONAL = "conditional"
    """Allowed only if what the evaluator cannot decide goes one way: a ``Condition`` (of an
    ``Allow``, or of a ``Deny`` that reaches it), or a statement's policy variable."""
    DENIED = "denied"
    """An unconditional ``Deny`` reaches (part of) the request."""
    NOT_ALLOWED = "not-allowed"
    """No statement allows it (IAM's implicit deny). A ``Deny`` the evaluator cannot decide may
    reach it too: then it is not allowed either way, explicitly or implicitly."""


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

RequestContext = Mapping[str, str | bool | Sequence[str]]
"""The condition keys a request carries (``aws:SourceAccount``, ``kms:GrantIsForAWSResource``);
a list for a multivalued key."""


class _UndecidableError(Exception):
    """Something this evaluator cannot decide (see the module's docstring for the list)."""


def as_list(value: object) -> list[Any]:
    """A policy element (one value or a list) as a list."""
    if isinstance(value, list | tuple):
        return list(value)
    return [] if value is None else [value]


def _lookup(context: RequestContext, key: str) -> str | list[str] | None:
    """The request's value of a condition key (keys are case-insensitive; a list for a
    multivalued key), or None when it does not carry the key."""

    def text(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    for name, value in context.items():
        if name.lower() == key.lower():
            return [text(v) for v in value] if isinstance(value, list | tuple) else text(value)
    return None


_VARIABLE_DEFAULT = re.compile(r"\s*(?P<name>[^,]+?)\s*,\s*'(?P<default>[^']*)'\s*")
_SPECIAL_VARIABLES = frozenset({"*", "?", "$"})


def _variable(body: str, context: RequestContext | None) -> str | None:
    """The text a policy variable ``${body}`` stands for in this request; None when the
    request does not say (no context, no such key and no default, a multivalued key)."""
    if body in _SPECIAL_VARIABLES:
        return body
    default = _VARIABLE_DEFAULT.fullmatch(body)
    name, fallback = (default["name"], default["default"]) if default else (body.strip(), None)
    value = None if context is None else _lookup(context, name)
    if value is None and fallback is not None:
        return fallback
    return value if isinstance(value, str) else None


_LITERAL, _ANY, _IN_SEGMENT, _ONE, _ONE_IN_SEGMENT = "text", "*", "*:", "?", "?:"
_UNKNOWN = "${}"
"""A policy variable the request does not give a value: some text, which one is not known."""
_Token = tuple[str, str]


def _tokens(
    pattern: str, context: RequestContext | None, *, segments: bool, wildcards: bool = True
) -> tuple[_Token, ...]:
    """A policy value as tokens: literal text (policy variables substituted), ``*`` and ``?``,
    and :data:`_UNKNOWN` for a variable the request does not give.

    ``segments``: an ARN resource pattern, whose wildcards stay within a colon-separated
    segment, except a ``*`` that ends one. ``wildcards`` False: ``*`` and ``?`` are literal
    (``StringEquals``).
    """
    found: list[_Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        end = pattern.find("}", index + 2) if pattern.startswith("${", index) else -1
        if end != -1:
            value = _variable(pattern[index + 2 : end], context)
            found.append((_UNKNOWN, "") if value is None else (_LITERAL, value))
            index = end + 1
            continue
        if wildcards and char == "*":
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            found.append((_ANY if not segments or ends_segment else _IN_SEGMENT, ""))
        elif wildcards and char == "?":
            found.append((_ONE_IN_SEGMENT if segments else _ONE, ""))
        else:
            found.append((_LITERAL, char))
        index += 1
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _plain_tokens(pattern: str, segments: bool) -> tuple[_Token, ...]:
    return _tokens(pattern, None, segments=segments)


def _pattern_tokens(
    pattern: str, context: RequestContext | None, *, segments: bool
) -> tuple[_Token, ...]:
    if "${" not in pattern:
        return _plain_tokens(pattern, segments)
    return _tokens(pattern, context, segments=segments)


_REGEX_OF = {_ANY: ".*", _IN_SEGMENT: "[^:]*", _ONE: ".", _ONE_IN_SEGMENT: "[^:]", _UNKNOWN: ".*"}


@functools.lru_cache(maxsize=4096)
def _regex(tokens: tuple[_Token, ...], ignore_case: bool = False) -> re.Pattern[str]:
    regex = "".join(
        re.escape(text) if kind == _LITERAL else _REGEX_OF[kind] for kind, text in tokens
    )
    return re.compile(regex, (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)


def _decided(matched: bool, tokens: tuple[_Token, ...]) -> bool | None:
    """A match found with an unknown variable standing for any text is not decided; no match
    is (no value of the variable could make one)."""
    return None if matched and any(kind == _UNKNOWN for kind, _ in tokens) else matched


def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*`` any run of characters, ``?`` one) as a regex."""
    return _regex(_plain_tokens(pattern, False), ignore_case)


def action_matches(pattern: object, action: str) -> bool:
    """Whether an ``Action`` entry (``ecr:*``, ``ecr:Replicate*``) names ``action``."""
    return isinstance(pattern, str) and _glob(pattern, True).fullmatch(action) is not None


def _is_prefix_set(wanted: str) -> bool:
    return wanted.endswith("*") and "*" not in wanted[:-1] and "?" not in wanted


def _covers(pattern: object, wanted: str, context: RequestContext | None) -> bool | None:
    """Whether every ARN of ``wanted`` matches the resource ``pattern`` (None: undecided)."""
    if not isinstance(pattern, str):
        return False
    tokens = _pattern_tokens(pattern, context, segments=True)
    if not _is_prefix_set(wanted):
        return _decided(_regex(tokens).fullmatch(wanted) is not None, tokens)
    if not tokens or tokens[-1][0] != _ANY:
        return False
    return _decided(_regex(tokens[:-1]).match(wanted[:-1]) is not None, tokens[:-1])


def _overlaps(pattern: object, wanted: str, context: RequestContext | None) -> bool | None:
    """Whether some ARN of ``wanted`` matches the resource ``pattern`` (None: undecided)."""
    if not isinstance(pattern, str):
        return False
    tokens = _pattern_tokens(pattern, context, segments=True)
    if not _is_prefix_set(wanted):
        return _decided(_regex(tokens).fullmatch(wanted) is not None, tokens)
    return _decided(_can_extend(tokens, wanted[:-1]), tokens)


def resource_covers(pattern: object, wanted: str) -> bool:
    """Whether every ARN of ``wanted`` matches the policy's resource ``pattern``.

    ``repository/prod*`` and ``repository/*`` cover ``repository/prod/*``;
    ``repository/prod/api*`` does not. A set (trailing ``*``) is covered exactly when the
    pattern ends in ``*`` and the rest of it matches some beginning of the set's prefix.
    """
    return _covers(pattern, wanted, None) is True


def resource_overlaps(pattern: object, wanted: str) -> bool:
    """Whether some ARN of ``wanted`` matches the policy's resource ``pattern``."""
    return _overlaps(pattern, wanted, None) is True


def _can_extend(tokens: tuple[_Token, ...], literal: str) -> bool:
    """Whether some string that starts with ``literal`` matches the pattern ``tokens``.

    Runs the pattern as a small automaton over the literal: any state still alive afterwards
    can be completed, since a pattern's rest (text, ``?``, ``*``) always has a match.
    """
    stars = (_ANY, _IN_SEGMENT, _UNKNOWN)

    def closure(states: set[int]) -> set[int]:
        result = set(states)
        for state in states:
            index = state
            while index < len(tokens) and tokens[index][0] in stars:
                index += 1
                result.add(index)
        return result

    states = closure({0})
    for char in literal:
        following: set[int] = set()
        for state in states:
            if state == len(tokens):
                continue
            kind, text = tokens[state]
            if kind in (_ANY, _UNKNOWN) or (kind == _IN_SEGMENT and char != ":"):
                following.add(state)
            elif kind == _ONE or (kind == _ONE_IN_SEGMENT and char != ":") or text == char:
                following.add(state + 1)
        states = closure(following)
        if not states:
            return False
    return True


def _any3(values: Iterable[bool | None]) -> bool | None:
    """Kleene's "or": True if one is True, None (undecided) if one is, else False."""
    undecided = False
    for value in values:
        if value is True:
            return True
        undecided = undecided or value is None
    return None if undecided else False


def _all3(values: Iterable[bool | None]) -> bool | None:
    """Kleene's "and": False if one is False, None (undecided) if one is, else True."""
    undecided = False
    for value in values:
        if value is False:
            return False
        undecided = undecided or value is None
    return None if undecided else True


def _not3(value: bool | None) -> bool | None:
    return None if value is None else not value


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


def _covers_resource(
    statement: Statement, wanted: str, context: RequestContext | None
) -> bool | None:
    if _names_no_resource(statement):
        return True
    if "NotResource" in statement:
        return _not3(
            _any3(_overlaps(p, wanted, context) for p in as_list(statement["NotResource"]))
        )
    return _any3(_covers(p, wanted, context) for p in as_list(statement.get("Resource")))


def _reaches_resource(
    statement: Statement, wanted: str, context: RequestContext | None
) -> bool | None:
    if _names_no_resource(statement):
        return True
    if "NotResource" in statement:
        return _not3(_any3(_covers(p, wanted, context) for p in as_list(statement["NotResource"])))
    return _any3(_overlaps(p, wanted, context) for p in as_list(statement.get("Resource")))


def statements_of(document: object) -> list[Statement]:
    """The statements of a policy document (one statement or a list; malformed ones skipped)."""
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def statement_name(statement: Statement, index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


# ---------------------------------------------------------------------------------------------
# Conditions

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
_BOOLEANS = ("true", "false")


def _split_arn(pattern: str) -> list[str]:
    """An ARN (pattern) in its six parts, split at colons outside ``${...}``; the last part
    keeps its own colons."""
    parts: list[str] = []
    start = index = 0
    while index < len(pattern) and len(parts) < 5:
        if pattern.startswith("${", index) and (end := pattern.find("}", index + 2)) != -1:
            index = end + 1
            continue
        if pattern[index] == ":":
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    return [*parts, pattern[start:]]


def _value_matches(base: str, expected: str, actual: str, context: RequestContext) -> bool | None:
    """Whether one value of the request matches one value of the policy, negation aside
    (None: undecided).

    Raises :class:`_UndecidableError` for what the evaluator cannot decide.
    """
    if base in ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
                "StringNotEqualsIgnoreCase"):  # fmt: skip
        tokens = _tokens(expected, context, segments=False, wildcards=False)
        matched = _regex(tokens, "IgnoreCase" in base).fullmatch(actual) is not None
        return _decided(matched, tokens)
    if base in ("StringLike", "StringNotLike"):
        tokens = _pattern_tokens(expected, context, segments=False)
        return _decided(_regex(tokens).fullmatch(actual) is not None, tokens)
    if base == "Bool":
        tokens = _tokens(expected, context, segments=False, wildcards=False)
        wanted, value = "".join(text for _, text in tokens).lower(), actual.lower()
        if any(kind == _UNKNOWN for kind, _ in tokens):
            return None
        if wanted not in _BOOLEANS or value not in _BOOLEANS:
            raise _UndecidableError(f"Bool: {expected!r} or {actual!r} is not true or false")
        return wanted == value
    # ArnEquals, ArnLike and their negations: each of the six parts on its own.
    patterns, values = _split_arn(expected), actual.split(":", 5)
    if len(patterns) != 6 or len(values) != 6:
        raise _UndecidableError(f"{base}: {expected!r} or {actual!r} is not an ARN")
    parts = []
    for pattern, value in zip(patterns, values, strict=True):
        tokens = _pattern_tokens(pattern, context, segments=False)
        parts.append(_decided(_regex(tokens).fullmatch(value) is not None, tokens))
    return _all3(parts)


def _value_holds(
    base: str, expected: list[str], actual: str, context: RequestContext
) -> bool | None:
    """An operator on one value of the request: any policy value matches; a negated operator:
    none does (IAM: several values of a negated operator are a NOR)."""

    def matches(value: str) -> bool | None:
        try:
            return _value_matches(base, value, actual, context)
        except _UndecidableError:
            return None

    found = _any3(matches(value) for value in expected)
    return _not3(found) if base in _NEGATED else found


def _entry_holds(
    operator: str, key: str, expected: list[str], context: RequestContext
) -> bool | None:
    """One operator on one key (None: the evaluator cannot decide)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    actual = _lookup(context, key)
    if base == "Null":
        wanted = {value.lower() for value in expected}
        if qualifier or if_exists or not wanted <= set(_BOOLEANS):
            return None
        return ("true" if actual is None else "false") in wanted
    if qualifier:
        if if_exists:
            return None
        if actual is None:
            return qualifier == "ForAllValues"
        each = [
            _value_holds(base, expected, value, context)
            for value in (actual if isinstance(actual, list) else [actual])
        ]
        return _any3(each) if qualifier == "ForAnyValue" else _all3(each)
    if actual is None:
        return if_exists or base in _NEGATED
    if isinstance(actual, list):
        return None  # a multivalued key needs a set qualifier
    return _value_holds(base, expected, actual, context)


def condition_holds(condition: object, context: RequestContext) -> bool | None:
    """Whether a statement's ``Condition`` holds for a request carrying ``context``: every
    operator, every key; None when the evaluator cannot decide it (and nothing decides it
    false)."""
    if not isinstance(condition, Mapping):
        return None

    def entries() -> Iterator[bool | None]:
        for operator, keys in condition.items():
            if not isinstance(keys, Mapping):
                yield None
                continue
            for key, expected in keys.items():
                values = [
                    str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)
                ]
                yield _entry_holds(str(operator), str(key), values, context) if values else False

    return _all3(entries())


def _unresolved(statement: Statement, context: RequestContext | None) -> bool:
    """Whether the statement holds a policy variable this request gives no value."""

    def texts(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping):
            for item in value.values():
                yield from texts(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from texts(item)

    for key in ("Resource", "NotResource", "Condition"):
        for text in texts(statement.get(key)):
            if "${" in text and any(
                kind == _UNKNOWN for kind, _ in _tokens(text, context, segments=False)
            ):
                return True
    return False


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
        holds: bool | None = True
        if statement.get("Condition"):
            holds = None if context is None else condition_holds(statement["Condition"], context)
            if holds is False:
                continue
        effect = statement.get("Effect")
        if effect == "Deny":
            applies = _reaches_resource(statement, resource, context)
        elif effect == "Allow":
            applies = _covers_resource(statement, resource, context)
        else:
            continue
        if applies is False:
            continue
        # IAM: a variable it cannot resolve may make the whole statement invalid (ignored).
        decided = holds is True and applies is True and not _unresolved(statement, context)
        name = statement_name(statement, index)
        if effect == "Deny":
            (denied if decided else conditional_deny).append(name)
        else:
            (allowed if decided else conditional).append(name)
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
