"""``ecr-replication import``: the topology of what is live, which a deploy then keeps whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_replication.model import Registry, parse_topology
from ecr_replication.naming import destination_role_name

from .opshelp import (
    DEST_A,
    DEST_B,
    SOURCE,
    TEMPLATES_PARAMS,
    ClientStubs,
    CliResult,
    ecr_client,
    stub_stack,
    template_response,
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


def stub_templates(stubs: ClientStubs, registry: Registry, *prefixes: str, **options: Any) -> None:
    """The registry's repository creation templates, for one read of them."""
    stubs.respond(
        registry,
        "ecr",
        "describe_repository_creation_templates",
        template_response(*prefixes, **options),
        TEMPLATES_PARAMS,
    )


def replicate_everything(source: Registry, destination: Registry) -> None:
    ecr_client(source).put_replication_configuration(
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [
                        {"region": destination.region, "registryId": destination.account}
                    ]
                }
            ]
        }
    )


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
        "appliedFor": ["REPLICATION"],
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


def test_an_unreadable_policy_is_named_exit_3_and_every_part_read_is_still_written(
    run_cli: Run, stubs: ClientStubs
) -> None:
    live_set_up(stubs)
    stubs.pending.pop(("ecr", DEST_B.region, DEST_B.account))
    stubs.fail(DEST_B, "ecr", "get_registry_policy", "AccessDeniedException")
    stub_templates(stubs, DEST_B, "prod", mutability="MUTABLE")

    result = run_cli("import", "--source", SOURCE.key)

    assert result.code == 3, result.err
    document: dict[str, Any] = json.loads(result.out)
    a, b = document["destinationRegistries"]
    assert a["additionalPolicyStatements"][0] == PULL_THROUGH_CACHE
    # The templates were read: written. The policy was not: nothing of it is written.
    assert b == {
        "account": DEST_B.account,
        "region": DEST_B.region,
        "repositoryTemplate": {
            "appliedFor": ["REPLICATION"],
            "tagMutability": "MUTABLE",
            "encryption": "AES256",
            "description": "",
        },
    }
    assert (
        f"ecr-replication import: could not read {DEST_B.key}: access denied "
        "(AccessDeniedException calling GetRegistryPolicy); a deploy replaces the whole registry "
        "policy, so what it would remove there is unknown"
    ) in result.err


def test_preflight_of_a_topology_whose_policy_was_not_read_says_what_is_unknown(
    run_cli: Run, stubs: ClientStubs, tmp_path: Path
) -> None:
    output = tmp_path / "topology.json"
    replicate_everything(SOURCE, DEST_A)
    stubs.fail(DEST_A, "ecr", "get_registry_policy", "AccessDeniedException")
    stub_templates(stubs, DEST_A)
    assert run_cli("import", "--source", SOURCE.key, "--output", str(output)).code == 3
    stubs.fail(DEST_A, "ecr", "get_registry_policy", "AccessDeniedException")  # the same world

    result = run_cli("preflight", "--config", str(output), "--json")

    assert result.code == 3
    (policy,) = [c for c in result.json["checks"] if c["check"] == "registry-policy"]
    assert (policy["status"], policy["details"]) == (
        "unchecked",
        [
            "a deploy replaces the whole registry policy: what it would remove here is unknown "
            "until the policy can be read"
        ],
    )


