"""The JSON form of a topology: CDK context key ``ecrReplication``, ``--config`` files.

The reader checks only what is particular to JSON (an object where one is due, unknown keys,
required keys) and builds the value objects, which check everything else themselves: one set
of rules and messages for Python and JSON users. The JSON keys are the value objects' field
names in camelCase (a field's ``metadata["json"]`` names another one), so the key lists are
never written twice.

Every problem of the whole input is reported at once, each under its field path, in the order
of the fields.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from ..errors import Problem, ProblemCollector, ReplicationConfigError, describe_value
from .backfill_function import BackfillFunctionSettings
from .checks import is_list_like
from .destinations import DestinationOverride, DestinationSettings
from .limits import MAX_FUNCTION_SECURITY_GROUPS, MAX_FUNCTION_SUBNETS
from .monitoring import MonitoringSettings, OperationsSettings
from .registries import Registry, ReplicationRule, SourceRegistry
from .roles import RoleSettings
from .templates import RepositoryTemplateSettings
from .topology import ReplicationTopology

CONTEXT_KEY = "ecrReplication"

T = TypeVar("T")
_FAILED: Any = object()
"""What a nested reader returns for an input it could not build (its problems are recorded)."""

NestedReader = Callable[[object, str, Any], Any]
"""``(raw value, field path, inherited value or None) -> value or _FAILED``."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def json_key(field: dataclasses.Field[Any]) -> str:
    """The JSON key of a value object's field."""
    return str(field.metadata.get("json", _camel(field.name)))


@functools.cache
def json_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """A value object's fields by JSON key, in declaration order."""
    return {json_key(f): f for f in dataclasses.fields(cls) if f.init}


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _first_key(path: str, prefix: str) -> str:
    """The key right under ``prefix`` in a problem's path (``rules`` of ``sources[0].rules[1]``)."""
    rest = path[len(prefix) :].lstrip(".") if prefix else path
    for index, char in enumerate(rest):
        if char in ".[":
            return rest[:index]
    return rest


class _Reader:
    """Reads JSON objects into value objects, recording problems instead of raising."""

    def __init__(self) -> None:
        self.problems = ProblemCollector()

    def read(
        self,
        cls: type[T],
        raw: object,
        path: str,
        *,
        base: Any = None,
        nested: Mapping[str, NestedReader] | None = None,
        extra_keys: tuple[str, ...] = (),
        adjust: Callable[[dict[str, Any], Mapping[str, Any]], dict[str, str]] | None = None,
    ) -> T | None:
        """Build ``cls`` from the JSON object ``raw`` found at ``path``; None if it is invalid.

        ``base``: an instance whose fields stand in for absent keys (settings merged key by
        key). ``nested``: readers for fields holding JSON objects. ``extra_keys``: keys the
        caller reads itself. ``adjust``: last changes to the keyword arguments, returning the
        problems particular to the JSON form (``{key: message}``).
        """
        if not isinstance(raw, Mapping):
            self.problems.add(path, f"{describe_value(raw)} must be a JSON object")
            return None
        fields = json_fields(cast(type, cls))
        allowed = (*extra_keys, *fields)
        for key in raw:
            if key not in allowed:
                self.problems.add(
                    _child(path, str(key)),
                    f"unknown key; allowed keys here are {', '.join(allowed)}",
                )
        start = len(self.problems.problems)
        kwargs: dict[str, Any] = {}
        failed: set[str] = set()
        for key, field in fields.items():
            if key in raw:
                value = raw[key]
                reader = (nested or {}).get(field.name)
                if reader is not None:
                    inherited = getattr(base, field.name) if base is not None else None
                    value = reader(value, _child(path, key), inherited)
                if value is _FAILED:
                    failed.add(key)
                    value = _placeholder(field)
                kwargs[field.name] = value
            elif base is not None:
                kwargs[field.name] = getattr(base, field.name)
            elif _required(field):
                self.problems.add(_child(path, key), "is required")
                failed.add(key)
                kwargs[field.name] = _placeholder(field)
        if adjust is not None:
            for key, message in adjust(kwargs, raw).items():
                self.problems.add(_child(path, key), message)
                failed.add(key)
        built: T | None = None
        try:
            built = cls(**kwargs)
        except ReplicationConfigError as error:
            # A field that could not be read stands in with a placeholder: its problems are
            # already recorded, and the placeholder's own would only repeat them.
            self.problems.problems.extend(
                p.under(path) for p in error.problems if _first_key(p.path, "") not in failed
            )
        ours = self.problems.problems[start:]
        order = {key: index for index, key in enumerate(fields)}
        ours.sort(key=lambda p: order.get(_first_key(p.path, path), len(order)))
        self.problems.problems[start:] = ours
        return None if failed or built is None else built

    def items(self, cls: type[T], read_item: Callable[[object, str], T | None]) -> NestedReader:
        """A nested reader for a JSON list of objects; a non-list goes to the value object."""

        def read(raw: object, path: str, _inherited: Any) -> Any:
            if not is_list_like(raw):
                return raw  # the value object says what it must be
            listed = cast(Sequence[Any], raw)
            items = [read_item(item, f"{path}[{index}]") for index, item in enumerate(listed)]
            return _FAILED if any(item is None for item in items) else items

        return read


