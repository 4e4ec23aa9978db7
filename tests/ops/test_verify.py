"""``ecr-replication verify``: every source tag in every destination with the same digest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_replication.ops import aws

from .opshelp import DEST_A, DEST_B, SOURCE, ClientStubs, CliResult, ecr_client, push

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]


def rows(result: CliResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["repository"], r["destination"]): r for r in result.json["results"]}


def replicate(repository: str, tag: str, seed: str, *destinations: Any) -> str:
    """Push to the source and, as ECR would, the same image to each destination."""
    digest = push(SOURCE, repository, tag, seed)
    for destination in destinations:
        push(destination, repository, tag, seed)
    return digest


def test_verify_passes_when_every_tag_is_everywhere_with_the_same_digest(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)
    replicate("prod/api", "latest", "api-1", DEST_A, DEST_B)
    replicate("prod/web", "v1", "web-1", DEST_A, DEST_B)
    push(SOURCE, "dev/tool", "v1", "not-replicated")  # no rule matches: not checked

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert result.json["schema"] == "ecr-replication/verify/v1"
    assert set(rows(result)) == {
        ("prod/api", DEST_A.key),
        ("prod/api", DEST_B.key),
        ("prod/web", DEST_A.key),
        ("prod/web", DEST_B.key),
    }
    assert {r["status"] for r in result.json["results"]} == {"ok"}
    assert rows(result)[("prod/api", DEST_A.key)]["sourceTags"] == 2


def test_verify_lists_each_repository_once_per_registry_and_makes_no_per_image_calls(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    for index in range(3):
        replicate("prod/api", f"v{index}", f"api-{index}", DEST_A, DEST_B)
    replicate("prod/web", "v1", "web-1", DEST_A, DEST_B)

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 0
    assert stubs.count("DescribeRepositories") == 1
    assert stubs.count("DescribeImages", account=SOURCE.account) == 2
    assert stubs.count("DescribeImages", account=DEST_A.account) == 2
    assert stubs.count("DescribeImages", account=DEST_B.account) == 2
    assert stubs.count("DescribeImageReplicationStatus") == 0
    assert stubs.count("BatchGetImage") == 0


def test_missing_repositories_missing_tags_and_digest_mismatches_are_problems(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    v1 = replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)
    v2 = push(SOURCE, "prod/api", "v2", "api-2")
    push(DEST_B, "prod/api", "v2", "api-2")  # only DEST_B got v2
    latest = push(SOURCE, "prod/api", "latest", "api-3")
    stale = push(DEST_A, "prod/api", "latest", "api-old")
    push(DEST_B, "prod/api", "latest", "api-3")
    push(SOURCE, "prod/web", "v1", "web-1")  # never replicated anywhere
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_image_replication_status",
        {
            "repositoryName": "prod/api",
            "imageId": {"imageDigest": v2},
            "replicationStatuses": [
                {
                    "region": DEST_A.region,
                    "registryId": DEST_A.account,
                    "status": "FAILED",
                    "failureCode": "IMAGE_TAG_IMMUTABLE",
                },
                {"region": DEST_B.region, "registryId": DEST_B.account, "status": "COMPLETE"},
            ],
        },
        {
            "registryId": SOURCE.account,
            "repositoryName": "prod/api",
            "imageId": {"imageDigest": v2},
        },
    )
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_image_replication_status",
        {
            "repositoryName": "prod/api",
            "imageId": {"imageDigest": latest},
            "replicationStatuses": [
                {"region": DEST_A.region, "registryId": DEST_A.account, "status": "IN_PROGRESS"}
            ],
        },
    )

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 1
    assert result.json["problems"] == 3
    api_a = rows(result)[("prod/api", DEST_A.key)]
    assert api_a["status"] == "problem"
    assert api_a["missingTags"] == [
        {
            "tag": "v2",
            "digest": v2,
            "replicationStatus": {
                "status": "FAILED",
                "failureCode": "IMAGE_TAG_IMMUTABLE",
                "error": None,
            },
            "sourceStatus": "ACTIVE",
        }
    ]
    assert api_a["digestMismatches"] == [
        {
            "tag": "latest",
            "sourceDigest": latest,
            "destinationDigest": stale,
            "replicationStatus": {"status": "IN_PROGRESS", "failureCode": None, "error": None},
            "sourceStatus": "ACTIVE",
            "destinationStatus": "ACTIVE",
        }
    ]
    assert rows(result)[("prod/api", DEST_B.key)]["status"] == "ok"
    web_a = rows(result)[("prod/web", DEST_A.key)]
    assert web_a["missingRepository"] is True and web_a["status"] == "problem"
    assert v1 not in str(api_a)  # the tag that replicated is not reported
    stubs.assert_all_used()


def test_a_failing_replication_status_call_does_not_change_the_verdict(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    push(SOURCE, "prod/api", "v1", "api-1")
    push(DEST_A, "prod/api", "v1", "other")
    stubs.fail(SOURCE, "ecr", "describe_image_replication_status", "AccessDeniedException")

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 1
    assert result.json["unchecked"] == []
    mismatch = rows(result)[("prod/api", DEST_A.key)]["digestMismatches"][0]
    assert mismatch["replicationStatus"] == {
        "status": None,
        "failureCode": None,
        "error": "access denied (AccessDeniedException calling DescribeImageReplicationStatus)",
    }


def test_verify_human_output_names_what_is_missing(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    replicate("prod/api", "v1", "api-1", DEST_A)
    push(SOURCE, "prod/api", "v2", "api-2")
    push(SOURCE, "prod/web", "v1", "web-1")
    stubs.fail(SOURCE, "ecr", "describe_image_replication_status", "ThrottlingException")

    result = run_cli("verify", "--config", str(config))

    assert result.code == 1
    assert "Verify: is every source tag in every destination with the same digest?" in result.out
    assert "missing tag v2 (sha256:" in result.out
    assert "repository missing in the destination (1 tag to replicate)" in result.out
    assert "2 problems found." in result.out


def test_the_repository_option_narrows_the_check_to_one_repository(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)
    push(SOURCE, "prod/web", "v1", "web-1")  # broken, but not asked about

    result = run_cli("verify", "--config", str(config), "--json", "--repository", "prod/api")

    assert result.code == 0
    assert result.json["repositoryFilter"] == "prod/api"
    assert {r["repository"] for r in result.json["results"]} == {"prod/api"}
    assert stubs.count("DescribeRepositories") == 0


def test_a_repository_outside_the_rules_or_absent_is_a_usage_error(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config()

    outside = run_cli("verify", "--config", str(config), "--repository", "dev/tool")
    absent = run_cli("verify", "--config", str(config), "--repository", "prod/nothing")

    assert outside.code == 2
    assert outside.err == (
        "ecr-replication verify: --repository: 'dev/tool' matches no replication rule of the "
        "topology\n"
    )
    assert absent.code == 2
    assert "'prod/nothing' is not in any source registry whose rules match it" in absent.err


def test_an_untagged_source_repository_passes_without_listing_its_destinations(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    ecr_client(SOURCE).create_repository(repositoryName="prod/empty")

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 0
    assert {r["status"] for r in result.json["results"]} == {"ok"}
    assert stubs.count("DescribeImages", account=DEST_A.account) == 0


def test_images_split_across_pages_are_all_compared(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    v1 = replicate("prod/api", "v1", "api-1", DEST_A)
    v2 = replicate("prod/api", "v2", "api-2", DEST_A)
    listing = {
        "registryId": SOURCE.account,
        "repositoryName": "prod/api",
        "filter": {"imageStatus": "ANY"},
        "maxResults": 1000,
    }
    image = {"registryId": SOURCE.account, "repositoryName": "prod/api"}
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_images",
        {"imageDetails": [{**image, "imageDigest": v1, "imageTags": ["v1"]}], "nextToken": "p2"},
        listing,
    )
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_images",
        {"imageDetails": [{**image, "imageDigest": v2, "imageTags": ["v2", "extra"]}]},
        {**listing, "nextToken": "p2"},
    )

    result = run_cli("verify", "--config", str(config), "--json")

    row = rows(result)[("prod/api", DEST_A.key)]
    assert row["sourceTags"] == 3
    assert [m["tag"] for m in row["missingTags"]] == ["extra"]  # only on page two
    stubs.assert_all_used()


def test_access_denied_on_one_destination_leaves_it_unchecked_while_others_are_checked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)
    stubs.fail(DEST_A, "ecr", "describe_images", "AccessDeniedException")

    result = run_cli("verify", "--config", str(config))

    assert result.code == 3
    assert (
        "Could not check 111111111111/eu-west-1: list images (prod/api): access denied"
        in result.out
    )
    assert "problem" not in result.out


def test_an_unchecked_destination_alongside_a_problem_exits_1_and_is_still_named(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    push(SOURCE, "prod/api", "v1", "api-1")  # missing in DEST_B: a problem
    stubs.fail(DEST_A, "ecr", "describe_images", "ExpiredTokenException")

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 1
    assert result.json["unchecked"] == [
        {
            "registry": DEST_A.key,
            "check": "list images",
            "reason": "repository prod/api: expired credentials (ExpiredTokenException calling "
            "DescribeImages); refresh them and run again",
        }
    ]
    assert rows(result)[("prod/api", DEST_B.key)]["missingRepository"] is True


def test_a_throttled_source_listing_leaves_the_source_unchecked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stubs.fail(SOURCE, "ecr", "describe_repositories", "ThrottlingException")

    result = run_cli("verify", "--config", str(config), "--json")

    assert result.code == 3
    assert result.json["results"] == []
    assert result.json["unchecked"] == [
        {
            "registry": SOURCE.key,
            "check": "list repositories",
            "reason": "throttled past retries (ThrottlingException calling DescribeRepositories)",
        }
    ]


def test_destinations_are_read_with_the_destination_roles_and_sources_as_the_caller(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    replicate("prod/api", "v1", "api-1", DEST_A, DEST_B)

    run_cli("verify", "--config", str(config), "--json")

    ecr_identities = {(k.region, k.identity) for k in stubs.created if k.service == "ecr"}
    assert ecr_identities == {
        ("us-east-1", aws.CALLER),
        ("eu-west-1", "arn:aws:iam::111111111111:role/ecr-replication-destination-eu-west-1"),
        ("us-east-1", "arn:aws:iam::222222222222:role/ecr-replication-destination-us-east-1"),
    }


def test_listings_are_taken_one_registry_at_a_time() -> None:
    """Each registry's first listing (the one that assumes its role) comes before any second."""
    from ecr_replication.ops.verify import round_robin

    keys = [(DEST_A, "a"), (DEST_A, "b"), (DEST_A, "c"), (DEST_B, "a"), (SOURCE, "x")]

    assert round_robin(keys) == [
        (DEST_A, "a"),
        (DEST_B, "a"),
        (SOURCE, "x"),
        (DEST_A, "b"),
        (DEST_A, "c"),
    ]
    assert round_robin([]) == []
