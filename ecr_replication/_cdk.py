"""Small CDK helpers shared by the constructs: registry of a stack, one-per-registry claims,
lazy values and synth-time validations."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Aws, IStableAnyProducer, Lazy, Stack, Token
from constructs import Construct, IValidation

from .errors import Problem, ReplicationConfigError
from .topology import Registry, region_partitions


@dataclass(frozen=True, slots=True)
class StackEnvironment:
    """A stack's account, region and ARN partition as plain strings (tokens when unknown).

    Read once per stack: every property read from a construct is a round trip to the jsii
    Node.js process, and the constructs need these values for every statement they render.
    """

    account: str
    region: str
    partition: str
    registry: Registry | None
    """The registry (account + region), or None in an environment-agnostic stack."""
    path: str
    root: Any
    """The construct tree's root (usually the App)."""


_environments: weakref.WeakKeyDictionary[Stack, StackEnvironment] = weakref.WeakKeyDictionary()


def stack_environment(scope: Construct) -> StackEnvironment:
    """The environment of the scope's stack (computed once per stack).

    Avoids ``Stack.of`` (a round trip) when the scope is a stack or one of our constructs,
    which carry their stack's environment as ``environment``.
    """
    own = getattr(scope, "environment", None)
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
        )
        _environments[stack] = environment
    return environment


def remember_environment(stack: Stack, registry: Registry, *, root: Any, path: str) -> None:
    """Record the environment of a stack created for a known registry, without reading it
    back from jsii (the stacks of :mod:`ecr_replication.stacks` know theirs)."""
    _environments[stack] = StackEnvironment(
        account=registry.account,
        region=registry.region,
        partition=registry.partition,
        registry=registry,
        path=path,
        root=root,
    )


def stack_registry(scope: Construct) -> Registry | None:
    """The registry (account + region) of the scope's stack, or None when environment-agnostic."""
    return stack_environment(scope).registry


def stack_partition(scope: Construct) -> str:
    """The ARN partition, concrete when the stack's region is known (readable templates)."""
    return stack_environment(scope).partition


def claim_registry(construct: Construct, what: str, qualifier: str = "") -> None:
    """Refuse a second construct of the same kind for the same registry in one app.

    Some ECR settings exist once per registry (replication configuration, registry policy,
    a template per prefix); two resources writing one would silently overwrite each other.
    Environment-agnostic stacks are keyed by stack, since their registry is unknown.
    """
    environment = stack_environment(construct)
    registry = environment.registry
    where = registry.key if registry else f"stack {environment.path}"
    # Keyed by what is claimed, not by the construct's class: a subclass writes the same
    # registry setting and must not slip past its base class.
    key = f"{what}:{where}:{qualifier}"
    claims = _claims.setdefault(environment.root, {})
    if key in claims:
        raise ReplicationConfigError(
            [
                Problem(
                    construct.node.path,
                    f"registry {where} already has {what}{f' {qualifier!r}' if qualifier else ''} "
                    f"at {claims[key].node.path}; ECR keeps one per registry and a second would "
                    "silently overwrite the first. Add rules or grants to that construct instead",
                )
            ]
        )
    # The construct itself, not its path: paths are read (a jsii round trip) only for errors.
    claims[key] = construct


# Per app (the construct tree's root), weakly held so that finished apps are forgotten.
_claims: weakref.WeakKeyDictionary[Any, dict[str, Construct]] = weakref.WeakKeyDictionary()


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
