"""The warnings a reviewer should see, read from the review's values.

Replication grants are read by the model's IAM evaluator (:mod:`ecr_replication.model.iam`),
the same reading ``preflight`` applies to a deployed registry policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..model import iam
from ..model.limits import is_known_region, partition_of
from ..naming import repository_arn
from .report import (
    ACCOUNT_ROOT,
    DestinationInfo,
    ReplicationEdge,
    ReviewWarning,
    RoleInfo,
    SourceInfo,
    account_of,
    describe_principal,
    prefix_list,
)

REPLICATE = "ecr:ReplicateImage"


def _partition(region: str) -> str:
    return partition_of(region).name if is_known_region(region) else "aws"


def _grant_warning(edge: ReplicationEdge, destination: DestinationInfo) -> ReviewWarning | None:
    """Whether the destination's registry policy lets the edge's source replicate every
    repository it sends; a warning that says what is missing (or conditional) if not."""
    source_account, _, source_region = edge.source.partition("/")
    account, _, region = destination.registry.partition("/")
    policy = destination.registry_policy
    statements: Sequence[Mapping[str, Any]] = policy.statements if policy else ()
    caller = iam.Caller(account=source_account, partition=_partition(source_region))
    missing: list[str] = []
    conditional: dict[str, tuple[str, ...]] = {}
    for pattern in [f"{p}*" for p in edge.repository_prefixes] or ["*"]:
        evaluation = iam.evaluate(
            statements,
            caller=caller,
            action=REPLICATE,
            resource=repository_arn(_partition(region), region, account, pattern),
        )
        if evaluation.decision is iam.Decision.CONDITIONAL:
            conditional[pattern] = evaluation.statements
        elif not evaluation.allowed:
            missing.append(f"{pattern} ({evaluation.reason()})")
    sends = f"{edge.source} replicates {prefix_list(edge.repository_prefixes)} here"
    if policy is None:
        return ReviewWarning(
            code="missing-replication-grant",
            subject=destination.registry,
            message=f"{sends}, but no registry policy in this assembly lets account "
            f"{source_account} replicate: replication fails unless the grant is deployed "
            "elsewhere",
        )
    if missing:
        return ReviewWarning(
            code="missing-replication-grant",
            subject=destination.registry,
            message=f"{sends}, but its registry policy does not let account {source_account} "
            f"replicate {', '.join(missing)}: replication of those fails unless the grant is "
            "deployed elsewhere",
        )
    if conditional:
        statements_named = sorted({s for names in conditional.values() for s in names})
        return ReviewWarning(
            code="conditional-replication-grant",
            subject=destination.registry,
            message=f"{sends}, and its registry policy lets account {source_account} replicate "
            f"{', '.join(conditional)} only under a Condition (statement "
            f"{', '.join(statements_named)}); ECR replicates as the source account's "
            "service-linked role, which may not meet it: grant the source account without a "
            "condition",
        )
    return None


def _role_warnings(key: str, roles: Iterable[RoleInfo]) -> list[ReviewWarning]:
    """A role anyone, or any principal of a whole account, may assume without a condition."""
    warnings = []
    for role in roles:
        for trust in role.trusted_by:
            if trust.conditions:
                continue
            if trust.principal == "*":
                warnings.append(
                    ReviewWarning(
                        code="role-trusts-anyone",
                        subject=key,
                        message=f"role {role.name!r} may be assumed by any AWS principal: "
                        "its trust policy has Principal '*' and no conditions",
                    )
                )
            elif ACCOUNT_ROOT.match(trust.principal):
                warnings.append(
                    ReviewWarning(
                        code="role-trusts-whole-account",
                        subject=key,
                        message=f"role {role.name!r} may be assumed by any principal of "
                        f"account {account_of(trust.principal)} that is allowed "
                        "sts:AssumeRole: the trust has no conditions",
                    )
                )
    return warnings


def reviewer_warnings(
    edges: Iterable[ReplicationEdge],
    destinations: Iterable[DestinationInfo],
    sources: Iterable[SourceInfo] = (),
) -> list[ReviewWarning]:
    warnings = []
    for edge in edges:
        if edge.cross_account and not edge.repository_prefixes:
            warnings.append(
                ReviewWarning(
                    code="unfiltered-cross-account-rule",
                    subject=edge.source,
                    message=f"every repository of {edge.source} replicates to {edge.destination} "
                    "in another account: the rule has no repository prefixes",
                )
            )
    for destination in destinations:
        key = destination.registry
        policy = destination.registry_policy
        for edge in destination.replicated_from:
            if edge.cross_account and (warning := _grant_warning(edge, destination)):
                warnings.append(warning)
        for grant in policy.grants if policy else ():
            if grant.effect != "Allow":
                continue
            if grant.principal == "*" and not grant.conditions:
                warnings.append(
                    ReviewWarning(
                        code="registry-policy-allows-anyone",
                        subject=key,
                        message="the registry policy has Principal '*' without conditions: any "
                        f"AWS account may {', '.join(grant.actions)} in this registry",
                    )
                )
            if "*" in grant.repositories:
                warnings.append(
                    ReviewWarning(
                        code="grant-without-prefixes",
                        subject=key,
                        message=f"{describe_principal(grant.principal)} may replicate into "
                        "every repository of this registry",
                    )
                )
        for template in destination.templates:
            if any(t.principal == "*" and not t.conditions for t in template.pull_access):
                warnings.append(
                    ReviewWarning(
                        code="pull-allows-anyone",
                        subject=key,
                        message=f"repositories created under template {template.prefix!r} get "
                        "a repository policy with Principal '*' and no conditions: any AWS "
                        "account may pull from them",
                    )
                )
            if template.is_mutable:
                warnings.append(
                    ReviewWarning(
                        code="mutable-destination-tags",
                        subject=key,
                        message=f"repositories created under template {template.prefix!r} get "
                        f"{template.tag_mutability} tags: a tag can be moved in the "
                        "destination, so it may stop meaning the source's digest",
                    )
                )
        if destination.replicated_from and not any(
            "REPLICATION" in t.applied_for for t in destination.templates
        ):
            warnings.append(
                ReviewWarning(
                    code="no-repository-template",
                    subject=key,
                    message="no repository creation template for replication: repositories "
                    "that replication creates get ECR defaults (mutable tags, AES256, no "
                    "repository or lifecycle policy)",
                )
            )
        warnings += _role_warnings(key, destination.roles)
    for source in sources:
        warnings += _role_warnings(source.registry, source.roles)
    return warnings