def test_a_destination_whose_templates_cannot_be_read_keeps_its_foreign_grant(
    run_cli: Run, stubs: ClientStubs, tmp_path: Path
) -> None:
    """The brownfield case: another team's replication grant in the policy, a template API
    that does not answer. The policy is written; the templates are left as they are."""
    live_set_up(stubs)
    stubs.pending.pop(("ecr", DEST_A.region, DEST_A.account))
    stub_policy_of_a(stubs)
    stubs.fail(DEST_A, "ecr", "describe_repository_creation_templates", "AccessDeniedException")
    output = tmp_path / "topology.json"

    result = run_cli("import", "--source", SOURCE.key, "--output", str(output), "--json")

    assert result.code == 3, result.err
    a, _b = json.loads(output.read_text())["destinationRegistries"]
    assert a["additionalPolicyStatements"] == [PULL_THROUGH_CACHE, {**OTHER_SOURCE, "Sid": "Kept2"}]
    assert a["repositoryTemplate"] == {"enabled": False}
    assert result.json["unchecked"] == [
        {
            "registry": DEST_A.key,
            "check": "repository-templates",
            "reason": "access denied (AccessDeniedException calling "
            "DescribeRepositoryCreationTemplates); its repository creation templates are "
            "written as repositoryTemplate.enabled false, so a deploy leaves them as they are",
        }
    ]
    assert f"could not read {DEST_A.key}: access denied" in result.err

    stub_policy_of_a(stubs)
    preflight = run_cli("preflight", "--config", str(output), "--json")
    checks = {(c["registry"], c["check"]): c for c in preflight.json["checks"]}
    assert checks[(DEST_A.key, "registry-policy")]["status"] == "ok"
    assert (DEST_A.key, "repository-templates") not in checks, "a deploy leaves them alone"


def test_an_endpoint_without_the_template_api_is_named_not_a_traceback(
    run_cli: Run, stubs: ClientStubs
) -> None:
    live_set_up(stubs)
    stubs.pending.pop(("ecr", DEST_B.region, DEST_B.account))
    stubs.not_offered(DEST_B, "ecr", "describe_repository_creation_templates")

    result = run_cli("import", "--source", SOURCE.key, "--json")

    assert result.code == 3
    (unread,) = result.json["unchecked"]
    assert (unread["registry"], unread["check"]) == (DEST_B.key, "repository-templates")
    assert unread["reason"].startswith(
        "API not offered by this endpoint (HTTP 500 calling DescribeRepositoryCreationTemplates)"
    )


def test_a_destination_that_refuses_the_credentials_is_still_written_to_leave_its_templates(
    run_cli: Run, stubs: ClientStubs
) -> None:
    live_set_up(stubs)
    stubs.pending.pop(("ecr", DEST_B.region, DEST_B.account))

    result = run_cli("import", "--source", SOURCE.key, "--no-assume-role", "--json")

    assert result.code == 3
    document = result.json
    # DEST_A and DEST_B are in other accounts: the caller's credentials read neither.
    assert [d["repositoryTemplate"] for d in document["topology"]["destinationRegistries"]] == [
        {"enabled": False},
        {"enabled": False},
    ]
    assert [(u["registry"], u["check"]) for u in document["unchecked"]] == [
        (DEST_A.key, "registry-policy"),
        (DEST_A.key, "repository-templates"),
        (DEST_B.key, "registry-policy"),
        (DEST_B.key, "repository-templates"),
    ]
    stubs.pending.clear()  # the stubs of DEST_A were never reached


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


def test_from_the_operations_account_it_reads_through_the_roles_and_writes_operations(
    run_cli: Run, stubs: ClientStubs
) -> None:
    operated = Registry(account="333333333333", region="us-east-1")
    replicate_everything(operated, DEST_A)
    stub_templates(stubs, DEST_A)

    result = run_cli(
        "import", "--source", operated.key, "--operations-account", SOURCE.account, "--json"
    )

    assert result.code == 0, result.err
    topology = result.json["topology"]
    assert topology["operations"] == {"account": SOURCE.account}
    assert parse_topology(topology).operations is not None
    assert {key.identity for key in stubs.created if key.service == "ecr"} == {
        f"arn:aws:iam::{operated.account}:role/ecr-replication-source-us-east-1",
        f"arn:aws:iam::{DEST_A.account}:role/ecr-replication-destination-{DEST_A.region}",
    }
    assert any("allowBackfill" in note for note in result.json["notes"])


def test_an_operations_account_that_is_not_an_account_id_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("import", "--source", SOURCE.key, "--operations-account", "12345", "--json")
    assert result.code == 2
    assert result.json["error"] == (
        "argument --operations-account: '12345' is not a 12-digit AWS account id (give it as a "
        "string, e.g. '123456789012')"
    )


