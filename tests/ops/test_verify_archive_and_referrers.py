"""``verify`` with images archived on either side, and ``verify --referrers``.

ECR lists only ``ACTIVE`` images unless asked for another status, and each registry archives
on its own lifecycle; referrers (signatures, SBOMs) are untagged images that a tag→digest
check cannot see. The fake (``opshelp.ecr_2026``) serves both as botocore's model describes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .opshelp import (
    ARCHIVED,
    DEST_A,
    DEST_B,
    SBOM,
    SIGNATURE,
    SOURCE,
    ClientStubs,
    CliResult,
    push,
    push_referrer,
    set_image_status,
)
from .test_verify import replicate

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]


def row(result: CliResult, repository: str, destination: Any) -> dict[str, Any]:
    (found,) = (
        r
        for r in result.json["results"]
        if (r["repository"], r["destination"]) == (repository, destination.key)
    )
    return found


# ---------------------------------------------------------------------------------------------
# Archived images


def test_an_image_the_destination_archived_is_present_and_its_status_is_reported(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    old = replicate("prod/api", "v1", "api-1", DEST_A)
    replicate("prod/api", "v2", "api-2", DEST_A)
    set_image_status(DEST_A, "prod/api", old, ARCHIVED)

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 0, result.out
    found = row(result, "prod/api", DEST_A)
    assert found["status"] == "ok"
    assert found["missingTags"] == []
    assert found["archivedTags"] == [
        {"tag": "v1", "digest": old, "sourceStatus": "ACTIVE", "destinationStatus": "ARCHIVED"}
    ]


def test_an_archived_source_image_missing_in_a_destination_is_missing(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A, DEST_B))
    replicate("prod/api", "v2", "api-2", DEST_A, DEST_B)
    old = replicate("prod/api", "v1", "api-1", DEST_A)  # never reached DEST_B
    set_image_status(SOURCE, "prod/api", old, ARCHIVED)
    stubs.fail(SOURCE, "ecr", "describe_image_replication_status", "ImageNotFoundException")

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 1
    (missing,) = row(result, "prod/api", DEST_B)["missingTags"]
    assert (missing["tag"], missing["digest"], missing["sourceStatus"]) == ("v1", old, "ARCHIVED")
    present = row(result, "prod/api", DEST_A)
    assert present["status"] == "ok"
    assert present["archivedTags"] == [
        {"tag": "v1", "digest": old, "sourceStatus": "ARCHIVED", "destinationStatus": "ACTIVE"}
    ]


def test_a_digest_mismatch_is_found_whatever_the_status_on_either_side(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    source = push(SOURCE, "prod/api", "v1", "api-1")
    stale = push(DEST_A, "prod/api", "v1", "api-old")
    set_image_status(DEST_A, "prod/api", stale, "ACTIVATING")
    stubs.fail(SOURCE, "ecr", "describe_image_replication_status", "ThrottlingException")

    result = run_cli("verify", "--config", str(config), "--json")

    (mismatch,) = row(result, "prod/api", DEST_A)["digestMismatches"]
    assert (mismatch["sourceDigest"], mismatch["destinationDigest"]) == (source, stale)
    assert (mismatch["sourceStatus"], mismatch["destinationStatus"]) == ("ACTIVE", "ACTIVATING")


def test_the_table_shows_the_status_of_archived_and_missing_images(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    kept = replicate("prod/api", "v1", "api-1", DEST_A)
    gone = push(SOURCE, "prod/api", "v0", "api-0")
    set_image_status(DEST_A, "prod/api", kept, ARCHIVED)
    set_image_status(SOURCE, "prod/api", gone, ARCHIVED)
    stubs.fail(SOURCE, "ecr", "describe_image_replication_status", "ThrottlingException")

    result = run_cli("verify", "--config", str(config))

    assert result.code == 1
    assert "2 (1 archived)" in result.out
    assert "tag v1 present, ARCHIVED in the destination" in result.out
    assert "missing tag v0 (sha256:" in result.out
    assert "(ARCHIVED in the source;" in result.out


# ---------------------------------------------------------------------------------------------
# --referrers


def test_referrers_are_not_listed_unless_asked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    digest = replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)
    push_referrer(SOURCE, "prod/api", digest, "sig-1")  # never replicated: not looked at

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 0
    assert result.json["referrers"] is False
    assert stubs.count("ListImageReferrers") == 0


def test_a_signature_the_destination_lacks_is_a_missing_referrer(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    digest = replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)
    replicate("prod/api", "latest", "api-1", DEST_A, DEST_B)  # the same image, two tags
    signature = push_referrer(SOURCE, "prod/api", digest, "sig-1")
    sbom = push_referrer(SOURCE, "prod/api", digest, "sbom-1", SBOM)
    for destination in (DEST_A, DEST_B):
        push_referrer(destination, "prod/api", digest, "sbom-1", SBOM)
    push_referrer(DEST_A, "prod/api", digest, "sig-1")  # only DEST_A got the signature

    result = run_cli("verify", "--referrers", "--config", str(config), "--json")

    assert result.code == 1
    assert result.json["referrers"] is True
    assert row(result, "prod/api", DEST_A)["status"] == "ok"
    lacking = row(result, "prod/api", DEST_B)
    assert lacking["status"] == "problem"
    assert lacking["missingReferrers"] == [
        {
            "subjectDigest": digest,
            "subjectTags": ["latest", "v1"],
            "digest": signature,
            "artifactType": SIGNATURE,
        }
    ]
    assert sbom not in str(lacking)
    # One call per replicated image and registry: the source once, each destination once.
    assert stubs.count("ListImageReferrers") == 3
    assert stubs.count("ListImageReferrers", account=SOURCE.account) == 1


def test_referrers_are_compared_whatever_their_status(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    digest = replicate("prod/api", "v1", "api-1", DEST_A)
    push_referrer(SOURCE, "prod/api", digest, "sig-1")
    archived = push_referrer(DEST_A, "prod/api", digest, "sig-1")
    set_image_status(DEST_A, "prod/api", archived, ARCHIVED)

    result = run_cli("verify", "--referrers", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert row(result, "prod/api", DEST_A)["missingReferrers"] == []


def test_referrers_split_across_pages_are_all_compared(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    digest = replicate("prod/api", "v1", "api-1", DEST_A)
    request = {
        "registryId": SOURCE.account,
        "repositoryName": "prod/api",
        "subjectId": {"imageDigest": digest},
        "filter": {"artifactStatus": "ANY"},
        "maxResults": 50,
    }

    def referrer(seed: str) -> dict[str, Any]:
        return {
            "digest": "sha256:" + seed * 64,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": SIGNATURE,
            "size": 500,
            "artifactStatus": "ACTIVE",
        }

    stubs.respond(
        SOURCE,
        "ecr",
        "list_image_referrers",
        {"referrers": [referrer("a")], "nextToken": "page-2"},
        request,
    )
    stubs.respond(
        SOURCE,
        "ecr",
        "list_image_referrers",
        {"referrers": [referrer("b")]},
        {**request, "nextToken": "page-2"},
    )

    result = run_cli("verify", "--referrers", "--config", str(config), "--json")

    missing = row(result, "prod/api", DEST_A)["missingReferrers"]
    assert [m["digest"] for m in missing] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    stubs.assert_all_used()


def test_referrers_that_cannot_be_listed_leave_the_registry_unchecked_not_the_tags(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    replicate("prod/api", "v1", "api-1", DEST_A)
    stubs.fail(DEST_A, "ecr", "list_image_referrers", "AccessDeniedException")

    result = run_cli("verify", "--referrers", "--config", str(config), "--json")

    assert result.code == 3
    assert row(result, "prod/api", DEST_A)["status"] == "ok"
    assert result.json["unchecked"] == [
        {
            "registry": DEST_A.key,
            "check": "list referrers",
            "reason": "repository prod/api: access denied (AccessDeniedException calling "
            "ListImageReferrers)",
        }
    ]
