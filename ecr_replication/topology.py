"""The replication topology: the single source of truth for the CDK side and the operations CLI.

Which source registries replicate which repository prefixes to which destination registries,
and how destination registries are set up. Pure Python (no ``aws_cdk`` import): the operations
commands load it without Node.js.

Every value object validates itself on construction and raises :class:`ReplicationConfigError`
with all of its problems; :func:`parse_topology` reads the JSON form (CDK context key
``ecrReplication``) and reports every problem of the whole input at once, each under its field
path.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from .errors import Problem, ProblemCollector, ReplicationConfigError

# ---------------------------------------------------------------------------------------------
# Service limits and formats (see shared/ecr-facts.md)

MAX_RULES_PER_REGISTRY = 10
MAX_DESTINATIONS_PER_REGISTRY = 25
MAX_PREFIXES_PER_RULE = 100
MAX_REGISTRY_POLICY_CHARS = 10_240
ECR_FILTER_PATTERN = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$")
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
IAM_PRINCIPAL_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):(?:iam::(?P<account>[0-9]{12}):(?:root|(?:role|user)/[\w+=,.@/-]+)"
    r"|sts::(?P<sts_account>[0-9]{12}):assumed-role/[\w+=,.@/-]+)$"
)
KMS_KEY_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"(?:key/[a-zA-Z0-9-]+|alias/[a-zA-Z0-9/_-]+)$"
)
TAG_FILTER_PATTERN = re.compile(r"^[0-9a-zA-Z._*-]{1,128}$")
TEMPLATE_SEGMENT_PATTERN = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
MAX_TAG_MUTABILITY_EXCLUSION_FILTERS = 5
MIN_LIFECYCLE_POLICY_CHARS = 100
ROOT_TEMPLATE_PREFIX = "ROOT"

TagMutability = Literal[
    "MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"
]
TAG_MUTABILITIES: tuple[str, ...] = (
    "IMMUTABLE",
    "MUTABLE",
    "IMMUTABLE_WITH_EXCLUSION",
    "MUTABLE_WITH_EXCLUSION",
)
EncryptionType = Literal["AES256", "KMS", "KMS_DSSE"]
ENCRYPTION_TYPES: tuple[str, ...] = ("AES256", "KMS", "KMS_DSSE")


ECR_ENDPOINT_PREFIX = "api.ecr"


@functools.cache
def region_partitions() -> Mapping[str, str]:
    """Every region ECR is known in, mapped to its partition, from botocore's bundled data.

    The same 46 names as ``aws_cdk.region_info`` (a test keeps the two in step), read offline
    in milliseconds without importing ``aws_cdk`` or ``botocore.session`` (which alone takes a
    quarter of a second): the regional ECR endpoints of each partition in
    ``botocore/data/endpoints.json``, exactly what ``Session.get_available_regions("ecr")``
    lists.
    """
    spec = importlib.util.find_spec("botocore")
    locations = list(spec.submodule_search_locations or ()) if spec else []
    if not locations:  # pragma: no cover - botocore is a dependency
        raise RuntimeError("botocore is not installed; it is a dependency of ecr-replication")
    with open(Path(locations[0], "data", "endpoints.json"), encoding="utf-8") as endpoints:
        data = json.load(endpoints)
    return {
        region: partition["partition"]
        for partition in data["partitions"]
        for region in partition["services"].get(ECR_ENDPOINT_PREFIX, {}).get("endpoints", {})
        if region in partition["regions"]
    }


# ---------------------------------------------------------------------------------------------
# Field checks: each returns a message for a bad value, or None


def _account_problem(value: object) -> str | None:
    if isinstance(value, str) and ACCOUNT_PATTERN.match(value):
        return None
    return f"{value!r} is not a 12-digit AWS account id (give it as a string, e.g. '123456789012')"


def _region_problem(value: object) -> str | None:
    if isinstance(value, str) and value in region_partitions():
        return None
    return f"{value!r} is not a known AWS region (e.g. 'us-east-1', 'eu-west-1')"


def _prefix_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a string"
    if not 2 <= len(value) <= 256:
        return f"{value!r} must be 2 to 256 characters long (it has {len(value)})"
    if not ECR_FILTER_PATTERN.match(value):
        return (
            f"{value!r} is not a valid ECR repository filter: lower-case letters, digits and "
            "'.', '_', '-', '/' only, e.g. 'prod/' or 'team-a/service'"
        )
    return None


def _tuple_of(value: Iterable[Any] | None) -> tuple[Any, ...]:
    return () if value is None else tuple(value)


# ---------------------------------------------------------------------------------------------
# Value objects


@dataclass(frozen=True, kw_only=True, slots=True)
class Registry:
    """A private ECR registry: one AWS account in one region.

    ``Destination`` is the same type, used where a registry is a replication destination.
    """

    account: str
    region: str

    def __post_init__(self) -> None:
        problems = ProblemCollector()
        if (message := _account_problem(self.account)) is not None:
            problems.add("account", message)
        if (message := _region_problem(self.region)) is not None:
            problems.add("region", message)
        problems.raise_if_any()

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

    def repository_arn(self, repository_pattern: str) -> str:
        return (
            f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{repository_pattern}"
        )


Destination = Registry


def repository_patterns(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Repository-name patterns a rule with these prefixes can produce (``*`` when unfiltered)."""
    if not prefixes:
        return ("*",)
    return tuple(f"{prefix}*" for prefix in prefixes)


