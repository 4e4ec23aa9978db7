"""Registries, replication rules and grants: where images come from and go to.

:class:`Registry` (a destination is the same type), :class:`ReplicationRule`,
:class:`SourceRegistry` (a registry's one replication configuration), :class:`Grant` (what one
source may replicate into one destination) and the checks of a registry's rules as a whole.
Each value object checks itself on construction and raises
:class:`~ecr_replication.errors.ReplicationConfigError` with all of its problems, each under its
field's JSON name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import Problem
from .backfill_function import BackfillFunctionSettings, backfill_function_problems
from .checks import (
    FieldChecks,
    account_problem,
    region_problem,
    set_field,
)
from .limits import (
    MAX_DESTINATIONS_PER_RULE,
    MAX_PREFIXES_PER_RULE,
    MAX_RULES_PER_REGISTRY,
    UNCONFIRMED_MAX_DESTINATIONS_PER_REGISTRY,
    region_partitions,
)

# ---------------------------------------------------------------------------------------------
# Registries and rules


@dataclass(frozen=True, kw_only=True, slots=True)
class Registry:
    """A private ECR registry: one AWS account in one region.

    ``Destination`` is the same type, used where a registry is a replication destination.
    """

    account: str
    region: str

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.check("account", self.account, account_problem)
        checks.check("region", self.region, region_problem)
        checks.raise_if_any()

    @property
    def partition(self) -> str:
        """The ARN partition: ``aws``, ``aws-cn``, ``aws-us-gov``, ..."""
        return region_partitions()[self.region]

    @property
    def key(self) -> str:
        """``ACCOUNT/REGION``: how this registry is named in messages and on the command line."""
        return f"{self.account}/{self.region}"

    def __str__(self) -> str:
        return self.key


Destination = Registry


def _registries(checks: FieldChecks, path: str, value: object) -> tuple[Registry, ...]:
    return checks.sequence(
        path,
        value,
        Registry,
        "a list of registries",
        item_name="a Registry (in JSON an object {account, region})",
    )


def repository_patterns(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Repository-name patterns a rule with these prefixes can produce (``*`` when unfiltered)."""
    if not prefixes:
        return ("*",)
    return tuple(f"{prefix}*" for prefix in prefixes)


