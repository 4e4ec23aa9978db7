"""The replication topology: the single source of truth for the CDK side and the operations side.

Which source registries replicate which repository prefixes to which destination registries,
and how destination registries are set up. :class:`ReplicationTopology` checks the whole (each
registry listed once, settings for registries that exist, the registry policy within ECR's
size) and derives the views every side uses (:meth:`~ReplicationTopology.destination_registries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import Problem
from .checks import FieldChecks
from .destinations import DestinationOverride, DestinationRegistry, DestinationSettings
from .limits import KMS_KEY_ARN_PARTS, MAX_REGISTRY_POLICY_CHARS
from .monitoring import MonitoringSettings, OperationsSettings
from .policies import generated_statements, registry_policy_size
from .registries import Grant, Registry, SourceRegistry, union_prefixes
from .roles import RoleSettings


def overlapping_prefixes(received: Sequence[str], sent: Sequence[str]) -> tuple[str, ...]:
    """The prefixes of ``sent`` that can name a repository ``received`` names too (an empty
    list names every repository; ``("",)`` stands for "every repository" in the answer)."""
    if not sent:
        return ("",)
    if not received:
        return tuple(sent)
    return tuple(p for p in sent if any(p.startswith(q) or q.startswith(p) for q in received))


def _common_prefixes(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    """Prefixes naming exactly the repositories both prefix lists name (an empty list names
    every repository; ``("",)`` stands for every repository in the answer, ``()`` for none)."""
    if not first:
        return tuple(second) or ("",)
    if not second:
        return tuple(first)
    return tuple(
        dict.fromkeys(
            longer
            for p in first
            for q in second
            for longer in ((p,) if p.startswith(q) else (q,) if q.startswith(p) else ())
        )
    )


def _covers(sender: SourceRegistry, destination: Registry, prefixes: Sequence[str]) -> bool:
    """Whether ``sender`` itself replicates every repository of ``prefixes`` (``""``: every
    repository) to ``destination``."""
    rules = sender.rules_for(destination)
    if not rules:
        return False
    sent = union_prefixes(r.repository_prefixes for r in rules)
    return not sent or all(any(p.startswith(q) for q in sent) for p in prefixes)


@dataclass(frozen=True, kw_only=True, slots=True)
class UnforwardedReplication:
    """A registry that replicates repositories onward which it also receives by replication.

    ECR replicates an image once, when it is pushed: images that arrive by replication are not
    replicated again by the receiving registry's own rules. So what ``source`` pushes into
    ``registry`` under ``prefixes`` never reaches ``onward``.
    """

    registry: Registry
    source: Registry
    received: tuple[str, ...]
    """The prefixes ``source`` replicates into ``registry`` (empty: every repository)."""
    prefixes: tuple[str, ...]
    """``registry``'s own rule prefixes that overlap them (``""``: every repository)."""
    onward: tuple[Registry, ...]

    def message(self) -> str:
        received = ", ".join(self.received) or "every repository"
        sent = "every repository" if "" in self.prefixes else ", ".join(self.prefixes)
        onward = ", ".join(d.key for d in self.onward)
        return (
            f"{self.registry.key} receives {received} from {self.source.key} by replication "
            f"and replicates {sent} onward to {onward}: ECR replicates an image once, when it "
            "is pushed, so images that arrive by replication are not sent on, and images pushed "
            f"to {self.source.key} will not reach {onward}. Replicate them from "
            f"{self.source.key} directly (add those destinations to its rules)."
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationTopology:
    """The whole replication set-up: source registries and destination registry settings.

    :param sources: every source registry, each listed once.
    :param destination_defaults: settings of every destination registry.
        Default: ``DestinationSettings()``.
    :param destination_overrides: settings for single destination registries, replacing the
        defaults for them (JSON key ``destinationRegistries``). Default: none.
    :param monitoring: alerts on failed replication. Default: none (no monitoring resources).
    :param operations: the account the operations commands run from. Default: none (the
        destination roles trust the source accounts; each source is read with the caller's
        credentials).
    """

    sources: Sequence[SourceRegistry]
    destination_defaults: DestinationSettings = field(default_factory=DestinationSettings)
    destination_overrides: Sequence[DestinationOverride] = field(
        default=(), metadata={"json": "destinationRegistries"}
    )
    monitoring: MonitoringSettings | None = None
    operations: OperationsSettings | None = None

    def __post_init__(self) -> None:
        checks = FieldChecks()
        sources = checks.sequence(
            "sources",
            self.sources,
            SourceRegistry,
            "a list of source registries",
            item_name="a SourceRegistry",
        )
        overrides = checks.sequence(
            "destinationRegistries",
            self.destination_overrides,
            DestinationOverride,
            "a list of destination registry settings",
            item_name="a DestinationOverride",
        )
        checks.instance(
            "destinationDefaults",
            self.destination_defaults,
            DestinationSettings,
            "a DestinationSettings",
        )
        if self.monitoring is not None:
            checks.instance(
                "monitoring", self.monitoring, MonitoringSettings, "a MonitoringSettings"
            )
        if self.operations is not None:
            checks.instance(
                "operations", self.operations, OperationsSettings, "an OperationsSettings"
            )
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "destination_overrides", overrides)
        if not sources and not checks.problems:
            checks.add("sources", "[] must list at least one source registry")
        if isinstance(self.destination_defaults, DestinationSettings) and (
            self.destination_defaults.additional_policy_statements
        ):
            checks.add(
                "destinationDefaults.additionalPolicyStatements",
                "is kept in one registry's policy, verbatim: give the statements per registry "
                "under destinationRegistries",
            )
        # Whole-topology checks need every part valid: they would only repeat a part's problem.
        checks.raise_if_any()
        first_seen: dict[Registry, int] = {}
        for index, source in enumerate(sources):
            registry = source.registry
            if registry in first_seen:
                checks.add(
                    f"sources[{index}]",
                    f"registry {registry.key!r} is already listed at sources[{first_seen[registry]}]; "
                    "a registry has one replication configuration, so list it once with all its rules",
                )
            first_seen.setdefault(registry, index)
        destinations = {d for s in sources for d in s.destinations}
        overridden: dict[Registry, int] = {}
        for index, override in enumerate(overrides):
            path = f"destinationRegistries[{index}]"
            if override.registry not in destinations:
                checks.add(
                    path,
                    f"{override.registry.key!r} is not a destination of any source; known "
                    f"destinations: {', '.join(sorted(d.key for d in destinations)) or 'none'}",
                )
            if override.registry in overridden:
                checks.add(
                    path,
                    f"{override.registry.key!r} is already listed at "
                    f"destinationRegistries[{overridden[override.registry]}]",
                )
            overridden.setdefault(override.registry, index)
        if not checks.problems:
            checks.problems.extend(self._destination_problems())
            checks.problems.extend(self._monitoring_problems())
            checks.problems.extend(self._operations_problems())
        checks.raise_if_any()

    def _operations_problems(self) -> list[Problem]:
        """With an operations account the roles trust it: a trusted principal elsewhere could
        never be the operator."""
        if self.operations is None:
            return []
        checks = FieldChecks()
        account = self.operations.account
        settings = [("destinationDefaults", self.destination_defaults)] + [
            (f"destinationRegistries[{i}]", o.settings)
            for i, o in enumerate(self.destination_overrides)
        ]
        for path, destination_settings in settings:
            for index, arn in enumerate(destination_settings.role.trusted_principal_arns):
                if arn.split(":")[4] != account:
                    checks.add(
                        f"{path}.role.trustedPrincipalArns[{index}]",
                        f"{arn!r} is not in the operations account {account}; with operations "
                        "the roles trust principals of that account only",
                    )
        return checks.problems

    @property
    def source_role_settings(self) -> RoleSettings:
        """The trust conditions of the source roles: those of ``destinationDefaults.role``
        (one operator, one set of conditions for every role it assumes)."""
        return self.destination_defaults.role

    def needs_source_role(self, source: SourceRegistry) -> bool:
        """Whether a source registry's stack gets the read-only source role: with an operations
        account, for every source outside it."""
        return self.operations is not None and source.account != self.operations.account

    def _monitoring_problems(self) -> list[Problem]:
        checks = FieldChecks()
        monitoring = self.monitoring
        if monitoring is None:
            return []
        destinations = [d.registry for d in self.destination_registries()]
        central = monitoring.central_account
        partitions = {d.partition for d in destinations}
        if central is not None and partitions - {central.partition}:
            checks.add(
                "monitoring.centralAccount",
                f"{central.key!r} is in partition {central.partition!r}; events cannot be sent "
                f"to it from destinations in {', '.join(sorted(partitions - {central.partition}))}",
            )
        topic = monitoring.topic_registry
        if topic is not None:
            alerting = [central] if central is not None else destinations
            elsewhere = sorted({r.key for r in alerting if r != topic})
            if elsewhere:
                where = "the central account" if central is not None else "every destination"
                checks.add(
                    "monitoring.notificationTopicArn",
                    f"{monitoring.notification_topic_arn!r} is in {topic.key}, but {where} "
                    f"alerts from {', '.join(elsewhere)}: the topic must be in the account and "
                    "region that alerts (EventBridge reaches topics in its own region only, and "
                    "the rule gets no role for another account's topic)"
                    + ("" if central is not None else "; give monitoring.centralAccount"),
                )
        return checks.problems

    def unforwarded_replications(self) -> tuple[UnforwardedReplication, ...]:
        """Every pair of a source replicating into a registry that is itself a source of the
        same repositories: what ECR will not carry further (it does not chain replication).

        Only destinations the first source does not reach by itself count: a pair replicating
        to each other, or a source already replicating to the onward destinations, loses
        nothing.
        """
        found = []
        for receiving in self.sources:
            for sender in self.sources:
                if receiving.registry not in sender.destinations:
                    continue
                received = union_prefixes(
                    r.repository_prefixes for r in sender.rules_for(receiving.registry)
                )
                prefixes: dict[str, None] = {}
                onward: dict[Registry, None] = {}
                for rule in receiving.rules:
                    overlap = overlapping_prefixes(received, rule.repository_prefixes)
                    # What would be lost: what the sender pushes into this registry and this
                    # rule would send on, unless the sender sends it to that destination itself.
                    forwarded = _common_prefixes(received, rule.repository_prefixes)
                    missed = [
                        d
                        for d in rule.destinations
                        if d != sender.registry and not _covers(sender, d, forwarded)
                    ]
                    if overlap and missed:
                        prefixes.update(dict.fromkeys(overlap))
                        onward.update(dict.fromkeys(missed))
                if prefixes:
                    found.append(
                        UnforwardedReplication(
                            registry=receiving.registry,
                            source=sender.registry,
                            received=received,
                            prefixes=tuple(prefixes),
                            onward=tuple(onward),
                        )
                    )
        return tuple(found)

    def monitoring_accounts(self) -> tuple[str, ...]:
        """The destination accounts that send events to the central account (not itself)."""
        central = self.monitoring.central_account if self.monitoring else None
        if central is None:
            return ()
        accounts = {d.registry.account for d in self.destination_registries()}
        return tuple(sorted(accounts - {central.account}))

    def _destination_problems(self) -> list[Problem]:
        checks = FieldChecks()
        for destination in self.destination_registries():
            registry = destination.registry
            path = self.settings_path(registry)
            template = destination.settings.repository_template
            key_match = KMS_KEY_ARN_PARTS.match(template.kms_key_arn or "")
            if template.enabled and key_match and key_match["region"] != registry.region:
                checks.add(
                    f"{path}.repositoryTemplate.kmsKeyArn",
                    f"{template.kms_key_arn!r} is in {key_match['region']} but is used for "
                    f"destination {registry.key}; ECR needs a key in the repository's region "
                    "(set it per registry under destinationRegistries)",
                )
            generated = {str(st.get("Sid")) for st in generated_statements(destination)}
            for index, kept in enumerate(destination.settings.additional_policy_statements):
                if kept.get("Sid") in generated:
                    checks.add(
                        f"{path}.additionalPolicyStatements[{index}].Sid",
                        f"{kept['Sid']!r} is the Sid of a generated grant of {registry.key}; "
                        "give the kept statement another Sid",
                    )
            size = registry_policy_size(destination)
            if size > MAX_REGISTRY_POLICY_CHARS:
                checks.add(
                    "sources",
                    f"the registry policy for destination {registry.key} would be {size} "
                    f"characters; ECR allows at most {MAX_REGISTRY_POLICY_CHARS}. Use fewer or "
                    "shorter repository prefixes for the sources replicating into it",
                )
        return checks.problems

    def settings_path(self, registry: Registry) -> str:
        """The field path of a destination registry's settings, for messages."""
        for index, override in enumerate(self.destination_overrides):
            if override.registry == registry:
                return f"destinationRegistries[{index}]"
        return "destinationDefaults"

    def settings_for(self, registry: Registry) -> DestinationSettings:
        for override in self.destination_overrides:
            if override.registry == registry:
                return override.settings
        return self.destination_defaults

    def source(self, registry: Registry) -> SourceRegistry | None:
        return next((s for s in self.sources if s.registry == registry), None)

    def destination_registries(self) -> tuple[DestinationRegistry, ...]:
        """Every destination registry with the grants of every source replicating into it.

        The derived view that the registry policy, the role, the templates, the review report
        and ``preflight`` all use, in a stable order (first seen in the topology).
        """
        order: dict[Registry, list[Grant]] = {}
        for source in self.sources:
            for destination in source.destinations:
                grant = Grant(
                    source=source.registry,
                    repository_prefixes=union_prefixes(
                        r.repository_prefixes for r in source.rules_for(destination)
                    ),
                )
                order.setdefault(destination, []).append(grant)
        return tuple(
            DestinationRegistry(
                registry=registry,
                grants=tuple(grants),
                settings=self.settings_for(registry),
                monitoring=self.monitoring,
                operations=self.operations,
            )
            for registry, grants in order.items()
        )

    def destination_registry(self, registry: Registry) -> DestinationRegistry | None:
        return next((d for d in self.destination_registries() if d.registry == registry), None)