def template_prefix_for(repository_prefix: str | None) -> str:
    """The repository creation template prefix that covers repositories matching a rule prefix.

    A template prefix is a namespace (ECR appends ``/``), so a rule prefix maps to its longest
    valid namespace: ``prod/`` and ``prod/api`` give ``prod``; ``team-a/svc/`` gives
    ``team-a/svc``. A prefix without a namespace (``prod-api``) or no prefix at all gives
    ``ROOT``, the template for every repository without a more specific one.
    """
    if not repository_prefix or "/" not in repository_prefix:
        return ROOT_TEMPLATE_PREFIX
    segments = repository_prefix.rsplit("/", 1)[0].split("/")
    while segments and not all(TEMPLATE_SEGMENT_PATTERN.match(s) for s in segments):
        segments.pop()
    return "/".join(segments) if segments else ROOT_TEMPLATE_PREFIX


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationRule:
    """One replication rule: where to replicate, and which repositories (by name prefix).

    ``repository_prefixes`` empty means every repository of the registry.
    """

    destinations: Sequence[Registry]
    repository_prefixes: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "destinations", _tuple_of(self.destinations))
        object.__setattr__(self, "repository_prefixes", _tuple_of(self.repository_prefixes))
        problems = ProblemCollector()
        if not self.destinations:
            problems.add("destinations", "[] must list at least one destination")
        seen: dict[Registry, int] = {}
        for index, destination in enumerate(self.destinations):
            if destination in seen:
                problems.add(
                    f"destinations[{index}]",
                    f"{destination.key!r} is listed twice in this rule "
                    f"(also destinations[{seen[destination]}])",
                )
            seen.setdefault(destination, index)
        if len(self.repository_prefixes) > MAX_PREFIXES_PER_RULE:
            problems.add(
                "repositoryPrefixes",
                f"has {len(self.repository_prefixes)} prefixes; at most "
                f"{MAX_PREFIXES_PER_RULE} are allowed per rule",
            )
        seen_prefixes: set[str] = set()
        for index, prefix in enumerate(self.repository_prefixes):
            if (message := _prefix_problem(prefix)) is not None:
                problems.add(f"repositoryPrefixes[{index}]", message)
            elif prefix in seen_prefixes:
                problems.add(f"repositoryPrefixes[{index}]", f"{prefix!r} is listed twice")
            seen_prefixes.add(prefix)
        problems.raise_if_any()

    def matches(self, repository_name: str) -> bool:
        """Whether ECR replicates a repository of this name under this rule."""
        return not self.repository_prefixes or any(
            repository_name.startswith(prefix) for prefix in self.repository_prefixes
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceRegistry:
    """A source registry and its replication rules (its one replication configuration)."""

    account: str
    region: str
    rules: Sequence[ReplicationRule]
    backfill_existing_images: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", _tuple_of(self.rules))
        problems = ProblemCollector()
        try:
            registry: Registry | None = Registry(account=self.account, region=self.region)
        except ReplicationConfigError as error:
            problems.extend(error)
            registry = None
        problems.problems.extend(source_rule_problems(registry, self.rules))
        problems.raise_if_any()

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


def source_rule_problems(
    source: Registry | None, rules: Sequence[ReplicationRule], *, rules_path: str = "rules"
) -> list[Problem]:
    """Problems of a registry's rules as a whole: the limits and the source-destination checks.

    Shared by :class:`SourceRegistry` and the CDK source construct, whose rules can grow
    through ``add_rule``. ``source`` is None when the registry is not known (yet).
    """
    problems = ProblemCollector()
    if not rules:
        problems.add(rules_path, "[] must list at least one rule")
    if len(rules) > MAX_RULES_PER_REGISTRY:
        problems.add(
            rules_path,
            f"has {len(rules)} rules; a registry's replication configuration allows at most "
            f"{MAX_RULES_PER_REGISTRY}",
        )
    unique = dict.fromkeys(d for rule in rules for d in rule.destinations)
    if len(unique) > MAX_DESTINATIONS_PER_REGISTRY:
        problems.add(
            rules_path,
            f"replicate to {len(unique)} unique destinations; ECR allows at most "
            f"{MAX_DESTINATIONS_PER_REGISTRY} per source registry (quota, not adjustable)",
        )
    if source is not None:
        for r_index, rule in enumerate(rules):
            for d_index, destination in enumerate(rule.destinations):
                path = f"{rules_path}[{r_index}].destinations[{d_index}]"
                if destination == source:
                    problems.add(
                        path,
                        f"{destination.key!r} is the source registry itself; a destination "
                        "must differ from its source in account or region",
                    )
                elif destination.partition != source.partition:
                    problems.add(
                        path,
                        f"{destination.key!r} is in partition {destination.partition!r} but "
                        f"the source is in {source.partition!r}; replication does not cross "
                        "partitions",
                    )
    return problems.problems


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleSettings:
    """The destination assumable role, used by verification tooling (not by ECR itself).

    Trusted by the source accounts replicating into the registry, or only by
    ``trusted_principal_arns`` when given; ``external_id`` and ``principal_org_id`` add
    conditions to the trust.
    """

    enabled: bool = True
    external_id: str | None = None
    trusted_principal_arns: Sequence[str] = ()
    principal_org_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trusted_principal_arns", _tuple_of(self.trusted_principal_arns))
        problems = ProblemCollector()
        if self.external_id is not None and not (
            isinstance(self.external_id, str) and EXTERNAL_ID_PATTERN.match(self.external_id)
        ):
            problems.add(
                "externalId",
                f"{self.external_id!r} is not a valid external id: 2 to 1224 characters of "
                "letters, digits and + = , . @ : / -",
            )
        for index, arn in enumerate(self.trusted_principal_arns):
            if not (isinstance(arn, str) and IAM_PRINCIPAL_ARN_PATTERN.match(arn)):
                problems.add(
                    f"trustedPrincipalArns[{index}]",
                    f"{arn!r} is not an IAM role, user or account-root ARN, e.g. "
                    "'arn:aws:iam::555444333222:role/ci-deployer'",
                )
        if self.principal_org_id is not None and not (
            isinstance(self.principal_org_id, str) and ORG_ID_PATTERN.match(self.principal_org_id)
        ):
            problems.add(
                "principalOrgId",
                f"{self.principal_org_id!r} is not an AWS Organizations id (o- followed by "
                "10 to 32 lower-case letters or digits)",
            )
        problems.raise_if_any()

    @property
    def has_trust_conditions(self) -> bool:
        """Whether the trust is narrower than whole accounts: a condition, or named principals.

        An account-root ARN among ``trusted_principal_arns`` trusts that whole account again.
        """
        named = bool(self.trusted_principal_arns) and not any(
            arn.endswith(":root") for arn in self.trusted_principal_arns
        )
        return bool(self.external_id or self.principal_org_id or named)


@dataclass(frozen=True, kw_only=True, slots=True)
class RepositoryTemplateSettings:
    """Settings of repositories that replication creates in a destination registry.

    Applied through ``AWS::ECR::RepositoryCreationTemplate`` (``AppliedFor: [REPLICATION]``)
    for each rule prefix. Without a template ECR creates replicated repositories with its
    defaults: mutable tags, AES256, no repository or lifecycle policy.
    """

    enabled: bool = True
    tag_mutability: TagMutability = "IMMUTABLE"
    tag_mutability_exclusion_filters: Sequence[str] = ()
    encryption: EncryptionType = "AES256"
    kms_key_arn: str | None = None
    lifecycle_policy: str | None = None
    pull_accounts: Sequence[str] = ()
    pull_organization_id: str | None = None
    resource_tags: Sequence[tuple[str, str]] = ()
    description: str = "Repositories created by ECR replication (managed by ecr-replication)"

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "tag_mutability_exclusion_filters",
            _tuple_of(self.tag_mutability_exclusion_filters),
        )
        object.__setattr__(self, "pull_accounts", _tuple_of(self.pull_accounts))
        tags = self.resource_tags
        pairs = tags.items() if isinstance(tags, Mapping) else tags
        object.__setattr__(self, "resource_tags", tuple(sorted((str(k), str(v)) for k, v in pairs)))
        problems = ProblemCollector()
        if self.tag_mutability not in TAG_MUTABILITIES:
            problems.add(
                "tagMutability",
                f"{self.tag_mutability!r} is not one of {', '.join(TAG_MUTABILITIES)}",
            )
        filters = self.tag_mutability_exclusion_filters
        if self.tag_mutability.endswith("_WITH_EXCLUSION"):
            if not 1 <= len(filters) <= MAX_TAG_MUTABILITY_EXCLUSION_FILTERS:
                problems.add(
                    "tagMutabilityExclusionFilters",
                    f"{self.tag_mutability} needs 1 to {MAX_TAG_MUTABILITY_EXCLUSION_FILTERS} "
                    f"tag filters (got {len(filters)}), e.g. ['latest', 'dev-*']",
                )
        elif filters:
            problems.add(
                "tagMutabilityExclusionFilters",
                f"{list(filters)!r} is only allowed with IMMUTABLE_WITH_EXCLUSION or "
                "MUTABLE_WITH_EXCLUSION",
            )
        for index, tag_filter in enumerate(filters):
            if not (isinstance(tag_filter, str) and TAG_FILTER_PATTERN.match(tag_filter)):
                problems.add(
                    f"tagMutabilityExclusionFilters[{index}]",
                    f"{tag_filter!r} is not a tag filter: 1 to 128 letters, digits, '.', '_', "
                    "'-' and the wildcard '*'",
                )
        if self.encryption not in ENCRYPTION_TYPES:
            problems.add(
                "encryption", f"{self.encryption!r} is not one of {', '.join(ENCRYPTION_TYPES)}"
            )
        if self.kms_key_arn is not None:
            if self.encryption == "AES256":
                problems.add(
                    "kmsKeyArn", "is only allowed with encryption 'KMS' or 'KMS_DSSE', not 'AES256'"
                )
            if not (
                isinstance(self.kms_key_arn, str) and KMS_KEY_ARN_PATTERN.match(self.kms_key_arn)
            ):
                problems.add(
                    "kmsKeyArn",
                    f"{self.kms_key_arn!r} is not a KMS key or alias ARN, e.g. "
                    "'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
                )
        if self.lifecycle_policy is not None:
            problems.problems.extend(_lifecycle_policy_problems(self.lifecycle_policy))
        for index, account in enumerate(self.pull_accounts):
            if (message := _account_problem(account)) is not None:
                problems.add(f"pullAccounts[{index}]", message)
        if self.pull_organization_id is not None and not (
            isinstance(self.pull_organization_id, str)
            and ORG_ID_PATTERN.match(self.pull_organization_id)
        ):
            problems.add(
                "pullOrganizationId",
                f"{self.pull_organization_id!r} is not an AWS Organizations id (o- followed by "
                "10 to 32 lower-case letters or digits)",
            )
        for key, value in self.resource_tags:
            if not 1 <= len(key) <= 128 or len(value) > 256:
                problems.add(
                    f"resourceTags.{key}",
                    "tag keys must be 1 to 128 characters and values at most 256",
                )
        if len(self.description) > 256:
            problems.add(
                "description", f"must be at most 256 characters (has {len(self.description)})"
            )
        problems.raise_if_any()

    @property
    def needs_custom_role(self) -> bool:
        """KMS encryption and resource tags need a role that ECR assumes (``CustomRoleArn``)."""
        return self.encryption != "AES256" or bool(self.resource_tags)

    @property
    def is_mutable(self) -> bool:
        return self.tag_mutability.startswith("MUTABLE")