def union_prefixes(prefix_lists: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The union of several rules' or grants' prefixes; empty (every repository) wins."""
    prefixes: dict[str, None] = {}
    for listed in prefix_lists:
        if not listed:
            return ()
        prefixes.update(dict.fromkeys(listed))
    return tuple(prefixes)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationRule:
    """One replication rule: where to replicate, and which repositories (by name prefix).

    :param destinations: 1 to 100 registries.
    :param repository_prefixes: 1 to 100 prefixes. Default: none, every repository of the
        registry.
    :param replicate_deletions: also replicate deletions to every destination of this rule
        (ECR's ``deleteReplication``): a tag removed, an image deleted by digest, the last tag
        removed (the digest goes) and an image a lifecycle policy expires in the source go in
        the destinations too. Default: False (a destination keeps what was replicated).
    """

    repository_prefixes: Sequence[str] = ()
    destinations: Sequence[Registry]
    replicate_deletions: bool = False

    def __post_init__(self) -> None:
        checks = FieldChecks()
        destinations = _registries(checks, "destinations", self.destinations)
        if not destinations and not checks.problems:
            checks.add("destinations", "[] must list at least one destination")
        if len(destinations) > MAX_DESTINATIONS_PER_RULE:
            checks.add(
                "destinations",
                f"has {len(destinations)} destinations; a rule takes at most "
                f"{MAX_DESTINATIONS_PER_RULE}",
            )
        prefixes = checks.prefixes("repositoryPrefixes", self.repository_prefixes)
        checks.boolean("replicateDeletions", self.replicate_deletions)
        set_field(self, "destinations", destinations)
        set_field(self, "repository_prefixes", prefixes)
        seen: dict[Registry, int] = {}
        for index, destination in enumerate(destinations):
            if destination in seen:
                checks.add(
                    f"destinations[{index}]",
                    f"{destination.key!r} is listed twice in this rule "
                    f"(also destinations[{seen[destination]}])",
                )
            seen.setdefault(destination, index)
        if len(prefixes) > MAX_PREFIXES_PER_RULE:
            checks.add(
                "repositoryPrefixes",
                f"has {len(prefixes)} prefixes; at most {MAX_PREFIXES_PER_RULE} are allowed per "
                "rule",
            )
        checks.raise_if_any()

    def matches(self, repository_name: str) -> bool:
        """Whether ECR replicates a repository of this name under this rule."""
        return not self.repository_prefixes or any(
            repository_name.startswith(prefix) for prefix in self.repository_prefixes
        )


def source_rule_problems(
    source: Registry | None, rules: Sequence[ReplicationRule], *, rules_path: str = "rules"
) -> list[Problem]:
    """Problems of a registry's rules as a whole: the limits and the source-destination checks.

    Shared by :class:`SourceRegistry` and the CDK source construct, whose rules can grow
    through ``add_rule``. ``source`` is None when the registry is not known (yet).
    """
    checks = FieldChecks()
    if not rules:
        checks.add(rules_path, "[] must list at least one rule")
    if len(rules) > MAX_RULES_PER_REGISTRY:
        checks.add(
            rules_path,
            f"has {len(rules)} rules; a registry's replication configuration allows at most "
            f"{MAX_RULES_PER_REGISTRY}",
        )
    if source is not None:
        for r_index, rule in enumerate(rules):
            for d_index, destination in enumerate(rule.destinations):
                path = f"{rules_path}[{r_index}].destinations[{d_index}]"
                if destination == source:
                    checks.add(
                        path,
                        f"{destination.key!r} is the source registry itself; a destination "
                        "must differ from its source in account or region",
                    )
                elif destination.partition != source.partition:
                    checks.add(
                        path,
                        f"{destination.key!r} is in partition {destination.partition!r} but "
                        f"the source is in {source.partition!r}; replication does not cross "
                        "partitions",
                    )
    return checks.problems


def many_destinations_warning(rules: Sequence[ReplicationRule]) -> str | None:
    """What to say of a registry whose rules replicate to more unique destinations than the
    unconfirmed cap (:data:`~.limits.UNCONFIRMED_MAX_DESTINATIONS_PER_REGISTRY`), or None.

    A warning, not an error: the synth warning ``ecr-replication:manyDestinations``, a note of
    ``preflight`` and ``import``.
    """
    unique = dict.fromkeys(d for rule in rules for d in rule.destinations)
    if len(unique) <= UNCONFIRMED_MAX_DESTINATIONS_PER_REGISTRY:
        return None
    return (
        f"the rules replicate to {len(unique)} unique destinations; a cap of "
        f"{UNCONFIRMED_MAX_DESTINATIONS_PER_REGISTRY} per registry was confirmed in 2023 and is "
        "on no current AWS page, so ECR may refuse this replication configuration: if a deploy "
        "fails on it, split the destinations across source registries"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceRegistry:
    """A source registry and its replication rules (its one replication configuration).

    ``backfill_existing_images``: on deploy, also replicate the images that already exist
    (see ``ReplicationBackfillOnDeploy``). Default: False.
    ``backfill_function``: how that backfill's function runs (VPC, log key and retention);
    only with ``backfill_existing_images``. Default: ``BackfillFunctionSettings()`` (outside a
    VPC, logs kept one year).
    """

    account: str
    region: str
    rules: Sequence[ReplicationRule]
    backfill_existing_images: bool = False
    backfill_function: BackfillFunctionSettings | None = None

    def __post_init__(self) -> None:
        checks = FieldChecks()
        account_ok = checks.check("account", self.account, account_problem)
        region_ok = checks.check("region", self.region, region_problem)
        before = len(checks.problems)
        rules = checks.sequence(
            "rules", self.rules, ReplicationRule, "a list of rules", item_name="a ReplicationRule"
        )
        rules_ok = len(checks.problems) == before
        set_field(self, "rules", rules)
        checks.boolean("backfillExistingImages", self.backfill_existing_images)
        function = self.backfill_function
        if function is not None and checks.instance(
            "backfillFunction", function, BackfillFunctionSettings, "a BackfillFunctionSettings"
        ):
            if self.backfill_existing_images is not True:
                checks.add(
                    "backfillFunction",
                    "is only used with backfillExistingImages true (it sets up the backfill "
                    "function)",
                )
            if account_ok and region_ok:
                checks.problems.extend(
                    p.under("backfillFunction")
                    for p in backfill_function_problems(function, self.account, self.region)
                )
        if rules_ok:
            # The rules' own limits are checked even when the registry is invalid, so one run
            # reports them too; the source-destination checks need the registry.
            registry = self.registry if account_ok and region_ok else None
            checks.problems.extend(source_rule_problems(registry, rules))
        checks.raise_if_any()

    @property
    def registry(self) -> Registry:
        return Registry(account=self.account, region=self.region)

    @property
    def destinations(self) -> tuple[Registry, ...]:
        """Unique destinations across all rules, in first-seen order."""
        return tuple(dict.fromkeys(d for rule in self.rules for d in rule.destinations))

    def rules_for(self, destination: Registry) -> tuple[ReplicationRule, ...]:
        return tuple(rule for rule in self.rules if destination in rule.destinations)

    def matches(self, repository_name: str, destination: Registry | None = None) -> bool:
        """Whether a repository replicates (to ``destination``, or to any destination)."""
        rules = self.rules if destination is None else self.rules_for(destination)
        return any(rule.matches(repository_name) for rule in rules)


# ---------------------------------------------------------------------------------------------
# Grants: what one source may replicate into one destination


@dataclass(frozen=True, kw_only=True, slots=True)
class Grant:
    """What one source registry may replicate into one destination registry.

    ``repository_prefixes`` empty means every repository. The prefixes follow the rules of
    :class:`ReplicationRule` (ECR's ``PREFIX_MATCH`` filter values), since a grant covers what
    rules replicate.
    """

    source: Registry
    repository_prefixes: Sequence[str] = ()

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.instance(
            "source", self.source, Registry, "a Registry (the source account and region)"
        )
        set_field(
            self,
            "repository_prefixes",
            checks.prefixes("repositoryPrefixes", self.repository_prefixes),
        )
        checks.raise_if_any()

    @property
    def repository_patterns(self) -> tuple[str, ...]:
        return repository_patterns(self.repository_prefixes)


def merge_grants(grants: Iterable[Grant]) -> tuple[Grant, ...]:
    """One grant per source registry, in first-seen order, with the union of its prefixes.

    Two statements for one source would share a ``Sid``, which a policy document forbids.
    """
    by_source: dict[Registry, list[Grant]] = {}
    for grant in grants:
        by_source.setdefault(grant.source, []).append(grant)
    return tuple(
        Grant(
            source=source,
            repository_prefixes=union_prefixes(g.repository_prefixes for g in same),
        )
        for source, same in by_source.items()
    )
