"""``preflight`` and ``import`` with what ECR accepts since 2026: rules that replicate
deletions (``deleteReplication`` in ``DescribeRegistry``), more than 25 unique destinations
(a note), registry policies that need scope V2 (``GetAccountSetting``), templates applied
on push."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_replication.model import Registry, ReplicationTopology, parse_topology
from ecr_replication.ops import aws, preflight

from .opshelp import (
    DEST_A,
    DEST_B,
    SOURCE,
    TEMPLATES_PARAMS,
    ClientStubs,
    CliResult,
    deploy_replication,
    ecr_client,
    set_account_setting,
    stub_stack,
    topology_document,
)

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]
ARN_A = f"arn:aws:ecr:{DEST_A.region}:{DEST_A.account}:repository"
WORKLOAD_PULLS = {
    "Sid": "WorkloadPulls",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    "Resource": f"{ARN_A}/prod/*",
}


def checks(result: CliResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["registry"], c["check"]): c for c in result.json["checks"]}


def configure_source(*rules: dict[str, Any]) -> None:
    """The source's live replication configuration (moto keeps it as the API gives it)."""
    ecr_client(SOURCE).put_replication_configuration(
        replicationConfiguration={"rules": list(rules)}
    )


def live_rule(*destinations: Registry, deletions: bool | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "destinations": [{"region": d.region, "registryId": d.account} for d in destinations],
        "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}],
    }
    if deletions is not None:
        rule["deleteReplication"] = {"enabled": deletions}
    return rule


def templates(stubs: ClientStubs, *registries: Registry, applied_for: list[str]) -> None:
    for registry in registries:
        stubs.respond(
            registry,
            "ecr",
            "describe_repository_creation_templates",
            {
                "repositoryCreationTemplates": [
                    {"prefix": "prod", "appliedFor": applied_for, "imageTagMutability": "IMMUTABLE"}
                ]
            },
            TEMPLATES_PARAMS,
        )
        stub_stack(stubs, registry, ("prod",))


def deploy(config: Path) -> None:
    deploy_replication(parse_topology(json.loads(config.read_text())["context"]["ecrReplication"]))


def deletions_topology(write_config: WriteConfig) -> Path:
    document = topology_document()
    document["sources"][0]["rules"][0]["replicateDeletions"] = True
    return write_config(document)


# ---------------------------------------------------------------------------------------------
# Delete replication


