"""``ecr-replication verify``: did replication work?

For every repository of every source registry that the replication rules match (or only
``--repository NAME``): every tag must exist in every destination of that repository with the
**same digest**. Reports missing repositories, missing tags and digest mismatches.

Calls: per source registry one ``DescribeRepositories`` listing; per repository and registry one
``DescribeImages`` listing (1000 images a page); all listings concurrently on a bounded pool.
The only per-image calls are ``DescribeImageReplicationStatus`` for the images that are
missing or differ (at most :data:`MAX_STATUS_LOOKUPS` digests per repository, one call per
digest serving every destination); they add the status and failure code to the report, and
their failure never changes the verdict.

A source repository without tags passes without listing its destinations: ECR creates the
destination repository on the first replication, so its absence is expected.

IAM permissions. Source accounts (the caller): ``ecr:DescribeRepositories``,
``ecr:DescribeImages``, ``ecr:DescribeImageReplicationStatus``, ``sts:GetCallerIdentity`` and
``sts:AssumeRole`` on the destination roles. Destination accounts (the destination role has
them): ``ecr:DescribeImages`` on the replicated repositories.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

from ..errors import UsageError
from ..model import Registry, SourceRegistry
from . import report
from .aws import (
    AccessError,
    RegistryAccess,
    access_for,
    describe_failure,
    error_code,
    guarded,
    list_images,
    matching_repositories,
    run_concurrently,
)
from .config import add_common_arguments, load_topology

COMMAND = "verify"
MAX_STATUS_LOOKUPS = 25
"""Digests per source repository whose replication status is looked up (per-image calls)."""
MAX_DETAIL_LINES = 6
LIST_IMAGES = "list images"
LIST_REPOSITORIES = "list repositories"

TagDigests = dict[str, str]
"""A repository's tags, each with the digest of the image it points to."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationStatus:
    """``DescribeImageReplicationStatus`` for one image and destination, or why it is missing."""

    status: str | None = None
    failure_code: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "failureCode": self.failure_code, "error": self.error}

    def __str__(self) -> str:
        if self.error:
            return f"replication status unavailable: {self.error}"
        return f"{self.status}: {self.failure_code}" if self.failure_code else str(self.status)


@dataclass(frozen=True, kw_only=True, slots=True)
class MissingTag:
    tag: str
    digest: str
    replication_status: ReplicationStatus | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "digest": self.digest,
            "replicationStatus": _status_json(self.replication_status),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestMismatch:
    tag: str
    source_digest: str
    destination_digest: str
    replication_status: ReplicationStatus | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "sourceDigest": self.source_digest,
            "destinationDigest": self.destination_digest,
            "replicationStatus": _status_json(self.replication_status),
        }


def _status_json(status: ReplicationStatus | None) -> dict[str, Any] | None:
    return None if status is None else status.to_json()


