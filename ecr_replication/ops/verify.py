"""``ecr-replication verify``: did replication work?

For every repository of every source registry that the replication rules match (or only
``--repository NAME``): every tag must exist in every destination of that repository with the
**same digest**. Reports missing repositories, missing tags and digest mismatches.

Archived images count. ``DescribeImages`` lists only ``ACTIVE`` images unless asked for another
status, and each registry archives on its own lifecycle, so both sides are listed with
``imageStatus: ANY`` and digests are compared whatever their status: a tag whose image the
destination (or the source) archived is present, reported with its statuses
(``archivedTags``); an archived source image the destination lacks is missing.

``--referrers`` (off by default: one call per image and registry) also compares, for every
image present on both sides, its OCI referrers (signatures, SBOMs, attestations:
``ListImageReferrers``, artifact type and digest, in every status): a referrer of the source
image that the destination image lacks is a problem (``missingReferrers``). No AWS page says
whether replication copies referrers; this is how to find out, per image.

Calls: per source registry one ``DescribeRepositories`` listing; per repository and registry one
``DescribeImages`` listing (1000 images a page); all listings concurrently on a bounded pool.
The only per-image calls are ``DescribeImageReplicationStatus`` for the images that are
missing or differ (at most :data:`MAX_STATUS_LOOKUPS` digests per repository, one call per
digest serving every destination), which add the status and failure code to the report and
whose failure never changes the verdict; and with ``--referrers`` one ``ListImageReferrers``
per image present on both sides, in the source once and in each destination that has it.

A source repository without tags passes without listing its destinations: ECR creates the
destination repository on the first replication, so its absence is expected.

IAM permissions. Source accounts (the caller): ``ecr:DescribeRepositories``,
``ecr:DescribeImages``, ``ecr:DescribeImageReplicationStatus``, ``sts:GetCallerIdentity`` and
``sts:AssumeRole`` on the destination roles; with ``--referrers`` ``ecr:BatchGetImage`` (what
``ListImageReferrers`` requires; it has no action of its own). Destination accounts (the
destination role has them): ``ecr:DescribeImages`` on the replicated repositories, and
``ecr:BatchGetImage`` there for ``--referrers``.
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
    ACTIVE,
    ANY_STATUS,
    AccessError,
    RegistryAccess,
    access_for,
    describe_failure,
    error_code,
    guarded,
    image_status,
    list_image_referrers,
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
LIST_REFERRERS = "list referrers"


@dataclass(frozen=True, kw_only=True, slots=True)
class Listing:
    """A repository's images as ``DescribeImages`` with ``imageStatus: ANY`` lists them."""

    tags: Mapping[str, str]
    """Each tag, with the digest of the image it points to."""
    statuses: Mapping[str, str]
    """Each listed digest, with its ``imageStatus`` (``ACTIVE``, ``ARCHIVED``, ``ACTIVATING``)."""

    def status(self, digest: str) -> str:
        return self.statuses.get(digest, ACTIVE)


