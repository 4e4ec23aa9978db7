"""The source side: a registry's one replication configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from ..errors import Problem, ReplicationConfigError, describe_value
from ..model.backfill_function import BackfillFunctionSettings, backfill_function_problems
from ..model.checks import FieldChecks
from ..model.registries import (
    Registry,
    ReplicationRule,
    many_destinations_warning,
    source_rule_problems,
    union_prefixes,
)
from .support import (
    at_synthesis,
    claim_registry,
    is_token,
    rendered_resource,
    stack_environment,
)
from .warnings import (
    WARNING_DELETIONS_REPLICATED,
    WARNING_MANY_DESTINATIONS,
    WARNING_UNFILTERED_CROSS_ACCOUNT,
    quiet_stack_traces,
    warn,
)

if TYPE_CHECKING:
    from .backfill import ReplicationBackfillOnDeploy

RenderedRule = dict[str, Any]
"""A rule as CloudFormation writes it: ``{"Destinations": [...], "RepositoryFilters": [...],
"DeleteReplication": {"Enabled": true}}``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SentRepositories:
    """What a replication configuration, as rendered (hooks included), sends to one registry."""

    prefixes: tuple[str, ...] | None
    """The ``PREFIX_MATCH`` filters of the rules that send there; None: every repository (a
    rule without filters sends there); empty: nothing that can be read back."""
    unreadable: tuple[str, ...] = ()
    """What the rendered rules hold that cannot be read back (one line each, naming it)."""