def _lifecycle_policy_problems(text: str) -> list[Problem]:
    try:
        document = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return [Problem("lifecyclePolicy", "is not valid JSON")]
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        return [
            Problem(
                "lifecyclePolicy",
                'must be an ECR lifecycle policy object with a "rules" list, e.g. {"rules": '
                '[{"rulePriority": 1, "selection": {...}, "action": {"type": "expire"}}]}',
            )
        ]
    if len(text) < MIN_LIFECYCLE_POLICY_CHARS:
        return [
            Problem(
                "lifecyclePolicy",
                f"is {len(text)} characters; ECR requires at least {MIN_LIFECYCLE_POLICY_CHARS}",
            )
        ]
    return []


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationSettings:
    """How a destination registry is set up: grants, the assumable role, repository template."""

    allow_create_repository: bool = True
    role: RoleSettings = field(default_factory=RoleSettings)
    repository_template: RepositoryTemplateSettings = field(
        default_factory=RepositoryTemplateSettings
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationOverride:
    """Settings for one destination registry, replacing the topology's defaults for it."""

    registry: Registry
    settings: DestinationSettings


@dataclass(frozen=True, kw_only=True, slots=True)
class Grant:
    """What one source registry may replicate into one destination registry.

    ``repository_prefixes`` empty means every repository.
    """

    source: Registry
    repository_prefixes: tuple[str, ...]

    @property
    def repository_patterns(self) -> tuple[str, ...]:
        return repository_patterns(self.repository_prefixes)


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationRegistry:
    """A destination registry as the topology sees it: who replicates into it, and its settings."""

    registry: Registry
    grants: tuple[Grant, ...]
    settings: DestinationSettings

    @property
    def cross_account_grants(self) -> tuple[Grant, ...]:
        """Grants from other accounts: the ones that need the registry policy."""
        return tuple(g for g in self.grants if g.source.account != self.registry.account)

    @property
    def needs_registry_policy(self) -> bool:
        return bool(self.cross_account_grants)

    @property
    def needs_role(self) -> bool:
        return self.settings.role.enabled and self.needs_registry_policy

    @property
    def needs_template(self) -> bool:
        return self.settings.repository_template.enabled

    @property
    def needs_stack(self) -> bool:
        return self.needs_registry_policy or self.needs_role or self.needs_template

    @property
    def template_prefixes(self) -> tuple[str, ...]:
        """One repository creation template prefix per namespace the grants can create."""
        prefixes: set[str] = set()
        for grant in self.grants:
            for prefix in grant.repository_prefixes or (None,):
                prefixes.add(template_prefix_for(prefix))
        return tuple(sorted(prefixes))

    @property
    def repository_patterns(self) -> tuple[str, ...]:
        """Repository patterns across the cross-account grants (what the role may touch)."""
        return repository_patterns(
            union_prefixes(g.repository_prefixes for g in self.cross_account_grants)
        )


def union_prefixes(prefix_lists: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The union of several rules' or grants' prefixes; empty (every repository) wins."""
    prefixes: dict[str, None] = {}
    for listed in prefix_lists:
        if not listed:
            return ()
        prefixes.update(dict.fromkeys(listed))
    return tuple(prefixes)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationTopology:
    """The whole replication set-up: source registries and destination registry settings."""

    sources: Sequence[SourceRegistry]
    destination_defaults: DestinationSettings = field(default_factory=DestinationSettings)
    destination_overrides: Sequence[DestinationOverride] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", _tuple_of(self.sources))
        object.__setattr__(self, "destination_overrides", _tuple_of(self.destination_overrides))
        problems = ProblemCollector()
        if not self.sources:
            problems.add("sources", "[] must list at least one source registry")
        first_seen: dict[Registry, int] = {}
        for index, source in enumerate(self.sources):
            registry = source.registry
            if registry in first_seen:
                problems.add(
                    f"sources[{index}]",
                    f"registry {registry.key!r} is already listed at sources[{first_seen[registry]}]; "
                    "a registry has one replication configuration, so list it once with all its rules",
                )
            first_seen.setdefault(registry, index)
        destinations = {d for s in self.sources for d in s.destinations}
        overridden: dict[Registry, int] = {}
        for index, override in enumerate(self.destination_overrides):
            path = f"destinationRegistries[{index}]"
            if override.registry not in destinations:
                problems.add(
                    path,
                    f"{override.registry.key!r} is not a destination of any source; known "
                    f"destinations: {', '.join(sorted(d.key for d in destinations)) or 'none'}",
                )
            if override.registry in overridden:
                problems.add(
                    path,
                    f"{override.registry.key!r} is already listed at "
                    f"destinationRegistries[{overridden[override.registry]}]",
                )
            overridden.setdefault(override.registry, index)
        if not problems.problems:
            problems.problems.extend(self._destination_problems())
        problems.raise_if_any()

    def _destination_problems(self) -> list[Problem]:
        from .policies import registry_policy_size  # policies builds on this module

        problems = ProblemCollector()
        for destination in self.destination_registries():
            registry = destination.registry
            path = self._settings_path(registry)
            template = destination.settings.repository_template
            key_match = KMS_KEY_ARN_PATTERN.match(template.kms_key_arn or "")
            if template.enabled and key_match and key_match["region"] != registry.region:
                problems.add(
                    f"{path}.repositoryTemplate.kmsKeyArn",
                    f"{template.kms_key_arn!r} is in {key_match['region']} but is used for "
                    f"destination {registry.key}; ECR needs a key in the repository's region "
                    "(set it per registry under destinationRegistries)",
                )
            size = registry_policy_size(destination)
            if size > MAX_REGISTRY_POLICY_CHARS:
                problems.add(
                    "sources",
                    f"the registry policy for destination {registry.key} would be {size} "
                    f"characters; ECR allows at most {MAX_REGISTRY_POLICY_CHARS}. Use fewer or "
                    "shorter repository prefixes for the sources replicating into it",
                )
        return problems.problems

    def _settings_path(self, registry: Registry) -> str:
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
                registry=registry, grants=tuple(grants), settings=self.settings_for(registry)
            )
            for registry, grants in order.items()
        )

    def destination_registry(self, registry: Registry) -> DestinationRegistry | None:
        return next((d for d in self.destination_registries() if d.registry == registry), None)


# ---------------------------------------------------------------------------------------------
# The JSON form (CDK context key ``ecrReplication``, ``--config`` files)

CONTEXT_KEY = "ecrReplication"


class _Reader:
    """Reads one JSON object, recording problems under field paths instead of raising."""

    def __init__(self, raw: object, path: str, problems: ProblemCollector, allowed: Sequence[str]):
        self.path = path
        self.problems = problems
        self.ok = isinstance(raw, Mapping)
        self.raw: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if not self.ok:
            problems.add(path, f"{_short(raw)} must be a JSON object")
            return
        for key in self.raw:
            if key not in allowed:
                problems.add(
                    self.child(str(key)),
                    f"unknown key; allowed keys here are {', '.join(allowed)}",
                )

    def child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        if key not in self.raw:
            return default
        value = self.raw[key]
        # JSON booleans are ints in Python: never accept one where a number or string is due.
        if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _kinds(kind)):
            return value
        self.problems.add(self.child(key), f"{_short(value)} must be {what}")
        return default

    def strings(self, key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = self.get(key, list, None, "a list of strings")
        if value is None:
            return tuple(default)
        good = []
        for index, item in enumerate(value):
            if isinstance(item, str):
                good.append(item)
            else:
                self.problems.add(f"{self.child(key)}[{index}]", f"{_short(item)} must be a string")
        return tuple(good)


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _build(problems: ProblemCollector, path: str, factory: Any, **kwargs: Any) -> Any:
    """Call a value object's constructor, filing its problems under ``path``; None if invalid."""
    try:
        return factory(**kwargs)
    except ReplicationConfigError as error:
        problems.extend(error, path)
        return None


def _read_registry(raw: object, path: str, problems: ProblemCollector) -> Registry | None:
    reader = _Reader(raw, path, problems, ("account", "region"))
    if not reader.ok:
        return None
    for key in ("account", "region"):
        if not reader.has(key):
            problems.add(reader.child(key), "is required")
    if not (reader.has("account") and reader.has("region")):
        return None
    return cast(
        Registry | None,
        _build(
            problems, path, Registry, account=reader.raw["account"], region=reader.raw["region"]
        ),
    )


def _read_rule(raw: object, path: str, problems: ProblemCollector) -> ReplicationRule | None:
    reader = _Reader(raw, path, problems, ("repositoryPrefixes", "destinations"))
    if not reader.ok:
        return None
    before = len(problems.problems)
    destinations = []
    raw_destinations = reader.get("destinations", list, None, "a list of {account, region}")
    if raw_destinations is None and not reader.has("destinations"):
        problems.add(reader.child("destinations"), "is required")
    for index, item in enumerate(raw_destinations or ()):
        destinations.append(
            _read_registry(item, f"{reader.child('destinations')}[{index}]", problems)
        )
    prefixes = reader.strings("repositoryPrefixes")
    if reader.has("repositoryPrefixes") and reader.raw["repositoryPrefixes"] == []:
        problems.add(
            reader.child("repositoryPrefixes"),
            "[] must list 1 to 100 prefixes; leave the key out to replicate every repository",
        )
    if len(problems.problems) > before and raw_destinations is None:
        return None
    if any(d is None for d in destinations):
        return None
    return cast(
        ReplicationRule | None,
        _build(
            problems,
            path,
            ReplicationRule,
            destinations=destinations,
            repository_prefixes=prefixes,
        ),
    )


def _read_source(raw: object, path: str, problems: ProblemCollector) -> SourceRegistry | None:
    reader = _Reader(raw, path, problems, ("account", "region", "rules", "backfillExistingImages"))
    if not reader.ok:
        return None
    before = len(problems.problems)
    registry = _read_registry(
        {k: v for k, v in reader.raw.items() if k in ("account", "region")}, path, problems
    )
    raw_rules = reader.get("rules", list, None, "a list of rules")
    if raw_rules is None and not reader.has("rules"):
        problems.add(reader.child("rules"), "is required")
    rules = [
        _read_rule(item, f"{reader.child('rules')}[{index}]", problems)
        for index, item in enumerate(raw_rules or ())
    ]
    backfill = reader.get("backfillExistingImages", bool, False, "true or false")
    if raw_rules is None or any(r is None for r in rules):
        return None
    if registry is None:
        # The registry is invalid, but the rules' own limits (none, over 10, over 25
        # destinations) can still be checked, so that one run reports them too.
        problems.problems.extend(
            p.under(path) for p in source_rule_problems(None, cast(list[ReplicationRule], rules))
        )
        return None
    if len(problems.problems) > before:
        return None
    return cast(
        SourceRegistry | None,
        _build(
            problems,
            path,
            SourceRegistry,
            account=registry.account,
            region=registry.region,
            rules=rules,
            backfill_existing_images=backfill,
        ),
    )


_OPTIONAL_STR = (str, type(None))
_ROLE_KEYS = ("enabled", "externalId", "trustedPrincipalArns", "principalOrgId")
_TEMPLATE_KEYS = (
    "enabled",
    "tagMutability",
    "tagMutabilityExclusionFilters",
    "encryption",
    "kmsKeyArn",
    "lifecyclePolicy",
    "pullAccounts",
    "pullOrganizationId",
    "resourceTags",
    "description",
)
_SETTINGS_KEYS = ("allowCreateRepository", "role", "repositoryTemplate")


def _read_settings(
    raw: object, path: str, problems: ProblemCollector, base: DestinationSettings
) -> DestinationSettings | None:
    """Destination settings; keys given replace the matching ones of ``base`` (field by field)."""
    reader = _Reader(raw, path, problems, _SETTINGS_KEYS)
    if not reader.ok:
        return None
    before = len(problems.problems)
    allow_create = reader.get(
        "allowCreateRepository", bool, base.allow_create_repository, "true or false"
    )
    role_reader = _Reader(reader.raw.get("role", {}), reader.child("role"), problems, _ROLE_KEYS)
    r = base.role
    role = _build(
        problems,
        reader.child("role"),
        RoleSettings,
        enabled=role_reader.get("enabled", bool, r.enabled, "true or false"),
        external_id=role_reader.get("externalId", _OPTIONAL_STR, r.external_id, "a string or null"),
        trusted_principal_arns=role_reader.strings(
            "trustedPrincipalArns", r.trusted_principal_arns
        ),
        principal_org_id=role_reader.get(
            "principalOrgId", _OPTIONAL_STR, r.principal_org_id, "a string or null"
        ),
    )
    t_reader = _Reader(
        reader.raw.get("repositoryTemplate", {}),
        reader.child("repositoryTemplate"),
        problems,
        _TEMPLATE_KEYS,
    )
    t = base.repository_template
    lifecycle = t.lifecycle_policy
    if t_reader.has("lifecyclePolicy"):
        value = t_reader.raw["lifecyclePolicy"]
        if value is None:
            lifecycle = None
        elif isinstance(value, Mapping):
            lifecycle = json.dumps(value, separators=(",", ":"))
        else:
            problems.add(
                t_reader.child("lifecyclePolicy"),
                f"{_short(value)} must be an ECR lifecycle policy object or null",
            )
    # Fields that only make sense with another one are inherited only while that one is: an
    # override that switches to MUTABLE or AES256 must not keep the defaults' exclusion filters
    # or KMS key (and fail because of them).
    tag_mutability = t_reader.get("tagMutability", str, t.tag_mutability, "a string")
    inherited_filters = (
        t.tag_mutability_exclusion_filters
        if str(tag_mutability).endswith("_WITH_EXCLUSION")
        else ()
    )
    encryption = t_reader.get("encryption", str, t.encryption, "a string")
    inherited_key = t.kms_key_arn if encryption != "AES256" else None
    tags = t_reader.get("resourceTags", dict, None, "an object of tag names to string values")
    if tags is not None:
        for key, value in tags.items():
            if not isinstance(value, str):
                problems.add(
                    f"{t_reader.child('resourceTags')}.{key}", f"{_short(value)} must be a string"
                )
    template = _build(
        problems,
        reader.child("repositoryTemplate"),
        RepositoryTemplateSettings,
        enabled=t_reader.get("enabled", bool, t.enabled, "true or false"),
        tag_mutability=tag_mutability,
        tag_mutability_exclusion_filters=t_reader.strings(
            "tagMutabilityExclusionFilters", inherited_filters
        ),
        encryption=encryption,
        kms_key_arn=t_reader.get("kmsKeyArn", _OPTIONAL_STR, inherited_key, "a string or null"),
        lifecycle_policy=lifecycle,
        pull_accounts=t_reader.strings("pullAccounts", t.pull_accounts),
        pull_organization_id=t_reader.get(
            "pullOrganizationId", _OPTIONAL_STR, t.pull_organization_id, "a string or null"
        ),
        resource_tags=t.resource_tags if tags is None else tags,
        description=t_reader.get("description", str, t.description, "a string"),
    )
    if len(problems.problems) > before or role is None or template is None:
        return None
    return DestinationSettings(
        allow_create_repository=allow_create, role=role, repository_template=template
    )


def parse_topology(raw: object) -> ReplicationTopology:
    """Read a topology from its JSON form: a JSON object, or a string holding one.

    Raises :class:`ReplicationConfigError` listing every problem of the input, each under its
    field path.
    """
    problems = ProblemCollector()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            problems.add(
                "", f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            )
            problems.raise_if_any()
    reader = _Reader(raw, "", problems, ("sources", "destinationDefaults", "destinationRegistries"))
    if not reader.ok:
        problems.raise_if_any()
    raw_sources = reader.get("sources", list, None, "a list of source registries")
    if raw_sources is None and not reader.has("sources"):
        problems.add("sources", "is required")
    sources = [
        _read_source(item, f"sources[{index}]", problems)
        for index, item in enumerate(raw_sources or ())
    ]
    defaults = _read_settings(
        reader.raw.get("destinationDefaults", {}),
        "destinationDefaults",
        problems,
        DestinationSettings(),
    )
    overrides = []
    raw_overrides = reader.get(
        "destinationRegistries", list, [], "a list of {account, region, ...settings}"
    )
    for index, item in enumerate(raw_overrides):
        path = f"destinationRegistries[{index}]"
        item_reader = _Reader(item, path, problems, ("account", "region", *_SETTINGS_KEYS))
        if not item_reader.ok:
            continue
        registry = _read_registry(
            {k: v for k, v in item_reader.raw.items() if k in ("account", "region")}, path, problems
        )
        settings = _read_settings(
            {k: v for k, v in item_reader.raw.items() if k in _SETTINGS_KEYS},
            path,
            problems,
            defaults or DestinationSettings(),
        )
        if registry is not None and settings is not None:
            overrides.append(DestinationOverride(registry=registry, settings=settings))
    problems.raise_if_any()
    assert defaults is not None  # no problems means every part was built
    topology = _build(
        problems,
        "",
        ReplicationTopology,
        sources=sources,
        destination_defaults=defaults,
        destination_overrides=overrides,
    )
    problems.raise_if_any()
    return cast(ReplicationTopology, topology)


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
            problem if problem.path else Problem(CONTEXT_KEY, problem.message)
            for problem in error.problems
        ) from None
