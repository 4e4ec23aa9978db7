"""``ecr-replication cost``: what will the replicas cost?

For each destination registry: the bytes stored in the source repositories that the rules
replicate there (``imageSizeInBytes`` from ``DescribeImages``, each digest counted once per
repository), times ``--storage-price`` per GB-month, since every destination holds a full
copy; and one full copy's transfer, times ``--transfer-price`` per GB, for copies that cross
regions. Same-region copies into another account are counted as free transfer.

Assumptions, all stated in the output:

* 1 GB is 1024³ bytes (how AWS bills storage).
* ``--storage-price`` defaults to :data:`DEFAULT_STORAGE_PRICE` (0.10 USD per GB-month, ECR
  private storage in most regions).
* ``--transfer-price`` defaults to :data:`DEFAULT_TRANSFER_PRICE` (0.09 USD per GB). This is an
  **assumption to check against AWS pricing** for your regions: public sources disagree on
  whether and how much ECR charges for cross-region replication transfer.
* ``imageSizeInBytes`` is the compressed size ECR reports per image; layers shared by several
  images are counted for each, so the estimate is an upper bound.

Calls: per source registry one ``DescribeRepositories`` listing, per matching repository one
``DescribeImages`` listing (1000 a page), concurrently. Only source registries are read.

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
    AccessError,
    RegistryAccess,
    access_for,
    guarded,
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
CURRENCY = "USD"


@dataclass(frozen=True, kw_only=True, slots=True)
class RepositorySize:
    """A source repository's stored bytes, each image digest counted once."""

    source: Registry
    repository: str
    images: int
    bytes: int


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
            "transferBytes": self.transfer_bytes,
            "transferCost": round(self.transfer_cost, 4),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class CostReport:
    destinations: tuple[DestinationCost, ...]
    storage_price: float
    transfer_price: float
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
    def outcome(self) -> report.Outcome:
        return report.Outcome(problems=0, unchecked=self.unchecked)

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": CURRENCY,
            "bytesPerGigabyte": BYTES_PER_GB,
            "storagePricePerGbMonth": self.storage_price,
            "transferPricePerGb": self.transfer_price,
            "transferPriceIsAssumption": True,
            "destinations": [d.to_json() for d in self.destinations],
            "total": {
                "bytes": self.total_bytes,
                "storageCostPerMonth": round(self.total_storage_cost, 4),
                "transferCost": round(self.total_transfer_cost, 4),
            },
        }


def repository_bytes(images: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(distinct digests, bytes): an image listed twice (e.g. two tags) is stored once."""
    sizes = {image["imageDigest"]: int(image.get("imageSizeInBytes", 0)) for image in images}
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
            images, size = repository_bytes(list_images(client, source, repository))
    except AccessError as failure:
        return failure
    return RepositorySize(source=source, repository=repository, images=images, bytes=size)


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
    tracker: report.ProgressTracker | None = None,
) -> CostReport:
    """The cost of the replicas of every destination of ``access.topology``."""
    topology = access.topology
    sizes, unchecked = measure(access, tracker=tracker)
    unread = {u.registry for u in unchecked}

    destinations = []
    for destination in topology.destination_registries():
        repositories = images = stored = transferred = 0
        for grant in destination.grants:
            source = topology.source(grant.source)
            assert source is not None  # grants come from the topology's sources
            for size in sizes[grant.source]:
                if source.matches(size.repository, destination.registry):
                    repositories += 1
                    images += size.images
                    stored += size.bytes
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
                complete=not any(g.source.key in unread for g in destination.grants),
            )
        )
    return CostReport(
        destinations=tuple(destinations),
        storage_price=storage_price,
        transfer_price=transfer_price,
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
            f"Storage ({CURRENCY}/month)",
            f"Transfer ({CURRENCY}, once)",
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
            report.cell(_money(d.transfer_cost)),
        )
    for d in estimated.destinations:
        if not d.complete:
            table.add_row(
                report.cell(d.destination.key),
                report.cell(", ".join(s.key for s in d.sources)),
                *(report.cell("not read", "yellow") for _ in range(5)),
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
        report.cell(_money(sum(d.transfer_cost for d in read)), "bold"),
    )
    console.print(table)
    notes = (
        f"Storage: {estimated.storage_price} {CURRENCY} per GB-month in every destination "
        "(--storage-price).",
        f"Transfer: {estimated.transfer_price} {CURRENCY} per GB for copies to another region "
        "(--transfer-price): an assumption, check it against AWS pricing for your regions. "
        "Same-region copies count as free.",
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


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    access = access_for(topology, args)
    console = report.make_console()
    with report.progress(console, "Measuring repositories", enabled=not args.json) as tracker:
        estimated = estimate(
            access,
            storage_price=args.storage_price,
            transfer_price=args.transfer_price,
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
