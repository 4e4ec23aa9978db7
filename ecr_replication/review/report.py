"""The values of a review: what one cloud assembly would deploy, as a reviewer reads it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.key} {self.operator} {', '.join(self.values)}"


@dataclass(frozen=True, kw_only=True, slots=True)
class StackInfo:
    name: str
    account: str
    region: str
    template_file: str

    @property
    def registry(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationEdge:
    """A source registry's rules towards one destination registry (prefixes merged)."""

    source: str
    destination: str
    stack: str
    repository_prefixes: tuple[str, ...]  # () = every repository

    @property
    def cross_account(self) -> bool:
        return self.source.split("/")[0] != self.destination.split("/")[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryGrant:
    """One principal of one registry-policy statement, as the reviewer reads it.

    ``may_replicate`` and ``may_create_repositories`` are read by the model's IAM evaluator
    (wildcards, ``NotAction``); a ``Deny`` statement has ``effect`` ``"Deny"``.
    """

    principal: str
    account: str | None
    repositories: tuple[str, ...]
    actions: tuple[str, ...]
    conditions: tuple[Condition, ...]
    may_replicate: bool
    may_create_repositories: bool
    effect: str = "Allow"
    not_actions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class KeptStatement:
    """A registry-policy statement kept verbatim from the topology (not generated)."""

    sid: str
    effect: str
    principals: tuple[str, ...]
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryPolicyInfo:
    stack: str
    grants: tuple[RegistryGrant, ...]
    kept: tuple[KeptStatement, ...] = ()
    statements: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    """The statements with every value the template can resolve as text (for the evaluator)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Trust:
    principal: str
    conditions: tuple[Condition, ...]
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Permission:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleInfo:
    name: str
    stack: str
    trusted_by: tuple[Trust, ...]
    permissions: tuple[Permission, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateInfo:
    prefix: str
    stack: str
    applied_for: tuple[str, ...]
    tag_mutability: str
    tag_mutability_exclusion_filters: tuple[str, ...]
    encryption_type: str
    kms_key: str | None
    lifecycle_policy: bool
    pull_access: tuple[Trust, ...]
    resource_tags: tuple[tuple[str, str], ...]
    custom_role: str | None

    @property
    def is_mutable(self) -> bool:
        return self.tag_mutability.startswith("MUTABLE")


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertInfo:
    """Who hears of a failed replication into one destination, and how.

    ``forwarded_to`` is the registry whose bus receives the events (central monitoring), or
    None when the destination's own stack alerts. ``topic`` is the SNS topic alerted: an ARN,
    or ``STACK/LogicalId`` for a topic the assembly creates.
    """

    stack: str
    forwarded_to: str | None
    topic: str
    emails: tuple[str, ...]
    alarm: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationInfo:
    registry: str
    stacks: tuple[str, ...]
    replicated_from: tuple[ReplicationEdge, ...]
    registry_policy: RegistryPolicyInfo | None
    roles: tuple[RoleInfo, ...]
    templates: tuple[TemplateInfo, ...]
    alerts: tuple[AlertInfo, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleInfo:
    """One rule of a source registry's replication configuration, as the template writes it.

    ``replicate_deletions``: the rule's ``DeleteReplication.Enabled`` (tag removals, deletes
    and lifecycle expiries in the source reach every destination of the rule)."""

    repository_prefixes: tuple[str, ...]  # () = every repository
    destinations: tuple[str, ...]
    replicate_deletions: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceInfo:
    """A source registry: its stacks (those holding its replication configuration), the roles
    in them (the source role of an operations account, the backfill function's) and its rules
    in order."""

    registry: str
    stacks: tuple[str, ...]
    roles: tuple[RoleInfo, ...]
    rules: tuple[RuleInfo, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class ReviewWarning:
    code: str
    subject: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class CdkWarning:
    stack: str
    path: str
    message: str
    ack: str | None


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class ControlFailure:
    """One AWS Control Tower proactive control that resources of the assembly break."""

    control: str
    """The control's id (``CT.KMS.PR.3``), or the rule's name when the report has no id."""
    rule: str
    description: str
    resources: tuple[str, ...]
    """The construct paths of the resources that break it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ControlsCheck:
    """AWS Control Tower's proactive controls at synth, as the assembly records them.

    ``ran``: the stacks carry the mark ``enable_guard`` writes (the validation report names
    the plugin only when it found something). ``failures``: what the report lists.
    ``disabled``: the controls that mark says were switched off (``guardDisabledRules``), by
    id (``CT.LAMBDA.PR.3``): not checked, so the assembly cannot be said to pass them.
    """

    ran: bool
    failures: tuple[ControlFailure, ...]
    disabled: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Every bundled control ran and none failed."""
        return self.ran and not self.failures and not self.disabled


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class Access:
    """One grant, as compared between two synths."""

    kind: str
    principal: str
    registry: str
    scope: str
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class BaselineDiff:
    added: tuple[Access, ...]
    removed: tuple[Access, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Review:
    stacks: tuple[StackInfo, ...]
    replication: tuple[ReplicationEdge, ...]
    destinations: tuple[DestinationInfo, ...]
    warnings: tuple[ReviewWarning, ...]
    cdk_warnings: tuple[CdkWarning, ...]
    baseline: BaselineDiff | None = None
    sources: tuple[SourceInfo, ...] = ()
    controls: ControlsCheck | None = None
    """None: the Control Tower checks did not run at synth (and no report of them is there)."""

    @property
    def source_registries(self) -> tuple[str, ...]:
        return tuple(sorted({edge.source for edge in self.replication}))


# ---------------------------------------------------------------------------------------------
# Principals and resources as a reviewer reads them

_ACCOUNT_PRINCIPAL = re.compile(r"^(?:arn:[^:]+:iam::(?P<arn>[0-9]{12}):.*|(?P<bare>[0-9]{12}))$")
ACCOUNT_ROOT = re.compile(r"^(?:arn:[^:]+:iam::[0-9]{12}:root|[0-9]{12})$")
_REPOSITORY_ARN = re.compile(r"^arn:[^:]+:ecr:[^:]*:[^:]*:repository/(?P<pattern>.+)$")


def account_of(principal: str) -> str | None:
    match = _ACCOUNT_PRINCIPAL.match(principal)
    return (match["arn"] or match["bare"]) if match else None


def repository_pattern(resource: str) -> str:
    match = _REPOSITORY_ARN.match(resource)
    return match["pattern"] if match else resource


def resource_text(resource: str) -> str:
    """A repository ARN as ``repository/PATTERN`` (the registry is the section's); else as is."""
    match = _REPOSITORY_ARN.match(resource)
    return f"repository/{match['pattern']}" if match else resource


def describe_principal(principal: str) -> str:
    """A principal as a reviewer reads it: ``account N`` for a whole account."""
    if principal == "*":
        return "anyone (*)"
    if ACCOUNT_ROOT.match(principal):
        return f"account {account_of(principal)}"
    return principal


def prefix_list(prefixes: tuple[str, ...]) -> str:
    return ", ".join(prefixes) if prefixes else "every repository"
