"""``ecr-replication cost``: stored bytes times destinations times price, plus cross-region transfer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecr_replication.ops.cost import (
    BYTES_PER_GB,
    DEFAULT_ARCHIVE_PRICE,
    DEFAULT_STORAGE_PRICE,
    DEFAULT_TRANSFER_PRICE,
)

from .opshelp import (
    ARCHIVED,
    DEST_A,
    DEST_B,
    SOURCE,
    ClientStubs,
    CliResult,
    ecr_client,
    push,
    set_image_status,
)

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]
GB = BYTES_PER_GB


def by_destination(result: CliResult) -> dict[str, dict[str, Any]]:
    return {d["destination"]: d for d in result.json["destinations"]}


@pytest.fixture
def images() -> None:
    """prod/api: 3 GB shared by two tags plus 1 GB; prod/web: 2 GB; dev/tool: not replicated."""
    push(SOURCE, "prod/api", "v1", "api-1", 3 * GB)
    push(SOURCE, "prod/api", "latest", "api-1", 3 * GB)
    push(SOURCE, "prod/api", "v2", "api-2", 1 * GB)
    push(SOURCE, "prod/web", "v1", "web-1", 2 * GB)
    push(SOURCE, "dev/tool", "v1", "tool-1", 50 * GB)


def test_each_destination_stores_every_matching_digest_once(
    write_config: WriteConfig, run_cli: Run, images: None
) -> None:
    config = write_config()

    result = run_cli("cost", "--config", str(config), "--json")

    assert result.code == 0
    assert result.json["schema"] == "ecr-replication/cost/v1"
    costs = by_destination(result)
    for destination in (DEST_A, DEST_B):
        assert costs[destination.key]["bytes"] == 6 * GB
        assert costs[destination.key]["images"] == 3
        assert costs[destination.key]["repositories"] == 2
        assert costs[destination.key]["storageCostPerMonth"] == pytest.approx(
            6 * DEFAULT_STORAGE_PRICE
        )
    assert result.json["total"]["storageCostPerMonth"] == pytest.approx(12 * DEFAULT_STORAGE_PRICE)


def test_only_cross_region_copies_pay_transfer(
    write_config: WriteConfig, run_cli: Run, images: None
) -> None:
    config = write_config()

    result = run_cli("cost", "--config", str(config), "--json")

    costs = by_destination(result)
    assert costs[DEST_A.key]["transferBytes"] == 6 * GB  # us-east-1 -> eu-west-1
    assert costs[DEST_A.key]["transferCost"] == pytest.approx(6 * DEFAULT_TRANSFER_PRICE)
    assert costs[DEST_B.key]["transferBytes"] == 0  # same region, other account
    assert costs[DEST_B.key]["transferCost"] == 0
    assert result.json["transferPriceIsAssumption"] is True


def test_prices_come_from_the_options(
    write_config: WriteConfig, run_cli: Run, images: None
) -> None:
    config = write_config(destinations=(DEST_A,))

    result = run_cli(
        "cost", "--config", str(config), "--json", "--storage-price", "0.5", "--transfer-price", "0"
    )

    assert result.json["storagePricePerGbMonth"] == 0.5
    assert result.json["total"] == {
        "bytes": 6 * GB,
        "storageCostPerMonth": pytest.approx(3.0),
        "archivedBytes": 0,
        "archiveStorageCostPerMonth": 0,
        "transferCost": 0,
    }


def test_the_human_report_is_a_table_per_destination_with_a_total_and_its_assumptions(
    write_config: WriteConfig, run_cli: Run, images: None
) -> None:
    config = write_config()

    result = run_cli("cost", "--config", str(config))

    assert result.code == 0
    lines = result.out.splitlines()
    row_a = next(line for line in lines if line.startswith(f"│ {DEST_A.key}"))
    assert "6.00" in row_a and "0.60" in row_a and "0.54" in row_a
    total = next(line for line in lines if line.startswith("│ Total"))
    assert "12.00" in total and "1.20" in total and "0.54" in total
    assert (
        f"Transfer: {DEFAULT_TRANSFER_PRICE} USD per GB for copies to another region "
        "(--transfer-price): an assumption, check it against AWS pricing" in result.out
    )
    assert (
        f"Archive: {DEFAULT_ARCHIVE_PRICE} USD per GB-month for images archived in the source"
        in result.out
    )
    assert "not verified here" in result.out


def test_archived_source_images_are_counted_apart_at_the_archive_price(
    write_config: WriteConfig, run_cli: Run, images: None
) -> None:
    config = write_config()
    # prod/api's 3 GB image (two tags) goes to the archive storage class in the source.
    digest = next(
        d["imageDigest"]
        for d in ecr_client(SOURCE).describe_images(repositoryName="prod/api")["imageDetails"]
        if "v1" in d.get("imageTags", ())
    )
    set_image_status(SOURCE, "prod/api", digest, ARCHIVED)

    result = run_cli("cost", "--config", str(config), "--json", "--archive-price", "0.07")

    assert result.json["archivePricePerGbMonth"] == 0.07
    assert result.json["archivePriceIsAssumption"] is True
    a, b = (by_destination(result)[d.key] for d in (DEST_A, DEST_B))
    for destination in (a, b):
        assert (destination["images"], destination["bytes"]) == (2, 3 * GB)
        assert (destination["archivedImages"], destination["archivedBytes"]) == (1, 3 * GB)
        assert destination["storageCostPerMonth"] == pytest.approx(3 * DEFAULT_STORAGE_PRICE)
        assert destination["archiveStorageCostPerMonth"] == pytest.approx(3 * 0.07)
    assert a["transferBytes"] == 3 * GB  # archived images are not in the transfer
    assert result.json["total"]["archivedBytes"] == 6 * GB


def test_the_archive_price_has_a_documented_default() -> None:
    # The default is an input, marked as not verified: third-party reports of the 2026 price
    # list give the standard storage price (0.10) for the first 150 TB a month.
    assert DEFAULT_ARCHIVE_PRICE == 0.10


@pytest.mark.parametrize("price", ["-1", "free", "nan"])
def test_a_bad_price_is_a_usage_error(write_config: WriteConfig, run_cli: Run, price: str) -> None:
    config = write_config()

    result = run_cli("cost", "--config", str(config), "--storage-price", price)

    assert result.code == 2
    assert "--storage-price" in result.err


def test_a_source_that_cannot_be_listed_is_named_and_exits_3(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs, images: None
) -> None:
    config = write_config()
    stubs.fail(SOURCE, "ecr", "describe_images", "AccessDeniedException")  # first repository

    result = run_cli("cost", "--config", str(config), "--json")

    assert result.code == 3
    assert result.json["unchecked"] == [
        {
            "registry": SOURCE.key,
            "check": "list images",
            "reason": "repository prod/api: access denied (AccessDeniedException calling "
            "DescribeImages)",
        }
    ]
    assert by_destination(result)[DEST_A.key]["bytes"] == 2 * GB  # prod/web still counted


def test_cost_reads_only_the_source_registries(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs, images: None
) -> None:
    config = write_config()

    run_cli("cost", "--config", str(config), "--json")

    assert {key.account for key in stubs.created} == {None}
    assert stubs.count("AssumeRole") == 0
