"""Field checks shared by every value object, so that one rule gives one message everywhere.

A value object's ``__post_init__`` runs its fields through a :class:`FieldChecks`, which
records each problem under the field's JSON name (the topology key: ``repositoryPrefixes``)
and normalises what Python allows in several forms (any sequence becomes a tuple). The JSON
reader builds value objects from the JSON form and lets them check themselves, so a Python
user and a ``cdk.json`` user read the same messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from ..errors import ProblemCollector, describe_value
from .limits import (
    ACCOUNT_PATTERN,
    ECR_FILTER_PATTERN,
    KMS_ALIAS_ARN_PATTERN,
    KMS_KEY_ARN_PARTS,
    KMS_KEY_ARN_PATTERN,
    ORG_ID_PATTERN,
    REGISTRY_POLICY_ACTION_PATTERN,
    REGISTRY_POLICY_V1_ACTIONS,
    ecr_template_kms_key_pattern,
    is_known_region,
    region_partitions,
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


KMS_KEY_ARN_EXAMPLE = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def kms_key_arn_problem(value: object) -> str | None:
    """Why a value is not the full ARN of a KMS key (an alias ARN is refused by name)."""
    if isinstance(value, str) and KMS_KEY_ARN_PATTERN.match(value):
        return None
    if isinstance(value, str) and KMS_ALIAS_ARN_PATTERN.match(value):
        return (
            f"{value!r} is an alias ARN; give the key ARN (arn:PARTITION:kms:REGION:ACCOUNT:"
            "key/KEY-ID), not an alias"
        )
    return (
        f"{describe_value(value)} is not a KMS key ARN: arn:PARTITION:kms:REGION:ACCOUNT:key/ and "
        f"the key id (a lower-case UUID, or mrk- and 32 hex digits), e.g. {KMS_KEY_ARN_EXAMPLE!r}"
    )


def template_kms_key_problem(value: object) -> str | None:
    """Why a value cannot be a repository creation template's ``KmsKey``: what the installed
    botocore model of ECR accepts decides (the full ARN of a key), so an upgrade carries AWS's
    contract forward; an alias is named as such."""
    if isinstance(value, str) and KMS_ALIAS_ARN_PATTERN.match(value):
        return kms_key_arn_problem(value)
    pattern = ecr_template_kms_key_pattern()
    if isinstance(value, str) and value and pattern.fullmatch(value):
        return None
    return (
        f"{describe_value(value)} is not a key ARN ECR accepts in a repository creation "
        f"template (pattern {pattern.pattern!r} of the ECR API), e.g. {KMS_KEY_ARN_EXAMPLE!r}"
    )


def key_location_problem(key_arn: str, account: str, region: str) -> str | None:
    """Why a (valid) KMS key ARN is not in this account, region and the region's partition."""
    match = KMS_KEY_ARN_PARTS.match(key_arn)
    if match is None:
        return None  # its form is reported where it is checked
    partition = region_partitions().get(region)
    wrong = [
        f"{what} {got!r}"
        for what, got, want in (
            ("partition", match["partition"], partition),
            ("account", match["account"], account),
            ("region", match["region"], region),
        )
        if got != want
    ]
    if not wrong:
        return None
    return (
        f"{key_arn!r} is in {', '.join(wrong)}; the key must be in the source registry's "
        f"account {account}, region {region} (partition {partition})"
    )


def set_field(instance: object, name: str, value: object) -> None:
    """Store a normalised field value on a frozen dataclass (during ``__post_init__`` only)."""
    object.__setattr__(instance, name, value)


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

    def statements(self, path: str, value: object) -> tuple[dict[str, Any], ...]:
        """Hand-written registry policy statements: each valid, Sids unique; stored as plain
        JSON data (a deep copy)."""
        if value is None:
            return ()
        if not is_list_like(value):
            self.add(path, f"{describe_value(value)} must be a list of IAM statements")
            return ()
        items = list(cast(Sequence[Any], value))
        before = len(self.problems)
        seen: dict[str, int] = {}
        for index, statement in enumerate(items):
            for field, message in registry_statement_problems(statement):
                self.add(f"{path}[{index}]{'.' + field if field else ''}", message)
            sid = statement.get("Sid") if isinstance(statement, Mapping) else None
            if isinstance(sid, str):
                if sid in seen:
                    self.add(
                        f"{path}[{index}].Sid",
                        f"{sid!r} is already the Sid of {path}[{seen[sid]}]; Sids must be unique",
                    )
                seen.setdefault(sid, index)
        if len(self.problems) > before:
            return ()
        try:
            return tuple(json.loads(json.dumps(s)) for s in items)
        except (TypeError, ValueError):
            self.add(path, "must hold JSON data only (strings, lists, objects)")
            return ()

    def instance(self, path: str, value: object, kind: type, what: str) -> bool:
        if isinstance(value, kind):
            return True
        self.add(path, f"{describe_value(value)} must be {what}")
        return False