def test_preflight_reads_delete_replication_from_describe_registry(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = deletions_topology(write_config)
    deploy(config)
    configure_source(live_rule(DEST_A, DEST_B, deletions=True))
    templates(stubs, DEST_A, DEST_B, applied_for=["REPLICATION"])

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert checks(result)[(SOURCE.key, "replication-configuration")]["status"] == "ok"


def test_a_deployed_rule_that_does_not_replicate_deletions_is_missing_the_topologys_rule(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = deletions_topology(write_config)
    configure_source(live_rule(DEST_A, DEST_B, deletions=False))
    templates(stubs, DEST_A, DEST_B, applied_for=["REPLICATION"])

    result = run_cli("preflight", "--config", str(config), "--json")

    found = checks(result)[(SOURCE.key, "replication-configuration")]
    assert found["status"] == "problem"
    assert found["details"] == [
        f"- missing: prod/ -> {DEST_A.key}, {DEST_B.key}, deletions too",
    ]


def test_a_deploy_that_stops_replicating_deletions_is_a_problem(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()  # replicateDeletions is not set
    configure_source(live_rule(DEST_A, DEST_B, deletions=True))
    templates(stubs, DEST_A, DEST_B, applied_for=["REPLICATION"])

    result = run_cli("preflight", "--config", str(config), "--json")

    found = checks(result)[(SOURCE.key, "replication-configuration")]
    assert found["status"] == "problem"
    assert (
        f"a deploy stops replicating deletions of prod/ to {DEST_A.key} (replicateDeletions)"
        in (found["details"])
    )


def test_import_carries_delete_replication_on_its_rule_only(
    run_cli: Run, stubs: ClientStubs
) -> None:
    second = {
        "destinations": [{"region": DEST_B.region, "registryId": DEST_B.account}],
        "repositoryFilters": [{"filter": "team-b/", "filterType": "PREFIX_MATCH"}],
        "deleteReplication": {"enabled": False},
    }
    # moto keeps one rule only: DescribeRegistry answers the configuration as ECR would.
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_registry",
        {
            "registryId": SOURCE.account,
            "replicationConfiguration": {"rules": [live_rule(DEST_A, deletions=True), second]},
        },
    )
    for destination in (DEST_A, DEST_B):  # neither has a template
        stubs.respond(
            destination,
            "ecr",
            "describe_repository_creation_templates",
            {"repositoryCreationTemplates": []},
            TEMPLATES_PARAMS,
        )

    result = run_cli("import", "--source", SOURCE.key, "--json")

    rules = result.json["topology"]["sources"][0]["rules"]
    assert rules[0]["replicateDeletions"] is True
    assert "replicateDeletions" not in rules[1]  # enabled: false reads as the default
    topology = parse_topology(result.json["topology"])
    assert [r.replicate_deletions for r in topology.sources[0].rules] == [True, False]


# ---------------------------------------------------------------------------------------------
# More than 25 unique destinations


def many_destinations(count: int) -> ReplicationTopology:
    return ReplicationTopology(
        sources=[
            parse_topology(
                topology_document(
                    destinations=tuple(
                        Registry(account=f"10000000{i:04d}", region="eu-west-1")
                        for i in range(count)
                    )
                )
            ).sources[0]
        ]
    )


def test_preflight_notes_more_than_25_unique_destinations(stubs: ClientStubs) -> None:
    topology = many_destinations(26)
    deploy_replication(topology)
    access = aws.RegistryAccess(topology)

    verdict = preflight.check_replication_configuration(access, topology.sources[0])

    assert verdict.status == "ok"
    (note,) = verdict.details
    assert note.startswith(
        "note: the rules replicate to 26 unique destinations; a cap of 25 per registry was "
        "confirmed in 2023 and is on no current AWS page"
    )
    quiet = many_destinations(25).sources[0]  # not the deployed rules: only the note matters
    details = preflight.check_replication_configuration(access, quiet).details
    assert not any(line.startswith("note:") for line in details), details


def test_import_notes_more_than_25_unique_destinations(run_cli: Run, stubs: ClientStubs) -> None:
    destinations = [{"region": "eu-west-1", "registryId": f"10000000{i:04d}"} for i in range(26)]
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_registry",
        {
            "registryId": SOURCE.account,
            "replicationConfiguration": {"rules": [{"destinations": destinations}]},
        },
    )
    for destination in destinations:  # no template anywhere
        stubs.respond(
            Registry(account=destination["registryId"], region=destination["region"]),
            "ecr",
            "describe_repository_creation_templates",
            {"repositoryCreationTemplates": []},
            TEMPLATES_PARAMS,
        )
    result = run_cli("import", "--source", SOURCE.key, "--json")

    assert len(result.json["topology"]["sources"][0]["rules"][0]["destinations"]) == 26
    assert any(
        n.startswith(f"{SOURCE.key}: the rules replicate to 26 unique destinations")
        for n in result.json["notes"]
    ), result.json["notes"]


# ---------------------------------------------------------------------------------------------
# Registry policy scope


def scope_v2_topology(write_config: WriteConfig) -> Path:
    return write_config(
        topology_document(
            destinations=(DEST_A,),
            destinationRegistries=[
                {
                    "account": DEST_A.account,
                    "region": DEST_A.region,
                    "additionalPolicyStatements": [WORKLOAD_PULLS],
                    "repositoryTemplate": {"enabled": False},
                }
            ],
        )
    )


def test_a_registry_still_on_scope_v1_under_a_policy_that_needs_v2_is_named(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = scope_v2_topology(write_config)
    deploy(config)  # under scope V2, the registry policy is accepted
    set_account_setting(DEST_A.account, "REGISTRY_POLICY_SCOPE", "V1")  # then switched back

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    found = checks(result)[(DEST_A.key, "registry-policy-scope")]
    assert found["status"] == "problem"
    assert found["message"].startswith(
        "the registry is on registry policy scope V1, which refuses the actions of the policy a "
        "deploy writes (WorkloadPulls: ecr:BatchGetImage, ecr:GetDownloadUrlForLayer): the "
        "deploy fails here. Switch it to V2 first (aws ecr put-account-setting --name "
        "REGISTRY_POLICY_SCOPE --value V2 --region eu-west-1, in account 111111111111)"
    )
    assert checks(result)[(DEST_A.key, "registry-policy")]["status"] == "ok"
    assert stubs.count("GetAccountSetting", account=DEST_A.account) == 1


def test_a_registry_on_scope_v2_accepts_the_policy(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = scope_v2_topology(write_config)
    deploy(config)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert checks(result)[(DEST_A.key, "registry-policy-scope")]["status"] == "ok"


def test_the_scope_is_not_asked_when_the_policy_holds_only_v1_actions(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(
        topology_document(
            destinations=(DEST_A,),
            destinationDefaults={"repositoryTemplate": {"enabled": False}},
        )
    )
    deploy(config)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert (DEST_A.key, "registry-policy-scope") not in checks(result)
    assert stubs.count("GetAccountSetting") == 0


def test_a_scope_that_cannot_be_read_is_unchecked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = scope_v2_topology(write_config)
    deploy(config)
    stubs.fail(DEST_A, "ecr", "get_account_setting", "AccessDeniedException")

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 3
    found = checks(result)[(DEST_A.key, "registry-policy-scope")]
    assert found["status"] == "unchecked"
    assert found["message"] == "access denied (AccessDeniedException calling GetAccountSetting)"


def test_import_keeps_a_scope_v2_statement_verbatim(run_cli: Run, stubs: ClientStubs) -> None:
    configure_source(live_rule(DEST_A))
    stubs.respond(
        DEST_A,
        "ecr",
        "get_registry_policy",
        {
            "registryId": DEST_A.account,
            "policyText": json.dumps({"Version": "2012-10-17", "Statement": [WORKLOAD_PULLS]}),
        },
    )
    templates(stubs, DEST_A, applied_for=["REPLICATION", "CREATE_ON_PUSH"])
    stubs.pending.pop(("cloudformation", DEST_A.region, DEST_A.account))  # not asked by import

    result = run_cli("import", "--source", SOURCE.key, "--json")

    assert result.json["cannotCarry"] == []
    (destination,) = result.json["topology"]["destinationRegistries"]
    assert destination["additionalPolicyStatements"] == [WORKLOAD_PULLS]
    assert destination["repositoryTemplate"]["appliedFor"] == ["REPLICATION", "CREATE_ON_PUSH"]


# ---------------------------------------------------------------------------------------------
# Templates applied on push


def test_a_template_applied_for_other_than_the_topology_says_is_a_problem(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(
        topology_document(
            destinations=(DEST_A,),
            destinationDefaults={
                "repositoryTemplate": {"appliedFor": ["REPLICATION", "CREATE_ON_PUSH"]}
            },
        )
    )
    deploy(config)
    templates(stubs, DEST_A, applied_for=["REPLICATION"])

    result = run_cli("preflight", "--config", str(config), "--json")

    found = checks(result)[(DEST_A.key, "repository-templates")]
    assert found["status"] == "problem"
    assert found["details"] == [
        "template 'prod' is applied for REPLICATION; the topology wants REPLICATION, CREATE_ON_PUSH"
    ]