def listing_of(images: Sequence[Mapping[str, Any]]) -> Listing:
    return Listing(
        tags={tag: image["imageDigest"] for image in images for tag in image.get("imageTags", ())},
        statuses={image["imageDigest"]: image_status(image) for image in images},
    )


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
    source_status: str = ACTIVE
    """The source image's ``imageStatus``: an archived source image counts as any other."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "digest": self.digest,
            "replicationStatus": _status_json(self.replication_status),
            "sourceStatus": self.source_status,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestMismatch:
    tag: str
    source_digest: str
    destination_digest: str
    replication_status: ReplicationStatus | None = None
    source_status: str = ACTIVE
    destination_status: str = ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "sourceDigest": self.source_digest,
            "destinationDigest": self.destination_digest,
            "replicationStatus": _status_json(self.replication_status),
            "sourceStatus": self.source_status,
            "destinationStatus": self.destination_status,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class ArchivedTag:
    """A tag present on both sides with the same digest, whose image is not ``ACTIVE`` on one
    side or both: replicated, though it cannot be pulled there until it is restored."""

    tag: str
    digest: str
    source_status: str
    destination_status: str

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "digest": self.digest,
            "sourceStatus": self.source_status,
            "destinationStatus": self.destination_status,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class MissingReferrer:
    """A referrer (signature, SBOM, ...) of a source image that the destination image lacks."""

    subject_digest: str
    subject_tags: tuple[str, ...]
    digest: str
    artifact_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "subjectDigest": self.subject_digest,
            "subjectTags": list(self.subject_tags),
            "digest": self.digest,
            "artifactType": self.artifact_type,
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
    archived_tags: tuple[ArchivedTag, ...] = ()
    missing_referrers: tuple[MissingReferrer, ...] = ()
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
            "archivedTags": [a.to_json() for a in self.archived_tags],
            "missingReferrers": [m.to_json() for m in self.missing_referrers],
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
    source_listings: dict[_SourceRepository, Listing] = field(default_factory=dict)
    # None: the destination repository does not exist; AccessError: could not be listed.
    destination_listings: dict[tuple[Registry, str], Listing | AccessError | None] = field(
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


def _listing_or_missing(
    access: RegistryAccess, registry: Registry, repository: str, *, destination: bool
) -> Listing | AccessError | None:
    try:
        client = access.ecr(registry, side="destination" if destination else "source")
        with guarded(f"repository {repository}"):
            try:
                images = list_images(client, registry, repository, image_status=ANY_STATUS)
            except Exception as error:  # a ClientError's code decides; anything else re-raises
                if error_code(error) != "RepositoryNotFoundException":
                    raise
                return None
            return listing_of(images)
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
        lambda r: _listing_or_missing(access, r.source.registry, r.name, destination=False),
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
            collected.source_listings[repository] = listing

    # One listing per repository per destination registry, however many sources share it.
    wanted = round_robin(
        dict.fromkeys(
            (destination, repository.name)
            for repository, listing in collected.source_listings.items()
            if listing.tags
            for destination in repository.source.destinations
            if repository.source.matches(repository.name, destination)
        )
    )
    if tracker is not None:
        tracker.add(len(wanted))
    destination_listings = run_concurrently(
        wanted,
        lambda key: _listing_or_missing(access, key[0], key[1], destination=True),
        on_done=advance,
    )
    collected.destination_listings = dict(zip(wanted, destination_listings, strict=True))
    return collected


# ---------------------------------------------------------------------------------------------
# Comparison


def compare(
    repository: _SourceRepository,
    source: Listing,
    destination: Registry,
    listing: Listing | AccessError | None,
) -> RepositoryResult:
    """One source repository against one destination's listing (no API calls).

    Digests are compared whatever their status: an image archived on either side is present.
    """
    base = RepositoryResult(
        source=repository.source.registry,
        repository=repository.name,
        destination=destination,
        status="ok",
        source_tags=len(source.tags),
    )
    if not source.tags:
        return base
    if isinstance(listing, AccessError):
        return replace(base, status="unchecked", reason=listing.reason)
    if listing is None:
        return replace(base, status="problem", missing_repository=True)
    tags = sorted(source.tags.items())
    missing = tuple(
        MissingTag(tag=tag, digest=digest, source_status=source.status(digest))
        for tag, digest in tags
        if tag not in listing.tags
    )
    mismatches = tuple(
        DigestMismatch(
            tag=tag,
            source_digest=digest,
            destination_digest=listing.tags[tag],
            source_status=source.status(digest),
            destination_status=listing.status(listing.tags[tag]),
        )
        for tag, digest in tags
        if tag in listing.tags and listing.tags[tag] != digest
    )
    archived = tuple(
        ArchivedTag(
            tag=tag,
            digest=digest,
            source_status=source.status(digest),
            destination_status=listing.status(digest),
        )
        for tag, digest in tags
        if listing.tags.get(tag) == digest
        and (source.status(digest), listing.status(digest)) != (ACTIVE, ACTIVE)
    )
    return replace(
        base,
        status="problem" if missing or mismatches else "ok",
        missing_tags=missing,
        digest_mismatches=mismatches,
        archived_tags=archived,
    )


def replicated_images(source: Listing, listing: Listing) -> dict[str, tuple[str, ...]]:
    """The digests present on both sides under a tag of the source, each with those tags."""
    found: dict[str, list[str]] = {}
    for tag, digest in sorted(source.tags.items()):
        if listing.tags.get(tag) == digest:
            found.setdefault(digest, []).append(tag)
    return {digest: tuple(tags) for digest, tags in found.items()}


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
            replace(m, replication_status=status_for(m.digest)) for m in result.missing_tags
        ),
        digest_mismatches=tuple(
            replace(m, replication_status=status_for(m.source_digest))
            for m in result.digest_mismatches
        ),
    )


# ---------------------------------------------------------------------------------------------
# Referrers (--referrers)

ReferrerKey = tuple[Registry, str, str, bool]
"""``(registry, repository, subject digest, read as a destination)``: one
``ListImageReferrers`` call (a registry is read with the credentials of its side)."""
Referrers = dict[str, str]
"""An image's referrers: each referrer digest with its artifact type (else its media type)."""


