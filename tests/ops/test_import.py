"""``ecr-replication import``: the topology of what is live, which a deploy then keeps whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_replication.model import parse_topology

from .opshelp import (
    DEST_A,
    DEST_B,
    SOURCE,
    TEMPLATES_PARAMS,
    ClientStubs,
    CliResult,
    ecr_client,
    stub_stack,
)

Run = Callable[..., CliResult]
ARN_A = f"arn:aws:ecr:{DEST_A.region}:{DEST_A.account}:repository"
ARN_B = f"arn:aws:ecr:{DEST_B.region}:{DEST_B.account}:repository"
OUTSIDE_SOURCE = "666555444333"

PULL_THROUGH_CACHE = {
    "Sid": "PullThroughCache",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{DEST_A.account}:root"},
    "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
    "Resource": f"{ARN_A}/docker-hub/*",
}
OTHER_SOURCE = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OUTSIDE_SOURCE}:root"},
    "Action": "ecr:ReplicateImage",
    "Resource": f"{ARN_A}/team-b/*",
}
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "keep 500 images",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": 500,
            },
            "action": {"type": "expire"},
        }
    ]
}


def stub_policy_of_a(stubs: ClientStubs) -> None:
    """DEST_A's policy: a grant for this source, a pull-through-cache statement, a grant for a
    source managed elsewhere (a stub: moto does not know ecr:BatchImportUpstreamImage)."""
    statements = [
        {
            "Sid": "FromBuild",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SOURCE.account}:root"},
            "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
            "Resource": f"{ARN_A}/prod/*",
        },
        PULL_THROUGH_CACHE,
        OTHER_SOURCE,
    ]
    stubs.respond(
        DEST_A,
        "ecr",
        "get_registry_policy",
        {
            "registryId": DEST_A.account,
            "policyText": json.dumps({"Version": "2012-10-17", "Statement": statements}),
        },
        {},
    )


def live_set_up(stubs: ClientStubs) -> None:
    """Replication set up by hand: the source's one rule, two destination policies (one with a
    pull-through-cache statement and a grant for a source managed elsewhere), a template."""
    ecr_client(SOURCE).put_replication_configuration(
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [
                        {"region": DEST_A.region, "registryId": DEST_A.account},
                        {"region": DEST_B.region, "registryId": DEST_B.account},
                    ],
                    "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}],
                }
            ]
        }
    )
    stub_policy_of_a(stubs)
    source_root = f"arn:aws:iam::{SOURCE.account}:root"
    ecr_client(DEST_B).put_registry_policy(
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": source_root},
                        "Action": "ecr:ReplicateImage",
                        "Resource": f"{ARN_B}/*",
                    }
                ],
            }
        )
    )
    stubs.respond(
        DEST_A,
        "ecr",
        "describe_repository_creation_templates",
        {
            "repositoryCreationTemplates": [
                {
                    "prefix": "prod",
                    "appliedFor": ["REPLICATION"],
                    "imageTagMutability": "IMMUTABLE",
                    "encryptionConfiguration": {"encryptionType": "AES256"},
                    "lifecyclePolicy": json.dumps(LIFECYCLE),
                    "resourceTags": [{"Key": "team", "Value": "platform"}],
                    "description": "made by hand",
                },
                {"prefix": "legacy", "appliedFor": ["CREATE_ON_PUSH"]},
            ]
        },
        TEMPLATES_PARAMS,
    )
    stubs.respond(
        DEST_B,
        "ecr",
        "describe_repository_creation_templates",
        {"repositoryCreationTemplates": []},
        TEMPLATES_PARAMS,
    )


def test_import_writes_the_topology_of_what_is_live(
    run_cli: Run, stubs: ClientStubs, tmp_path: Path
) -> None:
    live_set_up(stubs)
    output = tmp_path / "topology.json"

    result = run_cli("import", "--source", SOURCE.key, "--output", str(output))

    assert result.code == 0, result.err
    document = json.loads(output.read_text())
    parse_topology(document)  # what the app and --config accept
    assert document["sources"] == [
        {
            "account": SOURCE.account,
            "region": SOURCE.region,
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [
                        {"account": DEST_A.account, "region": DEST_A.region},
                        {"account": DEST_B.account, "region": DEST_B.region},
                    ],
                }
            ],
        }
    ]
    a, b = document["destinationRegistries"]
    # The grant for this source is generated again: not kept twice. The others are kept.
    assert a["allowCreateRepository"] is True
    assert a["additionalPolicyStatements"] == [PULL_THROUGH_CACHE, {**OTHER_SOURCE, "Sid": "Kept2"}]
    assert a["repositoryTemplate"] == {
        "tagMutability": "IMMUTABLE",
        "encryption": "AES256",
        "lifecyclePolicy": LIFECYCLE,
        "resourceTags": {"team": "platform"},
        "description": "made by hand",
    }
    # A wider grant than the generated one is kept, and CreateRepository was not granted.
    assert b["allowCreateRepository"] is False
    assert [s["Resource"] for s in b["additionalPolicyStatements"]] == [f"{ARN_B}/*"]
    assert b["repositoryTemplate"] == {"enabled": False}
    assert "templates legacy are for other prefixes; a deploy leaves them" in result.err


def test_preflight_of_the_imported_topology_reports_nothing_a_deploy_would_remove(
    run_cli: Run, stubs: ClientStubs, tmp_path: Path
) -> None:
    live_set_up(stubs)
    output = tmp_path / "topology.json"
    assert run_cli("import", "--source", SOURCE.key, "--output", str(output)).code == 0
    stub_policy_of_a(stubs)
    stubs.respond(
        DEST_A,
        "ecr",
        "describe_repository_creation_templates",
        {
            "repositoryCreationTemplates": [
                {"prefix": "prod", "appliedFor": ["REPLICATION"], "imageTagMutability": "IMMUTABLE"}
            ]
        },
        TEMPLATES_PARAMS,
    )
    stub_stack(stubs, DEST_A, None)  # the template was made by hand: no stack owns it yet

    result = run_cli("preflight", "--config", str(output), "--json")

    checks = {(c["registry"], c["check"]): c for c in result.json["checks"]}
    lines = [line for c in checks.values() for line in c["details"]]
    assert not [line for line in lines if "a deploy removes" in line or "stops" in line], lines
    assert checks[(SOURCE.key, "replication-configuration")]["status"] == "ok"
    assert checks[(DEST_A.key, "registry-policy")]["status"] == "ok"
    assert checks[(DEST_B.key, "registry-policy")]["status"] == "ok"
    # What the adoption still needs is said: the hand-made template blocks the deploy.
    assert checks[(DEST_A.key, "repository-templates")]["details"] == [
        f"template 'prod' exists outside EcrReplicationDestination-{DEST_A.account}-"
        f"{DEST_A.region}: the deploy fails (template already exists)"
    ]


def test_an_unreadable_destination_is_named_exit_3_and_the_rest_is_still_written(
    run_cli: Run, stubs: ClientStubs, tmp_path: Path
) -> None:
    live_set_up(stubs)
    stubs.pending.pop(("ecr", DEST_B.region, DEST_B.account))
    stubs.fail(DEST_B, "ecr", "get_registry_policy", "AccessDeniedException")

    result = run_cli("import", "--source", SOURCE.key)

    assert result.code == 3
    document: dict[str, Any] = json.loads(result.out)
    assert [d["account"] for d in document["destinationRegistries"]] == [DEST_A.account]
    assert (
        f"ecr-replication import: could not read {DEST_B.key}: access denied "
        "(AccessDeniedException calling GetRegistryPolicy)"
    ) in result.err


def test_a_source_that_cannot_be_read_writes_nothing_and_exits_3(
    run_cli: Run, stubs: ClientStubs
) -> None:
    stubs.fail(SOURCE, "ecr", "describe_registry", "AccessDeniedException")
    result = run_cli("import", "--source", SOURCE.key)
    assert (result.code, result.out) == (3, "")
    assert "nothing to write: no source could be read" in result.err


def test_a_template_the_topology_cannot_carry_is_a_problem(
    run_cli: Run, stubs: ClientStubs
) -> None:
    live_set_up(stubs)
    stubs.pending.pop(("ecr", DEST_A.region, DEST_A.account))
    stub_policy_of_a(stubs)
    stubs.respond(
        DEST_A,
        "ecr",
        "describe_repository_creation_templates",
        {
            "repositoryCreationTemplates": [
                {
                    "prefix": "prod",
                    "appliedFor": ["REPLICATION"],
                    "repositoryPolicy": json.dumps(
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                    "Action": "ecr:PutImage",
                                }
                            ]
                        }
                    ),
                }
            ]
        },
        TEMPLATES_PARAMS,
    )
    result = run_cli("import", "--source", SOURCE.key)
    assert result.code == 1
    assert (
        "cannot carry: 111111111111/eu-west-1: template 'prod': its repository policy" in result.err
    )


def test_a_malformed_source_argument_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("import", "--source", "prod-account")
    assert result.code == 2
    assert "'prod-account' is not ACCOUNT/REGION" in result.err
