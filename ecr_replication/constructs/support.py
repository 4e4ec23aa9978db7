"""CDK support shared by the constructs: a stack's environment read once, one-per-registry
claims, values produced at synthesis, synth-time validations and hooks.

Every property read from a construct is a round trip to the jsii Node.js process, so what the
constructs need of their stack is read once per stack and kept here.
"""

from __future__ import annotations

import builtins
import functools
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import jsii
from aws_cdk import Aws, CfnResource, IStableAnyProducer, Lazy, Stack, Token
from constructs import Construct, IValidation

from ..errors import Problem, ReplicationConfigError
from ..model.limits import region_partitions
from ..model.registries import Registry


@dataclass(frozen=True, slots=True)
class StackEnvironment:
    """A stack's account, region and ARN partition as plain strings (tokens when unknown)."""

    account: str
    region: str
    partition: str
    registry: Registry | None
    """The registry (account + region), or None in an environment-agnostic stack."""
    path: str
    root: Any
    """The construct tree's root (usually the App)."""
    stack: weakref.ref[Stack]


_environments: weakref.WeakKeyDictionary[Stack, StackEnvironment] = weakref.WeakKeyDictionary()


def stack_environment(scope: Construct) -> StackEnvironment:
    """The environment of the scope's stack (computed once per stack).

    Avoids ``Stack.of`` (a round trip) when the scope is a stack or one of our constructs,
    which keep their stack's environment as ``_environment``.
    """
    own = getattr(scope, "_environment", None)
    if isinstance(own, StackEnvironment):
        return own
    stack = scope if isinstance(scope, Stack) else Stack.of(scope)
    environment = _environments.get(stack)
    if environment is None:
        account, region = stack.account, stack.region
        known = not (Token.is_unresolved(account) or Token.is_unresolved(region))
        partition = (
            region_partitions().get(region, Aws.PARTITION)
            if not Token.is_unresolved(region)
            else Aws.PARTITION
        )
        environment = StackEnvironment(
            account=account,
            region=region,
            partition=partition,
            registry=Registry(account=account, region=region) if known else None,
            path=stack.node.path,
            root=stack.node.root,
            stack=weakref.ref(stack),
        )
        _environments[stack] = environment
    return environment


def remember_environment(stack: Stack, registry: Registry, *, root: Any, path: str) -> None:
    """Record the environment of a stack created for a known registry, without reading it
    back from jsii (the library's own stacks know theirs)."""
    _environments[stack] = StackEnvironment(
        account=registry.account,
        region=registry.region,
        partition=registry.partition,
        registry=registry,
        path=path,
        root=root,
        stack=weakref.ref(stack),
    )


def is_token(value: str) -> bool:
    """Whether a string holds an unresolved CDK token, without a round trip to the CDK."""
    return "${Token[" in value


def overrides(instance: object, base: type, *methods: str) -> bool:
    """Whether ``instance``'s class overrides any of ``base``'s ``methods`` (hooks)."""
    return any(getattr(type(instance), m) is not getattr(base, m) for m in methods)


def cfn_to_l1_props(properties: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation-form properties as an L1 constructor's keyword arguments.

    Top-level keys become snake_case arguments (``ImageTagMutability`` ->
    ``image_tag_mutability``); nested objects keep their data with camelCase keys, the form
    jsii hands to the L1's property mappers (``{"EncryptionType": ...}`` ->
    ``{"encryptionType": ...}``). Strings and lists of strings pass unchanged.
    """

    def camel(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
        if isinstance(value, list):
            return [camel(v) for v in value]
        return value

    return {_snake(key): camel(value) for key, value in properties.items()}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# Per app (the construct tree's root), weakly held so that finished apps are forgotten.
_claims: weakref.WeakKeyDictionary[Any, dict[str, Construct]] = weakref.WeakKeyDictionary()


def claim(construct: Construct, key: str, describe: Callable[[Construct], str]) -> None:
    """Refuse a second construct claiming ``key`` in one app; ``describe(first)`` says why.

    Keyed by what is claimed, not by the construct's class: a subclass writes the same setting
    and must not slip past its base class.
    """
    environment = stack_environment(construct)
    claims = _claims.setdefault(environment.root, {})
    first = claims.get(key)
    if first is not None:
        raise ReplicationConfigError([Problem(construct.node.path, describe(first))])
    # The construct itself, not its path: paths are read (a jsii round trip) only for errors.
    claims[key] = construct


def claim_registry(construct: Construct, what: str, qualifier: str = "") -> None:
    """Refuse a second construct of the same kind for the same registry in one app.

    Some ECR settings exist once per registry (replication configuration, registry policy,
    a template per prefix); two resources writing one would silently overwrite each other.
    Environment-agnostic stacks are keyed by stack, since their registry is unknown.
    """
    environment = stack_environment(construct)
    registry = environment.registry
    where = registry.key if registry else f"stack {environment.path}"
    named = f"{what}{f' {qualifier!r}' if qualifier else ''}"
    claim(
        construct,
        f"{what}:{where}:{qualifier}",
        lambda first: (
            f"registry {where} already has {named} at {first.node.path}; ECR keeps one "
            "per registry and a second would silently overwrite the first. Add rules or grants to "
            "that construct instead"
        ),
    )


def claim_role_name(construct: Construct, role_name: str) -> None:
    """Refuse a second IAM role of the same name in one account (in any region) in one app.

    IAM role names are unique per account: the second stack to deploy would fail.
    """
    environment = stack_environment(construct)
    if is_token(role_name):
        return
    account = environment.registry.account if environment.registry else environment.path
    claim(
        construct,
        f"iam-role:{account}:{role_name}",
        lambda first: (
            f"role name {role_name!r} is already used in account {account} by "
            f"{first.node.path}; IAM role names are unique per account (in every region), so the "
            "second deploy would fail. Give this role another role_name"
        ),
    )


@jsii.implements(IStableAnyProducer)
class LazyValue:
    """A value computed at synth time, so that ``add_*`` methods called later are included."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()