def image_referrers(access: RegistryAccess, key: ReferrerKey) -> Referrers | AccessError:
    registry, repository, digest, destination = key
    try:
        client = access.ecr(registry, side="destination" if destination else "source")
        with guarded(f"repository {repository}"):
            found = list_image_referrers(client, registry, repository, digest)
    except AccessError as failure:
        return failure
    return {
        str(r["digest"]): str(r.get("artifactType") or r.get("mediaType") or "unknown")
        for r in found
    }


def _with_referrers(
    result: RepositoryResult,
    images: Mapping[str, tuple[str, ...]],
    answers: Mapping[ReferrerKey, Referrers | AccessError],
) -> RepositoryResult:
    """The result with the source images' referrers that the destination images lack (a
    problem); an image whose referrers could not be listed on either side is left out (the
    listing is named unchecked)."""
    missing = []
    for digest, tags in images.items():
        in_source = answers.get((result.source, result.repository, digest, False))
        in_destination = answers.get((result.destination, result.repository, digest, True))
        if not isinstance(in_source, dict) or not isinstance(in_destination, dict):
            continue
        missing += [
            MissingReferrer(
                subject_digest=digest, subject_tags=tags, digest=referrer, artifact_type=kind
            )
            for referrer, kind in sorted(in_source.items())
            if referrer not in in_destination
        ]
    if not missing:
        return result
    return replace(result, status="problem", missing_referrers=tuple(missing))


def compare_referrers(
    access: RegistryAccess,
    results: Sequence[RepositoryResult],
    collected: _Collected,
    tracker: report.ProgressTracker | None,
) -> tuple[list[RepositoryResult], list[report.Unchecked]]:
    """``--referrers``: list the referrers of every image present on both sides, once per
    registry (a source image once, however many destinations have it), and compare."""
    listings = {
        (r.source.registry, r.name): listing for r, listing in collected.source_listings.items()
    }
    images: dict[int, dict[str, tuple[str, ...]]] = {}
    calls: dict[ReferrerKey, None] = {}
    for index, result in enumerate(results):
        destination = collected.destination_listings.get((result.destination, result.repository))
        if result.status == "unchecked" or not isinstance(destination, Listing):
            continue
        images[index] = replicated_images(listings[(result.source, result.repository)], destination)
        for digest in images[index]:
            calls[(result.source, result.repository, digest, False)] = None
            calls[(result.destination, result.repository, digest, True)] = None
    keys = list(calls)
    if tracker is not None:
        tracker.add(len(keys))
    answers = dict(
        zip(
            keys,
            run_concurrently(
                keys,
                lambda key: image_referrers(access, key),
                on_done=tracker.advance if tracker is not None else None,
            ),
            strict=True,
        )
    )
    unchecked = [
        report.Unchecked(registry=key[0].key, check=LIST_REFERRERS, reason=answer.reason)
        for key, answer in answers.items()
        if isinstance(answer, AccessError)
    ]
    compared = [
        _with_referrers(result, images[index], answers) if index in images else result
        for index, result in enumerate(results)
    ]
    return compared, list({(u.registry, u.reason): u for u in unchecked}.values())


# ---------------------------------------------------------------------------------------------
# The command


