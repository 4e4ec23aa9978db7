"""Baseline: the grants added and removed between two reviews (``--baseline``)."""

from __future__ import annotations

from collections.abc import Iterable

from .report import Access, BaselineDiff, Review, RoleInfo, describe_principal


def accesses(review: Review) -> set[Access]:
    """Every grant of a review, one per (kind, principal, registry, scope, conditions)."""
    found: set[Access] = set()
    for edge in review.replication:
        for prefix in edge.repository_prefixes or ("*",):
            found.add(
                Access(
                    kind="replication-rule",
                    principal=edge.source,
                    registry=edge.destination,
                    scope=prefix,
                )
            )
    for destination in review.destinations:
        key = destination.registry
        policy = destination.registry_policy
        for grant in policy.grants if policy else ():
            if grant.effect != "Allow":
                continue
            conditions = tuple(str(c) for c in grant.conditions)
            for kind, allowed in (
                ("replicate", grant.may_replicate),
                ("create-repository", grant.may_create_repositories),
            ):
                if allowed:
                    found.update(
                        Access(
                            kind=kind,
                            principal=grant.principal,
                            registry=key,
                            scope=r,
                            conditions=conditions,
                        )
                        for r in grant.repositories
                    )
        found |= _role_accesses(key, destination.roles)
        for template in destination.templates:
            found.update(
                Access(
                    kind="pull",
                    principal=t.principal,
                    registry=key,
                    scope=template.prefix,
                    conditions=tuple(str(c) for c in t.conditions),
                )
                for t in template.pull_access
            )
    for source in review.sources:
        found |= _role_accesses(source.registry, source.roles)
    return found


def _role_accesses(registry: str, roles: Iterable[RoleInfo]) -> set[Access]:
    return {
        Access(
            kind="assume-role",
            principal=t.principal,
            registry=registry,
            scope=role.name,
            conditions=tuple(str(c) for c in t.conditions),
        )
        for role in roles
        for t in role.trusted_by
    }


def compare(review: Review, baseline: Review) -> BaselineDiff:
    now, before = accesses(review), accesses(baseline)
    return BaselineDiff(added=tuple(sorted(now - before)), removed=tuple(sorted(before - now)))


def describe_access(access: Access, *, added: bool) -> str:
    """One grant change as a sentence: "account X may now replicate prod/* into Y"."""
    now = "now" if added else "no longer"
    who = describe_principal(access.principal)
    when = f" (when {'; '.join(access.conditions)})" if access.conditions else ""
    if access.kind == "replication-rule":
        verb = "now replicates" if added else "no longer replicates"
        what = "every repository" if access.scope == "*" else f"`{access.scope}`"
        return f"registry {access.principal} {verb} {what} to registry {access.registry}"
    if access.kind == "replicate":
        return f"{who} may {now} replicate `{access.scope}` into registry {access.registry}{when}"
    if access.kind == "create-repository":
        return (
            f"{who} may {now} create repositories `{access.scope}` in registry "
            f"{access.registry}{when}"
        )
    if access.kind == "assume-role":
        return f"{who} may {now} assume role `{access.scope}` in registry {access.registry}{when}"
    return (
        f"{who} may {now} pull from repositories created under template `{access.scope}` "
        f"in registry {access.registry}{when}"
    )