@dataclass(frozen=True, kw_only=True, slots=True)
class RepositoryResult:
    """One source repository compared with one of its destinations."""

    source: Registry
    repository: str
    destination: Registry
    status: report.Status
    source_tags: int
    missing_repository: bool = False
    missing_tags: tuple[MissingTag, ...] = ()
    digest_mismatches: tuple[DigestMismatch, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.key,
            "repository": self.repository,
            "destination": self.destination.key,
            "status": self.status,
            "sourceTags": self.source_tags,
            "missingRepository": self.missing_repository,
            "missingTags": [m.to_json() for m in self.missing_tags],
            "digestMismatches": [m.to_json() for m in self.digest_mismatches],
            "reason": self.reason,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyReport:
    results: tuple[RepositoryResult, ...]
    unchecked: tuple[report.Unchecked, ...] = ()

    @property
    def outcome(self) -> report.Outcome:
        return report.Outcome(
            problems=sum(1 for r in self.results if r.status == "problem"),
            unchecked=self.unchecked,
        )


def tag_digests(images: Sequence[Mapping[str, Any]]) -> TagDigests:
    return {tag: image["imageDigest"] for image in images for tag in image.get("imageTags", ())}


# ---------------------------------------------------------------------------------------------
# Listings


@dataclass(frozen=True, kw_only=True, slots=True)
class _SourceRepository:
    source: SourceRegistry
    name: str


@dataclass(kw_only=True, slots=True)
class _Collected:
    """What the listings found, filled in phase by phase."""

    repositories: list[_SourceRepository] = field(default_factory=list)
    source_tags: dict[_SourceRepository, TagDigests] = field(default_factory=dict)
    # None: the destination repository does not exist; AccessError: could not be listed.
    destination_tags: dict[tuple[Registry, str], TagDigests | AccessError | None] = field(
        default_factory=dict
    )
    unchecked: list[report.Unchecked] = field(default_factory=list)
    absent: list[_SourceRepository] = field(default_factory=list)


def _source_repositories(
    access: RegistryAccess, source: SourceRegistry, only: str | None
) -> list[str] | AccessError:
    """Names of the source's repositories that its rules replicate (all of them listed once)."""
    if only is not None:
        return [only]  # its image listing tells whether it exists: no repository listing needed
    try:
        return matching_repositories(access, source)
    except AccessError as failure:
        return failure


def _tags_or_missing(
    access: RegistryAccess, registry: Registry, repository: str, *, destination: bool
) -> TagDigests | AccessError | None:
    try:
        client = access.ecr(registry, side="destination" if destination else "source")
        with guarded(f"repository {repository}"):
            try:
                return tag_digests(list_images(client, registry, repository))
            except Exception as error:  # a ClientError's code decides; anything else re-raises
                if error_code(error) != "RepositoryNotFoundException":
                    raise
                return None
    except AccessError as failure:
        return failure


def round_robin(keys: Iterable[tuple[Registry, str]]) -> list[tuple[Registry, str]]:
    """``keys`` one registry at a time: each registry's first, then each one's second, ...

    A registry's first listing assumes its role; workers that took further listings of the
    same registry would wait for that one. Taken in turns, the first listings of all
    registries run side by side, and later ones find the role assumed.
    """
    by_registry: dict[Registry, list[tuple[Registry, str]]] = {}
    for key in keys:
        by_registry.setdefault(key[0], []).append(key)
    turns = itertools.zip_longest(*by_registry.values())
    return [key for turn in turns for key in turn if key is not None]


def collect(
    access: RegistryAccess, *, only: str | None, tracker: report.ProgressTracker | None
) -> _Collected:
    topology = access.topology
    collected = _Collected()
    sources = [s for s in topology.sources if only is None or s.matches(only)]
    advance = tracker.advance if tracker is not None else None

    if tracker is not None:
        tracker.add(len(sources))
    names = run_concurrently(
        sources, lambda s: _source_repositories(access, s, only), on_done=advance
    )
    for source, found in zip(sources, names, strict=True):
        if isinstance(found, AccessError):
            collected.unchecked.append(
                report.Unchecked(
                    registry=source.registry.key, check=LIST_REPOSITORIES, reason=found.reason
                )
            )
        else:
            collected.repositories.extend(_SourceRepository(source=source, name=n) for n in found)

    if tracker is not None:
        tracker.add(len(collected.repositories))
    source_listings = run_concurrently(
        collected.repositories,
        lambda r: _tags_or_missing(access, r.source.registry, r.name, destination=False),
        on_done=advance,
    )
    for repository, listing in zip(collected.repositories, source_listings, strict=True):
        if isinstance(listing, AccessError):
            collected.unchecked.append(
                report.Unchecked(
                    registry=repository.source.registry.key,
                    check=LIST_IMAGES,
                    reason=listing.reason,
                )
            )
        elif listing is None:
            collected.absent.append(repository)
        else:
            collected.source_tags[repository] = listing

    # One listing per repository per destination registry, however many sources share it.
    wanted = round_robin(
        dict.fromkeys(
            (destination, repository.name)
            for repository, tags in collected.source_tags.items()
            if tags
            for destination in repository.source.destinations
            if repository.source.matches(repository.name, destination)
        )
    )
    if tracker is not None:
        tracker.add(len(wanted))
    destination_listings = run_concurrently(
        wanted,
        lambda key: _tags_or_missing(access, key[0], key[1], destination=True),
        on_done=advance,
    )
    collected.destination_tags = dict(zip(wanted, destination_listings, strict=True))
    return collected


# ---------------------------------------------------------------------------------------------
# Comparison


def compare(
    repository: _SourceRepository,
    source_tags: TagDigests,
    destination: Registry,
    listing: TagDigests | AccessError | None,
) -> RepositoryResult:
    """One source repository against one destination's listing (no API calls)."""
    base = RepositoryResult(
        source=repository.source.registry,
        repository=repository.name,
        destination=destination,
        status="ok",
        source_tags=len(source_tags),
    )
    if not source_tags:
        return base
    if isinstance(listing, AccessError):
        return replace(base, status="unchecked", reason=listing.reason)
    if listing is None:
        return replace(base, status="problem", missing_repository=True)
    missing = tuple(
        MissingTag(tag=tag, digest=digest)
        for tag, digest in sorted(source_tags.items())
        if tag not in listing
    )
    mismatches = tuple(
        DigestMismatch(tag=tag, source_digest=digest, destination_digest=listing[tag])
        for tag, digest in sorted(source_tags.items())
        if tag in listing and listing[tag] != digest
    )
    return replace(
        base,
        status="problem" if missing or mismatches else "ok",
        missing_tags=missing,
        digest_mismatches=mismatches,
    )


def replication_statuses(
    access: RegistryAccess, source: Registry, repository: str, digest: str
) -> dict[Registry, ReplicationStatus] | AccessError:
    """``DescribeImageReplicationStatus`` of one source image: its status per destination."""
    try:
        client = access.ecr(source, side="source")
        with guarded():
            response = client.describe_image_replication_status(
                registryId=source.account,
                repositoryName=repository,
                imageId={"imageDigest": digest},
            )
    except AccessError as failure:
        return failure
    except Exception as error:
        # Best-effort detail: whatever goes wrong here must not change or hide the verdict.
        return AccessError(describe_failure(error))
    statuses: dict[Registry, ReplicationStatus] = {}
    for entry in response.get("replicationStatuses", ()):
        try:
            registry = Registry(account=entry["registryId"], region=entry["region"])
        except (KeyError, ValueError):
            continue  # an entry this model cannot name cannot belong to a topology destination
        statuses[registry] = ReplicationStatus(
            status=entry.get("status"), failure_code=entry.get("failureCode")
        )
    return statuses


def _with_statuses(
    result: RepositoryResult,
    statuses: Mapping[str, dict[Registry, ReplicationStatus] | AccessError],
) -> RepositoryResult:
    def status_for(digest: str) -> ReplicationStatus | None:
        found = statuses.get(digest)
        if found is None:
            return None
        if isinstance(found, AccessError):
            return ReplicationStatus(error=found.reason)
        return found.get(
            result.destination,
            ReplicationStatus(error="no replication status reported for this destination"),
        )

    return replace(
        result,
        missing_tags=tuple(
            MissingTag(tag=m.tag, digest=m.digest, replication_status=status_for(m.digest))
            for m in result.missing_tags
        ),
        digest_mismatches=tuple(
            DigestMismatch(
                tag=m.tag,
                source_digest=m.source_digest,
                destination_digest=m.destination_digest,
                replication_status=status_for(m.source_digest),
            )
            for m in result.digest_mismatches
        ),
    )


def verify(
    access: RegistryAccess,
    *,
    repository: str | None = None,
    tracker: report.ProgressTracker | None = None,
) -> VerifyReport:
    """Compare every matching source repository with each of its destinations."""
    if repository is not None and not any(s.matches(repository) for s in access.topology.sources):
        raise UsageError(
            f"--repository: {repository!r} matches no replication rule of the topology"
        )
    collected = collect(access, only=repository, tracker=tracker)
    if repository is not None and not collected.source_tags and not collected.unchecked:
        raise UsageError(
            f"--repository: {repository!r} is not in any source registry whose rules match it "
            f"({', '.join(r.source.registry.key for r in collected.absent)})"
        )

    results: list[RepositoryResult] = []
    for source_repository, source_tags in collected.source_tags.items():
        source = source_repository.source
        for destination in source.destinations:
            if source.matches(source_repository.name, destination):
                listing = collected.destination_tags.get((destination, source_repository.name))
                results.append(compare(source_repository, source_tags, destination, listing))

    # Per-image calls only for what is missing or differs, one per source digest.
    lookups: dict[tuple[Registry, str], list[str]] = {}
    for result in results:
        digests = lookups.setdefault((result.source, result.repository), [])
        for digest in [m.digest for m in result.missing_tags] + [
            m.source_digest for m in result.digest_mismatches
        ]:
            if digest not in digests and len(digests) < MAX_STATUS_LOOKUPS:
                digests.append(digest)
    calls = [(src, repo, digest) for (src, repo), digests in lookups.items() for digest in digests]
    if tracker is not None:
        tracker.add(len(calls))
    answers = run_concurrently(
        calls,
        lambda call: replication_statuses(access, *call),
        on_done=tracker.advance if tracker is not None else None,
    )
    by_repository: dict[tuple[Registry, str], dict[str, Any]] = {}
    for (src, repo, digest), answer in zip(calls, answers, strict=True):
        by_repository.setdefault((src, repo), {})[digest] = answer
    final = tuple(
        _with_statuses(r, by_repository.get((r.source, r.repository), {})) for r in results
    )
    unchecked = [
        *collected.unchecked,
        *(
            report.Unchecked(
                registry=r.destination.key, check=LIST_IMAGES, reason=r.reason or "unknown"
            )
            for r in final
            if r.status == "unchecked"
        ),
    ]
    return VerifyReport(results=final, unchecked=tuple(unchecked))


# ---------------------------------------------------------------------------------------------
# Output


def _short_digest(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}" if value else digest


def detail_lines(result: RepositoryResult) -> list[str]:
    if result.status == "unchecked":
        return ["could not be read (the reason is below the table)"]
    if result.missing_repository:
        noun = "tag" if result.source_tags == 1 else "tags"
        return [f"repository missing in the destination ({result.source_tags} {noun} to replicate)"]
    lines = []
    for missing in result.missing_tags:
        status = f" ({missing.replication_status})" if missing.replication_status else ""
        lines.append(f"missing tag {missing.tag} ({_short_digest(missing.digest)}){status}")
    for mismatch in result.digest_mismatches:
        status = f" ({mismatch.replication_status})" if mismatch.replication_status else ""
        lines.append(
            f"tag {mismatch.tag}: {_short_digest(mismatch.source_digest)} in the source, "
            f"{_short_digest(mismatch.destination_digest)} in the destination{status}"
        )
    if len(lines) > MAX_DETAIL_LINES:
        hidden = len(lines) - MAX_DETAIL_LINES + 1
        lines = [*lines[: MAX_DETAIL_LINES - 1], f"... and {hidden} more (see --json)"]
    return lines


def render(console: Console, verified: VerifyReport) -> None:
    """The results table; nothing when there is no result (the summary says why)."""
    if not verified.results:
        if not verified.unchecked:
            console.print(report.cell("No source repository matches the replication rules."))
        return
    table = report.new_table(
        "Verify: is every source tag in every destination with the same digest?",
        ["Source", "Repository", "Destination", "Tags", "Status", "Details"],
    )
    for r in verified.results:
        table.add_row(
            report.cell(r.source.key),
            report.cell(r.repository),
            report.cell(r.destination.key),
            report.cell(r.source_tags),
            report.status_cell(r.status),
            report.cell("\n".join(detail_lines(r))),
        )
    console.print(table)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--repository",
        metavar="NAME",
        default=None,
        help="check only this source repository (default: every repository the rules match)",
    )


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    access = access_for(topology, args)
    console = report.make_console()
    with report.progress(console, "Comparing repositories", enabled=not args.json) as tracker:
        verified = verify(access, repository=args.repository, tracker=tracker)
    return report.finish(
        command=COMMAND,
        as_json=args.json,
        outcome=verified.outcome,
        body={
            "repositoryFilter": args.repository,
            "results": [r.to_json() for r in verified.results],
        },
        render=lambda c: render(c, verified),
        ok_message="Replication works: every source tag is in every destination with the "
        "same digest.",
        console=console,
    )