def verify(
    access: RegistryAccess,
    *,
    repository: str | None = None,
    referrers: bool = False,
    tracker: report.ProgressTracker | None = None,
) -> VerifyReport:
    """Compare every matching source repository with each of its destinations; with
    ``referrers`` also the referrers of every image present on both sides."""
    if repository is not None and not any(s.matches(repository) for s in access.topology.sources):
        raise UsageError(
            f"--repository: {repository!r} matches no replication rule of the topology"
        )
    collected = collect(access, only=repository, tracker=tracker)
    if repository is not None and not collected.source_listings and not collected.unchecked:
        raise UsageError(
            f"--repository: {repository!r} is not in any source registry whose rules match it "
            f"({', '.join(r.source.registry.key for r in collected.absent)})"
        )

    results: list[RepositoryResult] = []
    for source_repository, source_listing in collected.source_listings.items():
        source = source_repository.source
        for destination in source.destinations:
            if source.matches(source_repository.name, destination):
                listing = collected.destination_listings.get((destination, source_repository.name))
                results.append(compare(source_repository, source_listing, destination, listing))

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
    final = [_with_statuses(r, by_repository.get((r.source, r.repository), {})) for r in results]
    referrer_unchecked: list[report.Unchecked] = []
    if referrers:
        final, referrer_unchecked = compare_referrers(access, final, collected, tracker)
    unchecked = [
        *collected.unchecked,
        *(
            report.Unchecked(
                registry=r.destination.key, check=LIST_IMAGES, reason=r.reason or "unknown"
            )
            for r in final
            if r.status == "unchecked"
        ),
        *referrer_unchecked,
    ]
    return VerifyReport(results=tuple(final), unchecked=tuple(unchecked))


# ---------------------------------------------------------------------------------------------
# Output


def _short_digest(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}" if value else digest


def _where_archived(source_status: str, destination_status: str) -> str:
    """``ARCHIVED in the destination``, ``ARCHIVED in the source, ACTIVATING in the
    destination``, ...: the sides whose image is not ``ACTIVE``."""
    sides = [
        f"{status} in the {side}"
        for side, status in (("source", source_status), ("destination", destination_status))
        if status != ACTIVE
    ]
    return ", ".join(sides)


def detail_lines(result: RepositoryResult) -> list[str]:
    if result.status == "unchecked":
        return ["could not be read (the reason is below the table)"]
    if result.missing_repository:
        noun = "tag" if result.source_tags == 1 else "tags"
        return [f"repository missing in the destination ({result.source_tags} {noun} to replicate)"]
    lines = []
    for missing in result.missing_tags:
        notes = [
            *(
                [f"{missing.source_status} in the source"]
                if missing.source_status != ACTIVE
                else []
            ),
            *([str(missing.replication_status)] if missing.replication_status else []),
        ]
        lines.append(
            f"missing tag {missing.tag} ({_short_digest(missing.digest)})"
            + (f" ({'; '.join(notes)})" if notes else "")
        )
    for mismatch in result.digest_mismatches:
        status = f" ({mismatch.replication_status})" if mismatch.replication_status else ""
        lines.append(
            f"tag {mismatch.tag}: {_short_digest(mismatch.source_digest)} in the source, "
            f"{_short_digest(mismatch.destination_digest)} in the destination{status}"
        )
    for referrer in result.missing_referrers:
        lines.append(
            f"missing referrer {referrer.artifact_type} {_short_digest(referrer.digest)} of "
            f"{', '.join(referrer.subject_tags)} ({_short_digest(referrer.subject_digest)})"
        )
    for archived in result.archived_tags:
        lines.append(
            f"tag {archived.tag} present, "
            f"{_where_archived(archived.source_status, archived.destination_status)}"
        )
    if len(lines) > MAX_DETAIL_LINES:
        hidden = len(lines) - MAX_DETAIL_LINES + 1
        lines = [*lines[: MAX_DETAIL_LINES - 1], f"... and {hidden} more (see --json)"]
    return lines


def _tags_cell(result: RepositoryResult) -> str:
    archived = len(result.archived_tags)
    return f"{result.source_tags} ({archived} archived)" if archived else str(result.source_tags)


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
            report.cell(_tags_cell(r)),
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
    parser.add_argument(
        "--referrers",
        action="store_true",
        help="also compare the referrers (signatures, SBOMs) of every replicated image "
        "(ListImageReferrers: one call per image and registry; default: off)",
    )


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    access = access_for(topology, args)
    console = report.make_console()
    with report.progress(console, "Comparing repositories", enabled=not args.json) as tracker:
        verified = verify(
            access, repository=args.repository, referrers=args.referrers, tracker=tracker
        )
    return report.finish(
        command=COMMAND,
        as_json=args.json,
        outcome=verified.outcome,
        body={
            "repositoryFilter": args.repository,
            "referrers": args.referrers,
            "results": [r.to_json() for r in verified.results],
        },
        render=lambda c: render(c, verified),
        ok_message="Replication works: every source tag is in every destination with the "
        "same digest" + (", every replicated image with its referrers." if args.referrers else "."),
        console=console,
    )