def lazy(produce: Callable[[], Any]) -> Any:
    """A value produced once, when first resolved (at synthesis), like the CDK's own lists."""
    return Lazy.any(LazyValue(produce), omit_empty_array=False)


@jsii.implements(IValidation)
class SynthValidation:
    """Runs a check when the app is synthesized; its messages fail synthesis."""

    def __init__(self, check: Callable[[], list[str]]) -> None:
        self._check = check

    def validate(self) -> list[str]:
        return self._check()


Check = Callable[[], list[str]]
"""A check run at synthesis: the problems it returns fail synthesis; it may add warnings."""

# Per stack, weakly held: the checks of every construct of the library in that stack.
_stack_checks: weakref.WeakKeyDictionary[Stack, list[Check]] = weakref.WeakKeyDictionary()


def at_synthesis(construct: Construct, check: Check) -> None:
    """Run ``check`` when the app is synthesized, after every construct exists.

    For what depends on overridable hooks or on what was added after the constructor
    (warnings, size limits): a subclass's hook can use state it sets after
    ``super().__init__()``. The checks of one stack share one validation, so a stack of several
    constructs costs one round trip to the CDK at synthesis, not one per construct.
    """
    stack = stack_environment(construct).stack()
    if stack is None:  # pragma: no cover - the environment is read from a live stack
        raise RuntimeError(f"{construct.node.path}: its stack is gone")
    checks = _stack_checks.get(stack)
    if checks is None:
        checks = _stack_checks[stack] = []
        stack.node.add_validation(SynthValidation(lambda: [p for c in checks for p in c()]))
    checks.append(check)


# ---------------------------------------------------------------------------------------------
# L1 resources whose properties a hook renders at synthesis

Properties = Mapping[str, Any]
"""A resource's properties as CloudFormation writes them (``{"PolicyText": {...}}``)."""

L1 = TypeVar("L1", bound=CfnResource)


@functools.cache
def _rendered_class(l1: type[L1]) -> type[L1]:
    class Rendered(l1):  # type: ignore[valid-type,misc]
        """The L1, with its properties produced by a Python callable at synthesis."""

        _produce: Callable[[], Properties]

        @builtins.property
        def _cfn_properties(self) -> Properties:
            return self._produce()

        def _render_properties(self, props: Properties) -> Properties:
            return props  # already in CloudFormation's form

    Rendered.__name__ = Rendered.__qualname__ = l1.__name__
    return cast("type[L1]", Rendered)


def rendered_resource(
    l1: type[L1],
    scope: Construct,
    construct_id: str,
    produce: Callable[[], Properties],
    **required: Any,
) -> L1:
    """An L1 resource whose CloudFormation properties are exactly what ``produce`` returns.

    ``produce`` runs at synthesis (possibly more than once: it must return the same data each
    time), so the hooks it calls may use state a subclass sets after ``super().__init__()``,
    and tokens in its result (``role.attr_arn``, cross-stack references) resolve as in any
    property. The result goes into the template as it is: what a reviewer reads is what is
    deployed. ``required`` are the L1's required constructor properties (not rendered). The
    escape hatch stays the L1's: ``add_property_override`` is merged over the result; setting
    the L1's typed attributes has no effect. No ``Lazy`` is created: synthesis asks Python
    once per rendering, the cheapest round trip jsii offers.
    """
    resource: L1 = _rendered_class(l1)(scope, construct_id, **required)
    resource._produce = produce  # type: ignore[attr-defined]
    return resource