def _or_failed(value: Any) -> Any:
    return _FAILED if value is None else value


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _placeholder(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return ()


# ---------------------------------------------------------------------------------------------
# The topology's parts


def _read_rule(reader: _Reader, raw: object, path: str) -> ReplicationRule | None:
    return reader.read(
        ReplicationRule,
        raw,
        path,
        nested={"destinations": reader.items(Registry, lambda r, p: reader.read(Registry, r, p))},
        adjust=_no_empty_prefix_list,
    )


def _no_empty_prefix_list(kwargs: dict[str, Any], raw: Mapping[str, Any]) -> dict[str, str]:
    # In JSON an empty list would read as "every repository": say so instead of guessing.
    if raw.get("repositoryPrefixes") == []:
        return {
            "repositoryPrefixes": "[] must list 1 to 100 prefixes; leave the key out to "
            "replicate every repository"
        }
    return {}


def _no_empty_id_list(kwargs: dict[str, Any], raw: Mapping[str, Any]) -> dict[str, str]:
    # An empty list would quietly mean "outside a VPC": say so instead.
    return {
        key: f"[] must list 1 to {limit} ids; leave both keys out to run the function outside a VPC"
        for key, limit in (
            ("subnetIds", MAX_FUNCTION_SUBNETS),
            ("securityGroupIds", MAX_FUNCTION_SECURITY_GROUPS),
        )
        if raw.get(key) == []
    }


def _read_source(reader: _Reader, raw: object, path: str) -> SourceRegistry | None:
    return reader.read(
        SourceRegistry,
        raw,
        path,
        nested={
            "rules": reader.items(ReplicationRule, lambda r, p: _read_rule(reader, r, p)),
            "backfill_function": lambda value, path, _inherited: _or_failed(
                reader.read(BackfillFunctionSettings, value, path, adjust=_no_empty_id_list)
            ),
        },
    )


def _nested_settings(reader: _Reader, cls: type[T], **options: Any) -> NestedReader:
    def read(raw: object, path: str, inherited: Any) -> Any:
        value = reader.read(cls, raw, path, base=inherited, **options)
        return _FAILED if value is None else value

    return read


def _inherit_dependent_template_fields(
    kwargs: dict[str, Any], raw: Mapping[str, Any]
) -> dict[str, str]:
    # Fields that only make sense with another one are inherited only while that one is: an
    # override that switches to MUTABLE or AES256 must not keep the defaults' exclusion filters
    # or KMS key (and fail because of them).
    mutability = kwargs.get("tag_mutability")
    if "tagMutabilityExclusionFilters" not in raw and not (
        isinstance(mutability, str) and mutability.endswith("_WITH_EXCLUSION")
    ):
        kwargs["tag_mutability_exclusion_filters"] = ()
    if "kmsKeyArn" not in raw and kwargs.get("encryption") == "AES256":
        kwargs["kms_key_arn"] = None
    if isinstance(raw.get("lifecyclePolicy"), str):
        # JSON carries the policy as an object; only Python callers pass JSON text.
        return {
            "lifecyclePolicy": f"{describe_value(raw['lifecyclePolicy'])} must be an ECR "
            "lifecycle policy object or null"
        }
    return {}


def _read_settings(
    reader: _Reader,
    raw: object,
    path: str,
    base: DestinationSettings,
    extra_keys: tuple[str, ...] = (),
) -> DestinationSettings | None:
    """Destination settings; keys given replace the matching ones of ``base`` (field by field)."""
    return reader.read(
        DestinationSettings,
        raw,
        path,
        base=base,
        extra_keys=extra_keys,
        nested={
            "role": _nested_settings(reader, RoleSettings),
            "repository_template": _nested_settings(
                reader, RepositoryTemplateSettings, adjust=_inherit_dependent_template_fields
            ),
        },
    )


def _read_override(
    reader: _Reader, raw: object, path: str, defaults: DestinationSettings
) -> DestinationOverride | None:
    registry_keys = tuple(json_fields(Registry))
    if not isinstance(raw, Mapping):
        reader.problems.add(path, f"{describe_value(raw)} must be a JSON object")
        return None
    registry = reader.read(
        Registry,
        {k: v for k, v in raw.items() if k in registry_keys},
        path,
    )
    settings = _read_settings(
        reader,
        {k: v for k, v in raw.items() if k not in registry_keys},
        path,
        defaults,
        extra_keys=registry_keys,
    )
    if registry is None or settings is None:
        return None
    return DestinationOverride(registry=registry, settings=settings)


def parse_topology(raw: object) -> ReplicationTopology:
    """Read a topology from its JSON form: a JSON object, or a string holding one.

    Raises :class:`~ecr_replication.errors.ReplicationConfigError` (and nothing else, whatever
    Python value it is given) listing every problem of the input, each under its field path.
    """
    reader = _Reader()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ReplicationConfigError(
                [
                    Problem(
                        "",
                        f"is not valid JSON: {error.msg} at line {error.lineno} column "
                        f"{error.colno}",
                    )
                ]
            ) from None
        except RecursionError:
            raise ReplicationConfigError(
                [Problem("", "is not valid JSON: nested too deeply")]
            ) from None
    defaults: DestinationSettings | None = None

    def read_defaults(value: object, path: str, _inherited: Any) -> Any:
        nonlocal defaults
        defaults = _read_settings(reader, value, path, DestinationSettings())
        return _FAILED if defaults is None else defaults

    def read_overrides(value: object, path: str, _inherited: Any) -> Any:
        if not is_list_like(value):
            return value
        items = [
            _read_override(reader, item, f"{path}[{index}]", defaults or DestinationSettings())
            for index, item in enumerate(cast(Sequence[Any], value))
        ]
        return _FAILED if any(item is None for item in items) else items

    topology = reader.read(
        ReplicationTopology,
        raw,
        "",
        nested={
            "sources": reader.items(SourceRegistry, lambda r, p: _read_source(reader, r, p)),
            "destination_defaults": read_defaults,
            "destination_overrides": read_overrides,
            "monitoring": lambda value, path, _inherited: _or_failed(
                reader.read(
                    MonitoringSettings,
                    value,
                    path,
                    nested={
                        "central_account": lambda v, p, _i: _or_failed(reader.read(Registry, v, p))
                    },
                )
            ),
            "operations": lambda value, path, _inherited: _or_failed(
                reader.read(OperationsSettings, value, path)
            ),
        },
    )
    reader.problems.raise_if_any()
    assert topology is not None  # no problem means it was built
    return topology


def topology_from_context(value: object) -> ReplicationTopology:
    """The topology from the CDK context value of ``ecrReplication`` (object or JSON string)."""
    if value is None:
        raise ReplicationConfigError(
            [
                Problem(
                    CONTEXT_KEY,
                    "is not set; put it under context in cdk.json or pass "
                    "-c ecrReplication='{...}'",
                )
            ]
        )
    try:
        return parse_topology(value)
    except ReplicationConfigError as error:
        # A problem of the value as a whole has no field path of its own: name the context key.
        raise ReplicationConfigError(
            problem
            if problem.path
            else Problem(CONTEXT_KEY, problem.message + _first_line_only_hint(value))
            for problem in error.problems
        ) from None


def _first_line_only_hint(value: object) -> str:
    """A hint when a context string looks like the first line of longer JSON.

    The CDK CLI keeps only the first line of a ``-c key=value`` argument (it splits on ``=``
    with a pattern whose ``.`` does not match a newline), so JSON written over several lines
    reaches the app as its first line, e.g. ``{``.
    """
    if not isinstance(value, str) or "\n" in value:
        return ""
    text = value.strip()
    if not text.startswith(("{", "[")):
        return ""
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text):
            return (
                f" (the value is only {text!r}: the CDK CLI keeps only the first line of a -c "
                "value, so give the JSON on one line)"
            )
    return ""
