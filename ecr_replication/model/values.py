"""The value objects of a replication topology: registries, rules, grants and settings.

Every value object is a frozen dataclass that checks itself on construction and raises
:class:`~ecr_replication.errors.ReplicationConfigError` with all of its problems, each under
its field's JSON name. The same objects serve the CDK constructs, the JSON reader
(:mod:`ecr_replication.model.json_form`) and the operations commands. Lists may be given as any
sequence (not a bare string) and are stored as tuples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem, describe_value
from .checks import (
    FieldChecks,
    account_problem,
    is_list_like,
    key_location_problem,
    kms_key_arn_problem,
    org_id_problem,
    region_problem,
    template_kms_key_problem,
)
from .limits import (
    EMAIL_PATTERN,
    ENCRYPTION_TYPES,
    EXTERNAL_ID_PATTERN,
    IAM_PRINCIPAL_ARN_PATTERN,
    LOG_RETENTION_DAYS,
    MAX_DESCRIPTION_CHARS,
    MAX_DESTINATIONS_PER_RULE,
    MAX_FUNCTION_SECURITY_GROUPS,
    MAX_FUNCTION_SUBNETS,
    MAX_PREFIXES_PER_RULE,
    MAX_RULES_PER_REGISTRY,
    MAX_TAG_MUTABILITY_EXCLUSION_FILTERS,
    MIN_GOVERNED_LOG_RETENTION_DAYS,
    MIN_LIFECYCLE_POLICY_CHARS,
    REPLICATION_APPLIED_FOR,
    ROOT_TEMPLATE_PREFIX,
    SECURITY_GROUP_ID_PATTERN,
    SNS_TOPIC_ARN_PATTERN,
    SUBNET_ID_PATTERN,
    TAG_FILTER_PATTERN,
    TAG_MUTABILITIES,
    TEMPLATE_APPLIED_FOR,
    TEMPLATE_SEGMENT_PATTERN,
    UNCONFIRMED_MAX_DESTINATIONS_PER_REGISTRY,
    EncryptionType,
    TagMutability,
    region_partitions,
)


def _set(instance: object, name: str, value: object) -> None:
    """Store a normalised field value on a frozen dataclass (during ``__post_init__`` only)."""
    object.__setattr__(instance, name, value)


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


def template_prefix_problem(value: object) -> str | None:
    """Why a value is not a repository creation template prefix, or None."""
    if value == ROOT_TEMPLATE_PREFIX:
        return None
    if isinstance(value, str) and all(TEMPLATE_SEGMENT_PATTERN.match(s) for s in value.split("/")):
        return None
    return (
        f"{describe_value(value)} is not a template prefix: a namespace such as 'prod' or "
        "'prod/team-a', or 'ROOT'"
    )


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
        _set(self, "destinations", destinations)
        _set(self, "repository_prefixes", prefixes)
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


def _ids(
    checks: FieldChecks,
    path: str,
    value: object,
    *,
    pattern: re.Pattern[str],
    example: str,
    limit: int,
) -> tuple[str, ...]:
    ids = checks.strings(path, value)
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if not pattern.match(item):
            checks.add(f"{path}[{index}]", f"{item!r} is not an id such as {example!r}")
        elif item in seen:
            checks.add(f"{path}[{index}]", f"{item!r} is listed twice")
        seen.add(item)
    if len(ids) > limit:
        checks.add(path, f"has {len(ids)} ids; a Lambda function takes at most {limit}")
    return ids


def _listed(value: object) -> bool:
    """Whether a value was given as something: a non-empty list, or anything that is not a
    list (its own problem is reported where it is checked)."""
    if value is None:
        return False
    return not is_list_like(value) or len(value) > 0  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillFunctionSettings:
    """How the backfill-on-deploy function runs, for organizations whose controls govern every
    function and log group (AWS Control Tower CT.LAMBDA.PR.3, CT.CLOUDWATCH.PR.2 and .PR.3).

    :param subnet_ids: run the function in these subnets of your VPC (with
        ``security_group_ids``; 1 to 16). The function then reaches ECR and CloudFormation's
        response URL (S3) only through VPC endpoints or a NAT gateway. Default: outside a VPC.
    :param security_group_ids: its security groups (with ``subnet_ids``; 1 to 5). Default:
        none.
    :param log_kms_key_arn: encrypt the function's log group with this key: a key ARN in the
        source registry's account and region, whose key policy lets
        ``logs.<region>.amazonaws.com`` use it. Default: CloudWatch Logs' own encryption.
    :param log_retention_days: how long the log group keeps the function's logs: a value
        CloudWatch Logs accepts. Default: 365 (one year, what CT.CLOUDWATCH.PR.2 asks).
    """

    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    log_kms_key_arn: str | None = None
    log_retention_days: int = MIN_GOVERNED_LOG_RETENTION_DAYS

    def __post_init__(self) -> None:
        checks = FieldChecks()
        subnets_given = _listed(self.subnet_ids)
        groups_given = _listed(self.security_group_ids)
        subnets = _ids(
            checks,
            "subnetIds",
            self.subnet_ids,
            pattern=SUBNET_ID_PATTERN,
            example="subnet-0abc1234def567890",
            limit=MAX_FUNCTION_SUBNETS,
        )
        groups = _ids(
            checks,
            "securityGroupIds",
            self.security_group_ids,
            pattern=SECURITY_GROUP_ID_PATTERN,
            example="sg-0abc1234def567890",
            limit=MAX_FUNCTION_SECURITY_GROUPS,
        )
        _set(self, "subnet_ids", subnets)
        _set(self, "security_group_ids", groups)
        if subnets_given != groups_given:
            given, missing = (
                ("subnetIds", "securityGroupIds")
                if subnets_given
                else ("securityGroupIds", "subnetIds")
            )
            checks.add(
                missing,
                f"[] must list at least one id when {given} are given: a function in a VPC "
                "needs both its subnets and its security groups (give both lists, or neither)",
            )
        if self.log_kms_key_arn is not None:
            checks.check("logKmsKeyArn", self.log_kms_key_arn, kms_key_arn_problem)
        days = self.log_retention_days
        if isinstance(days, bool) or days not in LOG_RETENTION_DAYS:
            checks.add(
                "logRetentionDays",
                f"{describe_value(days)} is not a retention CloudWatch Logs accepts: one of "
                f"{', '.join(str(d) for d in LOG_RETENTION_DAYS)}",
            )
        checks.raise_if_any()

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)


def backfill_function_problems(
    settings: BackfillFunctionSettings, account: str, region: str
) -> list[Problem]:
    """Problems of backfill function settings for a function in this account and region (the
    log key must be there), each under its field path."""
    checks = FieldChecks()
    if settings.log_kms_key_arn is not None:
        checks.check(
            "logKmsKeyArn",
            settings.log_kms_key_arn,
            lambda arn: key_location_problem(str(arn), account, region),
        )
    return checks.problems


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
        _set(self, "rules", rules)
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
        _set(
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


# ---------------------------------------------------------------------------------------------
# Destination settings


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleSettings:
    """The destination role: read-only access for the operations commands (not used by ECR).

    Trusted by the source accounts replicating into the registry, or only by
    ``trusted_principal_arns`` when given; ``external_id`` and ``principal_org_id`` add
    conditions to the trust.

    :param enabled: create the role (read by the topology's stacks). Default: True.
    :param external_id: require this ``sts:ExternalId``. Default: none.
    :param trusted_principal_arns: trust only these role, user or account-root ARNs.
        Default: the source accounts.
    :param principal_org_id: require ``aws:PrincipalOrgID``. Default: none.
    """

    enabled: bool = True
    external_id: str | None = None
    trusted_principal_arns: Sequence[str] = ()
    principal_org_id: str | None = None

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.boolean("enabled", self.enabled)
        arns = checks.strings("trustedPrincipalArns", self.trusted_principal_arns)
        _set(self, "trusted_principal_arns", arns)
        if self.external_id is not None and not (
            isinstance(self.external_id, str) and EXTERNAL_ID_PATTERN.match(self.external_id)
        ):
            checks.add(
                "externalId",
                f"{describe_value(self.external_id)} is not a valid external id: 2 to 1224 "
                "characters of letters, digits and + = , . @ : / -",
            )
        for index, arn in enumerate(arns):
            if not IAM_PRINCIPAL_ARN_PATTERN.match(arn):
                checks.add(
                    f"trustedPrincipalArns[{index}]",
                    f"{arn!r} is not an IAM role, user or account-root ARN, e.g. "
                    "'arn:aws:iam::555444333222:role/ci-deployer'",
                )
        if self.principal_org_id is not None:
            checks.check("principalOrgId", self.principal_org_id, org_id_problem)
        checks.raise_if_any()


def _lifecycle_policy_text(checks: FieldChecks, value: object) -> str | None:
    """A lifecycle policy given as an object or as JSON text, stored as text."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        try:
            text = json.dumps(value, separators=(",", ":"))
        except (TypeError, ValueError):
            checks.add("lifecyclePolicy", f"{describe_value(value)} is not JSON data")
            return None
    elif isinstance(value, str):
        text = value
    else:
        checks.add(
            "lifecyclePolicy",
            f"{describe_value(value)} must be an ECR lifecycle policy object or null",
        )
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        checks.add("lifecyclePolicy", "is not valid JSON")
        return None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        checks.add(
            "lifecyclePolicy",
            'must be an ECR lifecycle policy object with a "rules" list, e.g. {"rules": '
            '[{"rulePriority": 1, "selection": {...}, "action": {"type": "expire"}}]}',
        )
    elif len(text) < MIN_LIFECYCLE_POLICY_CHARS:
        checks.add(
            "lifecyclePolicy",
            f"is {len(text)} characters; ECR requires at least {MIN_LIFECYCLE_POLICY_CHARS}",
        )
    return text


def _applied_for(checks: FieldChecks, value: object) -> tuple[str, ...]:
    """``appliedFor``: known values, none twice, ``REPLICATION`` among them; in the order of
    :data:`~.limits.TEMPLATE_APPLIED_FOR`."""
    path = "appliedFor"
    before = len(checks.problems)
    given = checks.strings(path, value)
    if len(checks.problems) > before:
        return ()
    good = True
    for index, item in enumerate(given):
        if item not in TEMPLATE_APPLIED_FOR:
            checks.add(
                f"{path}[{index}]",
                f"{item!r} is not one of {', '.join(TEMPLATE_APPLIED_FOR)}",
            )
            good = False
        elif item in given[:index]:
            checks.add(f"{path}[{index}]", f"{item!r} is listed twice")
            good = False
    if good and REPLICATION_APPLIED_FOR not in given:
        checks.add(
            path,
            f"{describe_value(list(given))} must include 'REPLICATION': these templates set up "
            "the repositories replication creates; CREATE_ON_PUSH and PULL_THROUGH_CACHE may be "
            "added beside it",
        )
    return canonical_applied_for(given) if good else ()


def canonical_applied_for(values: Iterable[str]) -> tuple[str, ...]:
    """``appliedFor`` values in the library's order (known ones first, as listed in
    :data:`~.limits.TEMPLATE_APPLIED_FOR`), each once: two orders of one set compare equal."""
    known = {name: index for index, name in enumerate(TEMPLATE_APPLIED_FOR)}
    return tuple(sorted(set(values), key=lambda v: (known.get(v, len(known)), v)))


@dataclass(frozen=True, kw_only=True, slots=True)
class RepositoryTemplateSettings:
    """Settings of repositories that replication creates in a destination registry.

    Applied through ``AWS::ECR::RepositoryCreationTemplate`` for each rule prefix. Without a
    template ECR creates replicated repositories with its defaults: mutable tags, AES256, no
    repository or lifecycle policy.

    :param enabled: create the templates (read by the topology's stacks). Default: True.
    :param applied_for: what the templates apply to (``AppliedFor``): ``REPLICATION``, always,
        and optionally ``CREATE_ON_PUSH`` (repositories a push creates) and
        ``PULL_THROUGH_CACHE``. Stored in that order. Default: ``["REPLICATION"]``.
    :param tag_mutability: Default: ``IMMUTABLE``.
    :param tag_mutability_exclusion_filters: 1-5 wildcard tag filters, only with the
        ``*_WITH_EXCLUSION`` modes. Default: none.
    :param encryption: ``AES256``, ``KMS`` or ``KMS_DSSE``. Default: ``AES256``.
    :param kms_key_arn: the ARN of a key (not an alias: ECR's template takes the full key
        ARN) in the destination region, for KMS. Default: the AWS managed key.
    :param lifecycle_policy: an ECR lifecycle policy, as an object or JSON text. Default: none.
    :param pull_accounts: accounts allowed to pull (pull actions only). Default: none.
    :param pull_organization_id: let the organization's principals pull. Default: none.
    :param resource_tags: tags of created repositories, a mapping. Default: none.
    :param description: Default: a fixed text naming this library.
    """

    enabled: bool = True
    applied_for: Sequence[str] = (REPLICATION_APPLIED_FOR,)
    tag_mutability: TagMutability = "IMMUTABLE"
    tag_mutability_exclusion_filters: Sequence[str] = ()
    encryption: EncryptionType = "AES256"
    kms_key_arn: str | None = None
    lifecycle_policy: str | Mapping[str, Any] | None = None
    pull_accounts: Sequence[str] = ()
    pull_organization_id: str | None = None
    resource_tags: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    description: str = "Repositories created by ECR replication (managed by ecr-replication)"

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.boolean("enabled", self.enabled)
        _set(self, "applied_for", _applied_for(checks, self.applied_for))
        filters = checks.strings(
            "tagMutabilityExclusionFilters", self.tag_mutability_exclusion_filters
        )
        _set(self, "tag_mutability_exclusion_filters", filters)
        pull_accounts = checks.strings("pullAccounts", self.pull_accounts)
        _set(self, "pull_accounts", pull_accounts)
        tags = checks.string_pairs("resourceTags", self.resource_tags)
        _set(self, "resource_tags", tags)
        _set(self, "lifecycle_policy", _lifecycle_policy_text(checks, self.lifecycle_policy))
        mutability = self.tag_mutability
        if mutability not in TAG_MUTABILITIES:
            checks.add(
                "tagMutability",
                f"{describe_value(mutability)} is not one of {', '.join(TAG_MUTABILITIES)}",
            )
        with_exclusion = isinstance(mutability, str) and mutability.endswith("_WITH_EXCLUSION")
        if with_exclusion:
            if not 1 <= len(filters) <= MAX_TAG_MUTABILITY_EXCLUSION_FILTERS:
                checks.add(
                    "tagMutabilityExclusionFilters",
                    f"{mutability} needs 1 to {MAX_TAG_MUTABILITY_EXCLUSION_FILTERS} tag filters "
                    f"(got {len(filters)}), e.g. ['latest', 'dev-*']",
                )
        elif filters:
            checks.add(
                "tagMutabilityExclusionFilters",
                f"{list(filters)!r} is only allowed with IMMUTABLE_WITH_EXCLUSION or "
                "MUTABLE_WITH_EXCLUSION",
            )
        for index, tag_filter in enumerate(filters):
            if not TAG_FILTER_PATTERN.match(tag_filter):
                checks.add(
                    f"tagMutabilityExclusionFilters[{index}]",
                    f"{tag_filter!r} is not a tag filter: 1 to 128 letters, digits, '.', '_', "
                    "'-' and the wildcard '*'",
                )
        if self.encryption not in ENCRYPTION_TYPES:
            checks.add(
                "encryption",
                f"{describe_value(self.encryption)} is not one of {', '.join(ENCRYPTION_TYPES)}",
            )
        if self.kms_key_arn is not None:
            if self.encryption == "AES256":
                checks.add(
                    "kmsKeyArn", "is only allowed with encryption 'KMS' or 'KMS_DSSE', not 'AES256'"
                )
            checks.check("kmsKeyArn", self.kms_key_arn, template_kms_key_problem)
        for index, account in enumerate(pull_accounts):
            checks.check(f"pullAccounts[{index}]", account, account_problem)
        if self.pull_organization_id is not None:
            checks.check("pullOrganizationId", self.pull_organization_id, org_id_problem)
        for key, value in tags:
            if not 1 <= len(key) <= 128 or len(value) > 256:
                checks.add(
                    f"resourceTags.{key}",
                    "tag keys must be 1 to 128 characters and values at most 256",
                )
        if checks.string("description", self.description) and (
            len(self.description) > MAX_DESCRIPTION_CHARS
        ):
            checks.add(
                "description",
                f"must be at most {MAX_DESCRIPTION_CHARS} characters (has {len(self.description)})",
            )
        checks.raise_if_any()

    @property
    def tags(self) -> tuple[tuple[str, str], ...]:
        """``resource_tags`` as sorted ``(key, value)`` pairs (how they are stored)."""
        return tuple(self.resource_tags)  # type: ignore[arg-type]

    @property
    def needs_custom_role(self) -> bool:
        """KMS encryption and resource tags need a role that ECR assumes (``CustomRoleArn``)."""
        return self.encryption != "AES256" or bool(self.resource_tags)

    @property
    def is_mutable(self) -> bool:
        return self.tag_mutability.startswith("MUTABLE")


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationSettings:
    """How a destination registry is set up: grants, the role, repository templates.

    :param allow_create_repository: let replication create missing repositories (the
        registry policy grants ``ecr:CreateRepository``). Default: True.
    :param role: the destination role. Default: ``RoleSettings()``.
    :param repository_template: Default: ``RepositoryTemplateSettings()``.
    :param additional_policy_statements: IAM statements kept verbatim in the registry policy
        beside the generated grants (grants for sources managed elsewhere, pull-through cache
        permissions): a deploy replaces the whole registry policy, so whatever is not generated
        or kept is removed. Each needs a Sid. Default: none.
    """

    allow_create_repository: bool = True
    role: RoleSettings = field(default_factory=RoleSettings)
    repository_template: RepositoryTemplateSettings = field(
        default_factory=RepositoryTemplateSettings
    )
    additional_policy_statements: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.boolean("allowCreateRepository", self.allow_create_repository)
        _set(
            self,
            "additional_policy_statements",
            checks.statements("additionalPolicyStatements", self.additional_policy_statements),
        )
        checks.instance("role", self.role, RoleSettings, "a RoleSettings")
        checks.instance(
            "repositoryTemplate",
            self.repository_template,
            RepositoryTemplateSettings,
            "a RepositoryTemplateSettings",
        )
        checks.raise_if_any()


@dataclass(frozen=True, kw_only=True, slots=True)
class MonitoringSettings:
    """Alerts on failed replication (ECR's "ECR Replication Action" events, result FAILED).

    ECR sends the event to the destination registry's default event bus, best effort. Without
    ``central_account`` every destination stack alerts by itself (local mode); with it, each
    forwards the events to that account's default bus, whose monitoring stack alerts.

    :param notification_emails: addresses subscribed to the alert topic. Default: none.
    :param notification_topic_arn: an existing SNS topic to alert instead of creating one (in
        the central account and region, or, without one, in every destination's). It must let
        events.amazonaws.com and cloudwatch.amazonaws.com publish. Default: a topic is created.
    :param central_account: the account and region that collects the events. Default: none.
    """

    notification_emails: Sequence[str] = ()
    notification_topic_arn: str | None = None
    central_account: Registry | None = None

    def __post_init__(self) -> None:
        checks = FieldChecks()
        emails = checks.strings("notificationEmails", self.notification_emails)
        _set(self, "notification_emails", emails)
        for index, email in enumerate(emails):
            if not EMAIL_PATTERN.match(email):
                checks.add(
                    f"notificationEmails[{index}]",
                    f"{email!r} is not an e-mail address, e.g. 'platform-alerts@example.com'",
                )
        topic = self.notification_topic_arn
        if topic is not None:
            match = SNS_TOPIC_ARN_PATTERN.match(topic) if isinstance(topic, str) else None
            if match is None:
                checks.add(
                    "notificationTopicArn",
                    f"{describe_value(topic)} is not an SNS topic ARN, e.g. "
                    "'arn:aws:sns:us-east-1:999900001111:replication-alerts'",
                )
            elif (problem := region_problem(match["region"])) is not None:
                checks.add("notificationTopicArn", problem)
            elif region_partitions()[match["region"]] != match["partition"]:
                checks.add(
                    "notificationTopicArn",
                    f"{topic!r} names partition {match['partition']!r}, but {match['region']} "
                    f"is in {region_partitions()[match['region']]!r}",
                )
        if self.central_account is not None:
            checks.instance(
                "centralAccount", self.central_account, Registry, "a Registry {account, region}"
            )
        checks.raise_if_any()

    @property
    def topic_registry(self) -> Registry | None:
        """The account and region of ``notification_topic_arn``, if one is given."""
        match = SNS_TOPIC_ARN_PATTERN.match(self.notification_topic_arn or "")
        return Registry(account=match["account"], region=match["region"]) if match else None


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationsSettings:
    """The account the operations commands (and a deployment pipeline) run from.

    With it, every destination role trusts this account instead of the source accounts, every
    registry outside it gets a read-only role for the commands (the source roles
    ``ecr-replication-source-<region>`` too), and one run of a command from this account reads
    every registry of the topology.

    :param account: the operations account id.
    :param allow_backfill: the source roles may also start, follow and stop replication
        backfills (``ecr-replication backfill`` from this account). Default: False (read-only).
    """

    account: str
    allow_backfill: bool = False

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.check("account", self.account, account_problem)
        checks.boolean("allowBackfill", self.allow_backfill)
        checks.raise_if_any()


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationOverride:
    """Settings for one destination registry, replacing the topology's defaults for it."""

    registry: Registry
    settings: DestinationSettings

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.instance("registry", self.registry, Registry, "a Registry")
        checks.instance("settings", self.settings, DestinationSettings, "a DestinationSettings")
        checks.raise_if_any()


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationRegistry:
    """A destination registry as the topology sees it: who replicates into it, and its settings.

    A derived view (built by ``ReplicationTopology.destination_registries``), not an input.
    """

    registry: Registry
    grants: tuple[Grant, ...]
    settings: DestinationSettings
    monitoring: MonitoringSettings | None = None
    operations: OperationsSettings | None = None

    @property
    def cross_account_grants(self) -> tuple[Grant, ...]:
        """Grants from other accounts: the ones that need the registry policy."""
        return tuple(g for g in self.grants if g.source.account != self.registry.account)

    @property
    def role_grants(self) -> tuple[Grant, ...]:
        """The grants whose repositories the destination role reads: with an operations
        account every grant (the commands read every destination from there), otherwise the
        cross-account ones (their source accounts assume the role)."""
        return self.grants if self.operations is not None else self.cross_account_grants

    @property
    def role_trusted_accounts(self) -> tuple[str, ...]:
        """The accounts the destination role trusts (unless ``trustedPrincipalArns`` narrow
        it): the operations account, or the source accounts of the cross-account grants."""
        if self.operations is not None:
            return (self.operations.account,)
        return tuple(dict.fromkeys(g.source.account for g in self.cross_account_grants))

    @property
    def needs_registry_policy(self) -> bool:
        return bool(self.cross_account_grants or self.settings.additional_policy_statements)

    @property
    def needs_role(self) -> bool:
        """A read-only role for the commands, for callers of another account: the operations
        account (every registry outside it), or else the cross-account sources."""
        if not self.settings.role.enabled:
            return False
        if self.operations is not None:
            return self.registry.account != self.operations.account
        return bool(self.cross_account_grants)

    @property
    def needs_template(self) -> bool:
        return self.settings.repository_template.enabled

    @property
    def needs_alerts(self) -> bool:
        """Whether this registry's stack watches its bus for failed replication.

        Not when it is the central account and region itself: the monitoring stack's rule
        already watches that bus.
        """
        return self.monitoring is not None and self.monitoring.central_account != self.registry

    @property
    def needs_stack(self) -> bool:
        return (
            self.needs_registry_policy
            or self.needs_role
            or self.needs_template
            or self.needs_alerts
        )

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
        """Repository patterns across the role's grants (what the role may read)."""
        return repository_patterns(union_prefixes(g.repository_prefixes for g in self.role_grants))
