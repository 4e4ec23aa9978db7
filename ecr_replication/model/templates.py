"""Repository creation templates: :class:`RepositoryTemplateSettings` (what repositories that
replication creates get), the prefix of the template that covers a rule prefix, and the
``appliedFor`` values a template takes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import describe_value
from .checks import (
    FieldChecks,
    account_problem,
    org_id_problem,
    set_field,
    template_kms_key_problem,
)
from .limits import (
    ENCRYPTION_TYPES,
    MAX_DESCRIPTION_CHARS,
    MAX_TAG_MUTABILITY_EXCLUSION_FILTERS,
    MIN_LIFECYCLE_POLICY_CHARS,
    REPLICATION_APPLIED_FOR,
    ROOT_TEMPLATE_PREFIX,
    TAG_FILTER_PATTERN,
    TAG_MUTABILITIES,
    TEMPLATE_APPLIED_FOR,
    TEMPLATE_SEGMENT_PATTERN,
    EncryptionType,
    TagMutability,
)


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
        set_field(self, "applied_for", _applied_for(checks, self.applied_for))
        filters = checks.strings(
            "tagMutabilityExclusionFilters", self.tag_mutability_exclusion_filters
        )
        set_field(self, "tag_mutability_exclusion_filters", filters)
        pull_accounts = checks.strings("pullAccounts", self.pull_accounts)
        set_field(self, "pull_accounts", pull_accounts)
        tags = checks.string_pairs("resourceTags", self.resource_tags)
        set_field(self, "resource_tags", tags)
        set_field(self, "lifecycle_policy", _lifecycle_policy_text(checks, self.lifecycle_policy))
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