def test_the_json_report_holds_the_topology_and_what_could_not_be_read_or_carried(
    run_cli: Run, stubs: ClientStubs, tmp_path: Path
) -> None:
    live_set_up(stubs)
    output = tmp_path / "topology.json"

    result = run_cli("import", "--source", SOURCE.key, "--output", str(output), "--json")

    document = result.json  # stdout is the document alone; the human lines are on stderr
    assert document["schema"] == "ecr-replication/import/v1"
    assert (document["command"], document["exitCode"], document["problems"]) == ("import", 0, 0)
    assert document["unchecked"] == [] and document["cannotCarry"] == []
    assert document["topology"] == json.loads(output.read_text())
    assert document["output"] == str(output)
    assert (
        f"{DEST_A.key}: templates legacy are for other prefixes; a deploy leaves them"
        in (document["notes"])
    )
    assert "note: " in result.err


def test_a_destination_without_a_policy_says_replication_may_create_repositories(
    run_cli: Run, stubs: ClientStubs
) -> None:
    """Written, not left to the default: import after the deploy writes the same topology."""
    replicate_everything(SOURCE, DEST_A)
    stub_templates(stubs, DEST_A)

    result = run_cli("import", "--source", SOURCE.key, "--json")

    (destination,) = result.json["topology"]["destinationRegistries"]
    assert destination["allowCreateRepository"] is True


def stub_stack_resources(stubs: ClientStubs, registry: Registry, *types: str) -> None:
    """The registry's destination stack, holding resources of these types (the destination
    role among them, by its name)."""
    role = destination_role_name(registry.region)
    stub_stack(
        stubs,
        registry,
        (),
        others=tuple(
            (kind, role if kind == "AWS::IAM::Role" else f"id-{index}")
            for index, kind in enumerate(types)
        ),
    )


LOCAL_ALERTS = (
    "AWS::ECR::RegistryPolicy",
    "AWS::IAM::Role",
    "AWS::Events::Rule",
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::CloudWatch::Alarm",
)


def test_alerts_a_destination_stack_holds_are_read_back_and_what_is_not_read_is_named(
    run_cli: Run, stubs: ClientStubs
) -> None:
    replicate_everything(SOURCE, DEST_A)
    stub_templates(stubs, DEST_A)
    stub_stack_resources(stubs, DEST_A, *LOCAL_ALERTS, "AWS::SNS::Subscription")

    result = run_cli("import", "--source", SOURCE.key, "--json")

    assert result.code == 0, result.err
    assert result.json["topology"]["monitoring"] == {}
    notes = result.json["notes"]
    [alerts] = [n for n in notes if n.startswith("monitoring:")]
    assert "their 1 e-mail subscription(s) are not" in alerts
    assert "deploying this file as it is would remove them" in alerts
    [role] = [n for n in notes if n.startswith("destinationDefaults.role:")]
    assert DEST_A.key in role and "deploying this file as it is would" in role
    [backfill] = [n for n in notes if n.startswith("sources[].backfillExistingImages")]
    assert "deploying this file as it is would remove it" in backfill
    assert "note: monitoring: the alerts of" in result.err
    stubs.assert_all_used()


def test_without_a_destination_stack_nothing_of_monitoring_or_the_role_is_claimed(
    run_cli: Run, stubs: ClientStubs
) -> None:
    replicate_everything(SOURCE, DEST_A)
    stub_templates(stubs, DEST_A)
    stub_stack(stubs, DEST_A, None)

    result = run_cli("import", "--source", SOURCE.key, "--json")

    assert "monitoring" not in result.json["topology"]
    assert not any(
        n.startswith(("monitoring:", "destinationDefaults")) for n in result.json["notes"]
    )


def test_a_destination_stack_that_cannot_be_read_is_named_with_what_a_deploy_may_remove(
    run_cli: Run, stubs: ClientStubs
) -> None:
    replicate_everything(SOURCE, DEST_A)
    stub_templates(stubs, DEST_A)
    stubs.fail(DEST_A, "cloudformation", "describe_stack_resources", "AccessDenied")

    result = run_cli("import", "--source", SOURCE.key, "--json")

    [note] = [n for n in result.json["notes"] if "destination stack could not be read" in n]
    assert note.startswith(f"{DEST_A.key}: its destination stack could not be read (access denied")
    assert "deploying this file as it is would remove the alerts" in note
