"""``ecr-replication cost``: what will the replicas cost?

For each destination registry: the bytes stored in the source repositories that the rules
replicate there (``imageSizeInBytes`` from ``DescribeImages`` with ``imageStatus: ANY``, each
digest counted once per repository), times ``--storage-price`` per GB-month, since every
destination holds a full copy; the bytes of images **archived** in the source (archive storage
class), apart, times ``--archive-price``; and one full copy's transfer of the active images,
times ``--transfer-price`` per GB, for copies that cross regions. Same-region copies into
another account are counted as free transfer.

Assumptions, all stated in the output:

* 1 GB is 1024³ bytes (how AWS bills storage).
* ``--storage-price`` defaults to :data:`DEFAULT_STORAGE_PRICE` (0.10 USD per GB-month, ECR
  private storage in most regions).
* ``--transfer-price`` defaults to :data:`DEFAULT_TRANSFER_PRICE` (0.09 USD per GB). This is an
  **assumption to check against AWS pricing** for your regions: public sources disagree on
  whether and how much ECR charges for cross-region replication transfer.
* ``--archive-price`` defaults to :data:`DEFAULT_ARCHIVE_PRICE` (0.10 USD per GB-month), **not
  verified here**: no price list can be read offline; third-party reports of the 2026 price
  list give the standard price for the first 150 TB a month and 0.07 above. Archived images
  are also charged a 90-day minimum and a fee per GB restored, neither counted here.
* An image archived in the source is assumed archived in each destination too, though each
  registry archives on its own lifecycle; archived images are not counted in the transfer
  (replication copied them when they were pushed; whether a backfill copies archived images
  is not documented).
* ``imageSizeInBytes`` is the compressed size ECR reports per image; layers shared by several
  images are counted for each, so the estimate is an upper bound.

Calls: per source registry one ``DescribeRepositories`` listing, per matching repository one
``DescribeImages`` listing (every status, 1000 a page), concurrently. Only source registries
are read.

IAM permissions. Source accounts (the caller): ``ecr:DescribeRepositories``,
``ecr:DescribeImages``. Destination accounts: none.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

from ..model import Registry, SourceRegistry
from . import report
from .aws import (
    ANY_STATUS,
    AccessError,
    RegistryAccess,
    access_for,
    guarded,
    image_status,
    list_images,
    matching_repositories,
    run_concurrently,
)
from .config import add_common_arguments, load_topology
from .verify import LIST_IMAGES, LIST_REPOSITORIES

COMMAND = "cost"
BYTES_PER_GB = 1024**3
DEFAULT_STORAGE_PRICE = 0.10
"""USD per GB-month of ECR private storage (the published price in most regions)."""
DEFAULT_TRANSFER_PRICE = 0.09
"""USD per GB transferred to another region. An assumption: check it against AWS pricing."""
DEFAULT_ARCHIVE_PRICE = 0.10
"""USD per GB-month of ECR archive storage. Not verified here (no price list can be read
offline): third-party reports of the 2026 list give 0.10 for the first 150 TB, 0.07 above."""
ARCHIVED = "ARCHIVED"
CURRENCY = "USD"


@dataclass(frozen=True, kw_only=True, slots=True)
class RepositorySize:
    """A source repository's stored bytes, each image digest counted once: the active images
    (``ACTIVE``, or ``ACTIVATING`` while restored) and, apart, the archived ones."""

    source: Registry
    repository: str
    images: int
    bytes: int
    archived_images: int = 0
    archived_bytes: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationCost:
    destination: Registry
    sources: tuple[Registry, ...]
    repositories: int
    images: int
    bytes: int
    transfer_bytes: int
    storage_cost_per_month: float
    transfer_cost: float
    archived_images: int = 0
    archived_bytes: int = 0
    archive_cost_per_month: float = 0.0
    complete: bool = True
    """False when a source replicating here could not be read: the figures are a lower bound."""

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination.key,
            "complete": self.complete,
            "sources": [s.key for s in self.sources],
            "repositories": self.repositories,
            "images": self.images,
            "bytes": self.bytes,
            "storageCostPerMonth": round(self.storage_cost_per_month, 4),
            "archivedImages": self.archived_images,
            "archivedBytes": self.archived_bytes,
            "archiveStorageCostPerMonth": round(self.archive_cost_per_month, 4),
            "transferBytes": self.transfer_bytes,
            "transferCost": round(self.transfer_cost, 4),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CostReport:
    destinations: tuple[DestinationCost, ...]
    storage_price: float
    transfer_price: float
    archive_price: float = DEFAULT_ARCHIVE_PRICE
    unchecked: tuple[report.Unchecked, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(d.bytes for d in self.destinations)

    @property
    def total_storage_cost(self) -> float:
        return sum(d.storage_cost_per_month for d in self.destinations)

    @property
    def total_transfer_cost(self) -> float:
        return sum(d.transfer_cost for d in self.destinations)

    @property
    def total_archived_bytes(self) -> int:
        return sum(d.archived_bytes for d in self.destinations)

    @property
    def total_archive_cost(self) -> float:
        return sum(d.archive_cost_per_month for d in self.destinations)

    @property
    def outcome(self) -> report.Outcome:
        return report.Outcome(problems=0, unchecked=self.unchecked)

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": CURRENCY,
            "bytesPerGigabyte": BYTES_PER_GB,
            "storagePricePerGbMonth": self.storage_price,
            "transferPricePerGb": self.transfer_price,
            "transferPriceIsAssumption": True,
            "archivePricePerGbMonth": self.archive_price,
            "archivePriceIsAssumption": True,
            "destinations": [d.to_json() for d in self.destinations],
            "total": {
                "bytes": self.total_bytes,
                "storageCostPerMonth": round(self.total_storage_cost, 4),
                "archivedBytes": self.total_archived_bytes,
                "archiveStorageCostPerMonth": round(self.total_archive_cost, 4),
                "transferCost": round(self.total_transfer_cost, 4),
            },
        }


def repository_bytes(
    images: Sequence[Mapping[str, Any]], *, archived: bool = False
) -> tuple[int, int]:
    """(distinct digests, bytes) of the active images, or with ``archived`` of the archived
    ones: an image listed twice (e.g. two tags) is stored once."""
    sizes = {
        image["imageDigest"]: int(image.get("imageSizeInBytes", 0))
        for image in images
        if (image_status(image) == ARCHIVED) == archived
    }
    return len(sizes), sum(sizes.values())


def _matching_repositories(
    access: RegistryAccess, source: SourceRegistry
) -> list[str] | AccessError:
    try:
        return matching_repositories(access, source)
    except AccessError as failure:
        return failure


def _repository_size(
    access: RegistryAccess, source: Registry, repository: str
) -> RepositorySize | AccessError:
    try:
        client = access.ecr(source, side="source")
        with guarded(f"repository {repository}"):
            listed = list_images(client, source, repository, image_status=ANY_STATUS)
    except AccessError as failure:
        return failure
    images, size = repository_bytes(listed)
    archived_images, archived_size = repository_bytes(listed, archived=True)
    return RepositorySize(
        source=source,
        repository=repository,
        images=images,
        bytes=size,
        archived_images=archived_images,
        archived_bytes=archived_size,
    )


def measure(
    access: RegistryAccess, *, tracker: report.ProgressTracker | None = None
) -> tuple[dict[Registry, list[RepositorySize]], tuple[report.Unchecked, ...]]:
    """The size of every source repository the rules replicate, and what could not be read."""
    sources = list(access.topology.sources)
    advance = tracker.advance if tracker is not None else None
    unchecked: list[report.Unchecked] = []
    if tracker is not None:
        tracker.add(len(sources))
    listings = run_concurrently(
        sources, lambda source: _matching_repositories(access, source), on_done=advance
    )
    work: list[tuple[Registry, str]] = []
    for source, names in zip(sources, listings, strict=True):
        if isinstance(names, AccessError):
            unchecked.append(
                report.Unchecked(
                    registry=source.registry.key, check=LIST_REPOSITORIES, reason=names.reason
                )
            )
        else:
            work.extend((source.registry, name) for name in names)
    if tracker is not None:
        tracker.add(len(work))
    measured = run_concurrently(work, lambda item: _repository_size(access, *item), on_done=advance)
    sizes: dict[Registry, list[RepositorySize]] = {s.registry: [] for s in sources}
    for (registry, _), size in zip(work, measured, strict=True):
        if isinstance(size, AccessError):
            unchecked.append(
                report.Unchecked(registry=registry.key, check=LIST_IMAGES, reason=size.reason)
            )
        else:
            sizes[registry].append(size)
    return sizes, tuple(unchecked)


def estimate(
    access: RegistryAccess,
    *,
    storage_price: float = DEFAULT_STORAGE_PRICE,
    transfer_price: float = DEFAULT_TRANSFER_PRICE,
    archive_price: float = DEFAULT_ARCHIVE_PRICE,
    tracker: report.ProgressTracker | None = None,
) -> CostReport:
    """The cost of the replicas of every destination of ``access.topology``."""
    topology = access.topology
    sizes, unchecked = measure(access, tracker=tracker)
    unread = {u.registry for u in unchecked}

    destinations = []
    for destination in topology.destination_registries():
        repositories = images = stored = transferred = archived_images = archived = 0
        for grant in destination.grants:
            source = topology.source(grant.source)
            assert source is not None  # grants come from the topology's sources
            for size in sizes[grant.source]:
                if source.matches(size.repository, destination.registry):
                    repositories += 1
                    images += size.images
                    stored += size.bytes
                    archived_images += size.archived_images
                    archived += size.archived_bytes
                    if grant.source.region != destination.registry.region:
                        transferred += size.bytes
        destinations.append(
            DestinationCost(
                destination=destination.registry,
                sources=tuple(g.source for g in destination.grants),
                repositories=repositories,
                images=images,
                bytes=stored,
                transfer_bytes=transferred,
                storage_cost_per_month=stored / BYTES_PER_GB * storage_price,
                transfer_cost=transferred / BYTES_PER_GB * transfer_price,
                archived_images=archived_images,
                archived_bytes=archived,
                archive_cost_per_month=archived / BYTES_PER_GB * archive_price,
                complete=not any(g.source.key in unread for g in destination.grants),
            )
        )
    return CostReport(
        destinations=tuple(destinations),
        storage_price=storage_price,
        transfer_price=transfer_price,
        archive_price=archive_price,
        unchecked=unchecked,
    )


# ---------------------------------------------------------------------------------------------
# Output


def _gigabytes(size: int) -> str:
    return f"{size / BYTES_PER_GB:,.2f}"


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


def render(console: Console, estimated: CostReport) -> None:
    """A row per destination whose sources could all be read, and their total.

    A destination with a source that could not be read has no figures (a partial sum would
    read as a cost); the summary below the table names what could not be read.
    """
    read = [d for d in estimated.destinations if d.complete]
    if not read:
        return
    table = report.new_table(
        "Cost: what the replicas will cost",
        [
            "Destination",
            "Sources",
            "Repositories",
            "Images",
            "Size (GB)",
            f"Storage ({CURRENCY}/mo)",
            "Archived (GB)",
            f"Archive ({CURRENCY}/mo)",
            f"Transfer ({CURRENCY})",
        ],
    )
    for d in read:
        table.add_row(
            report.cell(d.destination.key),
            report.cell(", ".join(s.key for s in d.sources)),
            report.cell(d.repositories),
            report.cell(d.images),
            report.cell(_gigabytes(d.bytes)),
            report.cell(_money(d.storage_cost_per_month)),
            report.cell(_gigabytes(d.archived_bytes)),
            report.cell(_money(d.archive_cost_per_month)),
            report.cell(_money(d.transfer_cost)),
        )
    for d in estimated.destinations:
        if not d.complete:
            table.add_row(
                report.cell(d.destination.key),
                report.cell(", ".join(s.key for s in d.sources)),
                *(report.cell("not read", "yellow") for _ in range(7)),
            )
    table.add_section()
    partial = len(read) < len(estimated.destinations)
    table.add_row(
        report.cell("Total of the destinations read" if partial else "Total", "bold"),
        report.cell(""),
        report.cell(sum(d.repositories for d in read)),
        report.cell(sum(d.images for d in read)),
        report.cell(_gigabytes(sum(d.bytes for d in read)), "bold"),
        report.cell(_money(sum(d.storage_cost_per_month for d in read)), "bold"),
        report.cell(_gigabytes(sum(d.archived_bytes for d in read)), "bold"),
        report.cell(_money(sum(d.archive_cost_per_month for d in read)), "bold"),
        report.cell(_money(sum(d.transfer_cost for d in read)), "bold"),
    )
    console.print(table)
    notes = (
        f"Storage: {estimated.storage_price} {CURRENCY} per GB-month in every destination "
        "(--storage-price).",
        f"Transfer: {estimated.transfer_price} {CURRENCY} per GB for copies to another region "
        "(--transfer-price): an assumption, check it against AWS pricing for your regions. "
        "Same-region copies count as free.",
        f"Archive: {estimated.archive_price} {CURRENCY} per GB-month for images archived in the "
        "source, assumed archived in every destination (--archive-price): not verified here "
        "(no price list can be read offline); a 90-day minimum charge and restore fees are not "
        "counted. Archived images are not in the transfer.",
        "Sizes: ECR's compressed image sizes, each digest once per repository; layers shared "
        "by images are counted for each, so this is an upper bound. 1 GB = 1024^3 bytes.",
    )
    for note in notes:
        console.print(report.cell(note, "dim"), soft_wrap=True)


def _price(value: str) -> float:
    try:
        price = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not price >= 0 or price == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} must be a price of 0 or more")
    return price


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--storage-price",
        metavar="USD",
        type=_price,
        default=DEFAULT_STORAGE_PRICE,
        help=f"price of ECR storage per GB-month (default: {DEFAULT_STORAGE_PRICE})",
    )
    parser.add_argument(
        "--transfer-price",
        metavar="USD",
        type=_price,
        default=DEFAULT_TRANSFER_PRICE,
        help=f"price per GB of replicating to another region (default: {DEFAULT_TRANSFER_PRICE}, "
        "an assumption: check it against AWS pricing)",
    )
    parser.add_argument(
        "--archive-price",
        metavar="USD",
        type=_price,
        default=DEFAULT_ARCHIVE_PRICE,
        help="price of ECR archive storage per GB-month, for images archived in the source "
        f"(default: {DEFAULT_ARCHIVE_PRICE}, not verified here: check it against AWS pricing)",
    )


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    access = access_for(topology, args)
    console = report.make_console()
    with report.progress(console, "Measuring repositories", enabled=not args.json) as tracker:
        estimated = estimate(
            access,
            storage_price=args.storage_price,
            transfer_price=args.transfer_price,
            archive_price=args.archive_price,
            tracker=tracker,
        )
    return report.finish(
        command=COMMAND,
        as_json=args.json,
        outcome=estimated.outcome,
        body=estimated.to_json(),
        render=lambda c: render(c, estimated),
        ok_message="Every source registry was measured.",
        console=console,
    )