# ---------------------------------------------------------------------------------------------
# Registry policy statements written by hand (kept beside the generated grants)

REGISTRY_POLICY_ACTIONS = REGISTRY_POLICY_V1_ACTIONS
"""The actions of registry policy scope V1: replication and pull-through cache, what the
library's grants and its readings of a registry policy are about. Under scope V2 a registry
policy may hold any ECR action (``REGISTRY_POLICY_ACTION_PATTERN``)."""
STATEMENT_KEYS = ("Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "Condition")
_SID = re.compile(r"^[A-Za-z0-9]{1,100}$")


def _string_or_strings(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if is_list_like(value):
        items = list(cast(Sequence[Any], value))
        if items and all(isinstance(v, str) for v in items):
            return [str(v) for v in items]
    return None


def registry_statement_problems(statement: object) -> list[tuple[str, str]]:
    """``(field, message)`` for each problem of one hand-written registry policy statement."""
    if not isinstance(statement, Mapping):
        return [("", f"{describe_value(statement)} must be an IAM statement object")]
    problems: list[tuple[str, str]] = []
    for key in statement:
        if key not in STATEMENT_KEYS:
            problems.append(
                (str(key), f"unknown key; allowed keys here are {', '.join(STATEMENT_KEYS)}")
            )
    sid = statement.get("Sid")
    if not (isinstance(sid, str) and _SID.match(sid)):
        problems.append(
            (
                "Sid",
                f"{describe_value(sid)} must be 1 to 100 letters and digits (a kept "
                "statement is named by its Sid in every report)",
            )
        )
    if statement.get("Effect") not in ("Allow", "Deny"):
        problems.append(
            ("Effect", f"{describe_value(statement.get('Effect'))} must be Allow or Deny")
        )
    if ("Action" in statement) == ("NotAction" in statement):
        problems.append(("Action", "give exactly one of Action and NotAction"))
    for key in ("Action", "NotAction"):
        if key not in statement:
            continue
        actions = _string_or_strings(statement[key])
        if actions is None:
            problems.append(
                (key, f"{describe_value(statement[key])} must be a string or a list of strings")
            )
            continue
        for index, action in enumerate(actions):
            if not REGISTRY_POLICY_ACTION_PATTERN.match(action):
                problems.append(
                    (
                        f"{key}[{index}]" if is_list_like(statement[key]) else key,
                        f"{action!r} is not an ECR action; a registry policy holds ecr: actions "
                        "only (any of them under registry policy scope V2, e.g. "
                        f"'ecr:BatchGetImage'; under V1 only {', '.join(REGISTRY_POLICY_ACTIONS)})",
                    )
                )
    principal = statement.get("Principal")
    if not (
        principal == "*"
        or (
            isinstance(principal, Mapping)
            and principal
            and all(k in ("AWS", "Service") and _string_or_strings(v) for k, v in principal.items())
        )
    ):
        problems.append(
            (
                "Principal",
                f'{describe_value(principal)} must be "*" or an object of AWS or Service principals',
            )
        )
    resources = _string_or_strings(statement.get("Resource"))
    if resources is None:
        problems.append(
            (
                "Resource",
                f"{describe_value(statement.get('Resource'))} must be a string or a list of strings",
            )
        )
    else:
        for index, resource in enumerate(resources):
            if resource != "*" and not (resource.startswith("arn:") and ":ecr:" in resource):
                problems.append(
                    (
                        f"Resource[{index}]"
                        if is_list_like(statement.get("Resource"))
                        else "Resource",
                        f"{resource!r} is not '*' or an ECR repository ARN",
                    )
                )
    if "Condition" in statement and not isinstance(statement["Condition"], Mapping):
        problems.append(
            ("Condition", f"{describe_value(statement['Condition'])} must be an object")
        )
    return problems