class SourceRegistryReplication(Construct):
    """The single ``AWS::ECR::ReplicationConfiguration`` of the stack's registry.

    A registry has exactly one replication configuration, so this construct refuses to be
    created twice for the same account and region in one app: add rules to the existing one
    with :meth:`add_rule`. Rules are checked against the ECR limits (25 rules, 1-100
    destinations and 1-100 prefixes per rule) as they are added; a destination equal to the
    source registry, or in another partition, is refused. At synthesis, rules that replicate
    deletions warn (``ecr-replication:deletionsReplicated``: a lifecycle expiry here deletes
    in every destination of the rule), and so do more than 25 unique destinations
    (``ecr-replication:manyDestinations``: a cap confirmed in 2023 that no current AWS page
    states).

    :param rules: the replication rules; more can be added with :meth:`add_rule`.
        Default: none (at least one is required by synthesis time).
    :param backfill_existing_images: also replicate the images that already exist, with a
        ``ReplicationBackfillOnDeploy`` custom resource that starts one ECR replication
        backfill per destination when that destination is first deployed. Default: False
        (only images pushed after deployment replicate; no extra resources).
    :param backfill_function: how that backfill's function runs (VPC, log key, log retention),
        for organizations whose controls govern functions and log groups; only with
        ``backfill_existing_images``. Default: ``BackfillFunctionSettings()`` (outside a VPC,
        logs kept one year).

    Extension point: override :meth:`render_rule`, called at synthesis for each rule; it
    returns the rule as CloudFormation writes it (plain data), e.g.::

        class AlsoSharedImages(SourceRegistryReplication):
            def render_rule(self, rule):
                rendered = super().render_rule(rule)
                filters = rendered.setdefault("RepositoryFilters", [])
                filters.append({"Filter": "shared/", "FilterType": "PREFIX_MATCH"})
                return rendered

    :ivar resource: the ``CfnReplicationConfiguration`` (escape hatch: its properties are
        rendered at synthesis from :meth:`render_rule`; ``add_property_override`` applies on
        top).
    :ivar backfill: the ``ReplicationBackfillOnDeploy``, or None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rules: Sequence[ReplicationRule] = (),
        backfill_existing_images: bool = False,
        backfill_function: BackfillFunctionSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        checks = FieldChecks()
        given = checks.sequence(
            "rules",
            rules,
            ReplicationRule,
            "a list of ReplicationRule",
            item_name="a ReplicationRule",
        )
        checks.boolean("backfill_existing_images", backfill_existing_images)
        if backfill_function is not None:
            if backfill_existing_images is not True:
                checks.add(
                    "backfill_function",
                    "is only used with backfill_existing_images=True (it sets up the backfill "
                    "function)",
                )
            registry = self._environment.registry
            if not isinstance(backfill_function, BackfillFunctionSettings):
                checks.instance(
                    "backfill_function",
                    backfill_function,
                    BackfillFunctionSettings,
                    "a BackfillFunctionSettings",
                )
            elif registry is not None:
                checks.problems.extend(
                    p.under("backfill_function")
                    for p in backfill_function_problems(
                        backfill_function, registry.account, registry.region
                    )
                )
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)
        claim_registry(self, "a replication configuration")
        quiet_stack_traces(self)  # before any child: rules added later may warn
        self._rules: list[ReplicationRule] = []
        self.resource = rendered_resource(
            ecr.CfnReplicationConfiguration,
            self,
            "Resource",
            lambda: {"ReplicationConfiguration": {"Rules": self.rendered_rules()}},
            replication_configuration={"rules": []},
        )
        at_synthesis(self, self._synth_problems)
        self.backfill: ReplicationBackfillOnDeploy | None = None
        if backfill_existing_images:
            # Imported here: it pulls in aws_lambda, a noticeable cost for every app without it.
            from .backfill import ReplicationBackfillOnDeploy

            self.backfill = ReplicationBackfillOnDeploy(
                self, "Backfill", replication=self, settings=backfill_function
            )
        for rule in given:
            self.add_rule(rule)

    @property
    def registry(self) -> Registry | None:
        """The source registry, or None in an environment-agnostic stack."""
        return self._environment.registry

    @property
    def rules(self) -> tuple[ReplicationRule, ...]:
        return tuple(self._rules)

    @property
    def destinations(self) -> tuple[Registry, ...]:
        """Unique destinations across all rules, in first-seen order."""
        return tuple(dict.fromkeys(d for rule in self._rules for d in rule.destinations))

    def add_rule(self, rule: ReplicationRule) -> None:
        """Add a replication rule. Raises ``ReplicationConfigError`` if it breaks a limit."""
        if not isinstance(rule, ReplicationRule):
            raise ReplicationConfigError(
                [Problem(f"{self.node.path}.add_rule", f"{rule!r} must be a ReplicationRule")]
            )
        problems = source_rule_problems(self.registry, [*self._rules, rule])
        if problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in problems)
        self._rules.append(rule)
        self._warn_if_risky(rule, len(self._rules) - 1)

    def render_rule(self, rule: ReplicationRule) -> RenderedRule:
        """One rule as it goes into the template (CloudFormation's form). Overridable."""
        rendered: RenderedRule = {
            "Destinations": [
                {"Region": d.region, "RegistryId": d.account} for d in rule.destinations
            ]
        }
        if rule.repository_prefixes:
            rendered["RepositoryFilters"] = [
                {"Filter": prefix, "FilterType": "PREFIX_MATCH"}
                for prefix in rule.repository_prefixes
            ]
        if rule.replicate_deletions:
            # CloudFormation's Rules[].DeleteReplication (the API's deleteReplication); written
            # only when on, so a rule without it stays as ECR reads an absent setting: off.
            rendered["DeleteReplication"] = {"Enabled": True}
        return rendered

    def rendered_rules(self) -> list[RenderedRule]:
        """Every rule as the template holds it: :meth:`render_rule` of each, in order."""
        return [self.render_rule(rule) for rule in self._rules]

    def sent_to(self, registry: Registry) -> SentRepositories | None:
        """What the rules, as rendered, replicate into ``registry``; None when no rule does.

        Read back from :meth:`rendered_rules`, so a ``render_rule`` hook that adds a filter or
        a destination is seen. A destination or filter that is not plain data (a token, another
        filter type) cannot be read back: it is named in ``unreadable``.
        """
        sends = False
        prefix_lists: list[tuple[str, ...]] = []
        unreadable: list[str] = []
        for index, rendered in enumerate(self.rendered_rules()):
            where = f"{self.node.path} rules[{index}]"
            rule: Mapping[str, Any] = rendered if isinstance(rendered, Mapping) else {}
            destinations = _as_list(rule.get("Destinations"))
            plain = [d for d in destinations if _plain_destination(d)]
            unreadable += [
                f"{where} renders the destination {self._shown(d)}, which cannot be read back "
                f"(an account id and region as plain strings), so whether it replicates into "
                f"{registry.key} is unknown"
                for d in destinations
                if d not in plain
            ]
            here = (registry.account, registry.region)
            if not any((d["RegistryId"], d["Region"]) == here for d in plain):
                continue
            sends = True
            filters = _as_list(rule.get("RepositoryFilters"))
            prefixes = tuple(f["Filter"] for f in filters if _plain_prefix_filter(f))
            unreadable += [
                f"{where} replicates {self._shown(f.get('Filter') if isinstance(f, Mapping) else f)} "
                f"into {registry.key}, which cannot be read back (a PREFIX_MATCH filter with a plain "
                "string) and so is not granted"
                for f in filters
                if not _plain_prefix_filter(f)
            ]
            if filters and not prefixes:
                continue  # only unreadable filters: nothing is granted for this rule
            prefix_lists.append(prefixes)
        if not sends:
            return None
        prefixes = union_prefixes(prefix_lists) if prefix_lists else ()
        return SentRepositories(
            prefixes=prefixes if prefixes or not prefix_lists else None,
            unreadable=tuple(unreadable),
        )

    def _shown(self, value: object) -> str:
        """A rendered value as a message names it (tokens resolved to their intrinsics)."""
        shown = describe_value(value)
        return describe_value(Stack.of(self).resolve(value)) if is_token(shown) else shown

    def _warn_if_risky(self, rule: ReplicationRule, index: int) -> None:
        registry = self.registry
        cross_account = [d for d in rule.destinations if registry and d.account != registry.account]
        if cross_account and not rule.repository_prefixes:
            warn(
                self,
                WARNING_UNFILTERED_CROSS_ACCOUNT,
                f"rules[{index}] replicates every repository to other accounts "
                f"({', '.join(d.key for d in cross_account)}); give repositoryPrefixes so only "
                "the images meant for those accounts leave this one.",
            )

    def _synth_problems(self) -> list[str]:
        problems = source_rule_problems(self.registry, self._rules)
        if problems:
            return [str(p.under(self.node.path)) for p in problems]
        self._warn_what_is_deployed()
        return []

    def _warn_what_is_deployed(self) -> None:
        """The warnings that judge the rules as rendered (a ``render_rule`` override included)."""
        for index, rule in enumerate(self._rules):
            rendered = self.render_rule(rule)
            if (rendered.get("DeleteReplication") or {}).get("Enabled") is True:
                warn(
                    self,
                    WARNING_DELETIONS_REPLICATED,
                    f"rules[{index}] replicates deletions to "
                    f"{', '.join(d.key for d in rule.destinations)}: a tag removed, an image "
                    "deleted, or an image a lifecycle policy expires in this registry is deleted "
                    "in every one of those destinations too, whatever their own lifecycle "
                    "policies keep.",
                )
        if (too_many := many_destinations_warning(self._rules)) is not None:
            warn(self, WARNING_MANY_DESTINATIONS, too_many + ".")


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _plain(value: object) -> bool:
    return isinstance(value, str) and not is_token(value)


def _plain_destination(destination: object) -> bool:
    return (
        isinstance(destination, Mapping)
        and _plain(destination.get("RegistryId"))
        and _plain(destination.get("Region"))
    )


def _plain_prefix_filter(repository_filter: object) -> bool:
    return (
        isinstance(repository_filter, Mapping)
        and repository_filter.get("FilterType") == "PREFIX_MATCH"
        and _plain(repository_filter.get("Filter"))
    )
