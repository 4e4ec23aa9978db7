"""Small CDK helpers shared by the constructs: registry of a stack, one-per-registry claims,
lazy values and synth-time validations."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import Aws, IAnyProducer, IResolveContext, Lazy, Stack, Token
from constructs import Construct, IValidation

from .errors import Problem, ReplicationConfigError
from .topology import Registry, region_partitions


def stack_registry(scope: Construct) -> Registry | None:
    """The registry (account + region) of the scope's stack, or None when environment-agnostic."""
    stack = Stack.of(scope)
    if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
        return None
    return Registry(account=stack.account, region=stack.region)


def stack_partition(scope: Construct) -> str:
    """The ARN partition, concrete when the stack's region is known (readable templates)."""
    region = Stack.of(scope).region
    if Token.is_unresolved(region):
        return Aws.PARTITION
    return region_partitions().get(region, Aws.PARTITION)


def claim_registry(construct: Construct, what: str, qualifier: str = "") -> None:
    """Refuse a second construct of the same kind for the same registry in one app.

    Some ECR settings exist once per registry (replication configuration, registry policy,
    a template per prefix); two resources writing one would silently overwrite each other.
    Environment-agnostic stacks are keyed by stack, since their registry is unknown.
    """
    registry = stack_registry(construct)
    where = registry.key if registry else f"stack {Stack.of(construct).node.path}"
    # Keyed by what is claimed, not by the construct's class: a subclass writes the same
    # registry setting and must not slip past its base class.
    key = f"{what}:{where}:{qualifier}"
    claims = _claims.setdefault(construct.node.root, {})
    if key in claims:
        raise ReplicationConfigError(
            [
                Problem(
                    construct.node.path,
                    f"registry {where} already has {what}{f' {qualifier!r}' if qualifier else ''} "
                    f"at {claims[key]}; ECR keeps one per registry and a second would silently "
                    "overwrite the first. Add rules or grants to that construct instead",
                )
            ]
        )
    claims[key] = construct.node.path


# Per app (the construct tree's root), weakly held so that finished apps are forgotten.
_claims: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


@jsii.implements(IAnyProducer)
class LazyValue:
    """A value computed at synth time, so that ``add_*`` methods called later are included."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self, context: IResolveContext) -> Any:
        return self._produce()


def lazy(produce: Callable[[], Any]) -> Any:
    return Lazy.uncached_any(LazyValue(produce), omit_empty_array=False)


@jsii.implements(IValidation)
class SynthValidation:
    """Runs a check when the app is synthesized; its messages fail synthesis."""

    def __init__(self, check: Callable[[], list[str]]) -> None:
        self._check = check

    def validate(self) -> list[str]:
        return self._check()
