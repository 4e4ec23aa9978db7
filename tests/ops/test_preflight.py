"""``ecr-replication preflight``: regions, replication configuration, grants, templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecr_replication.model import Registry
from ecr_replication.ops import aws

from .opshelp import (
    DEST_A,
    DEST_B,
    SOURCE,
    TEMPLATES_PARAMS,
    ClientStubs,
    CliResult,
    deploy_replication,
    ecr_client,
    stub_stack,
    template_response,
    topology_document,
    topology_of,
)

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]
ARN_A = "arn:aws:ecr:eu-west-1:111111111111:repository"


def deploy(path: Path) -> None:
    deploy_replication(topology_of(path))


def stub_templates(
    stubs: ClientStubs,
    *registries: Registry,
    prefixes: tuple[str, ...] = ("prod",),
    owned_by_stack: bool = True,
) -> None:
    """Live templates for ``prefixes`` in each registry, owned by its destination stack."""
    for registry in registries:
        stubs.respond(
            registry,
            "ecr",
            "describe_repository_creation_templates",
            template_response(*prefixes),
            TEMPLATES_PARAMS,
        )
        if prefixes:
            stub_stack(stubs, registry, prefixes if owned_by_stack else None)


def refuse_ec2_answer_account_api(
    stubs: ClientStubs, registry: Registry, status: str, *, any_region: bool = False
) -> None:
    """EC2 refuses ``DescribeRegions`` in the registry's account; the account API answers
    ``status`` for eu-west-1 (asked for eu-west-1, or for any region with ``any_region``)."""
    stubs.fail(registry, "ec2", "describe_regions", "UnauthorizedOperation", region="us-east-1")
    stubs.respond(
        registry,
        "account",
        "get_region_opt_status",
        {"RegionName": "eu-west-1", "RegionOptStatus": status},
        None if any_region else {"RegionName": "eu-west-1"},
        region="us-east-1",
    )


def checks(result: CliResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["registry"], c["check"]): c for c in result.json["checks"]}


def test_preflight_passes_when_everything_is_deployed(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    found = checks(result)
    assert {c["status"] for c in found.values()} == {"ok"}
    assert set(found) == {
        (SOURCE.key, "region-enabled"),
        (SOURCE.key, "replication-configuration"),
        (DEST_A.key, "region-enabled"),
        (DEST_A.key, "registry-policy"),
        (DEST_A.key, "repository-templates"),
        (DEST_B.key, "region-enabled"),
        (DEST_B.key, "registry-policy"),
        (DEST_B.key, "repository-templates"),
    }
    stubs.assert_all_used()


def test_preflight_reads_destinations_through_the_destination_role(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)

    run_cli("preflight", "--config", str(config), "--json")

    identities = {key.identity for key in stubs.created if key.service == "ecr"}
    assert identities == {
        aws.CALLER,
        "arn:aws:iam::111111111111:role/ecr-replication-destination-eu-west-1",
        "arn:aws:iam::222222222222:role/ecr-replication-destination-us-east-1",
    }


def test_preflight_human_output_is_a_table_with_a_verdict(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)

    result = run_cli("preflight", "--config", str(config))

    assert result.code == 0
    assert "Preflight: will replication work?" in result.out
    assert "registry-policy" in result.out and "111111111111/eu-west-1" in result.out
    assert "Replication will work: every check passed." in result.out
    assert result.err == ""


def test_an_undeployed_replication_configuration_is_a_problem_listing_the_missing_rule(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)
    ecr_client(SOURCE).put_replication_configuration(replicationConfiguration={"rules": []})

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    check = checks(result)[(SOURCE.key, "replication-configuration")]
    assert check["status"] == "problem"
    assert "no replication configuration is deployed" in check["message"]
    assert check["details"] == [
        "- missing: prod/ -> 111111111111/eu-west-1, 222222222222/us-east-1"
    ]


def test_a_drifted_replication_configuration_shows_the_difference(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)
    ecr_client(SOURCE).put_replication_configuration(
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [{"region": "eu-west-1", "registryId": DEST_A.account}],
                    "repositoryFilters": [{"filter": "dev/", "filterType": "PREFIX_MATCH"}],
                }
            ]
        }
    )

    result = run_cli("preflight", "--config", str(config))

    assert result.code == 1
    assert "a deploy replaces the live replication configuration" in result.out
    assert "- missing: prod/ -> 111111111111/eu-west-1, 222222222222/us-east-1" in result.out
    assert "a deploy stops replication of dev/ to 111111111111/eu-west-1" in result.out
    assert "1 problem found." in result.out


def test_a_missing_registry_policy_names_every_grant_it_lacks(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)
    ecr_client(DEST_A).delete_registry_policy()

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    check = checks(result)[(DEST_A.key, "registry-policy")]
    assert check["status"] == "problem"
    assert "no registry policy" in check["message"]
    assert check["details"] == [
        f"{SOURCE.key} may not ecr:ReplicateImage on repository/prod/*: no statement allows it",
        f"{SOURCE.key} may not ecr:CreateRepository on repository/prod/*: no statement allows it",
    ]
    assert checks(result)[(DEST_B.key, "registry-policy")]["status"] == "ok"


def put_policy(registry: Registry, *statements: dict[str, Any]) -> None:
    ecr_client(registry).put_registry_policy(
        policyText=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


def stub_policy(stubs: ClientStubs, registry: Registry, *statements: dict[str, Any]) -> None:
    """A deployed policy moto would refuse to store (wildcards, Deny): ECR evaluates it anyway."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    stubs.respond(
        registry,
        "ecr",
        "get_registry_policy",
        {"registryId": registry.account, "policyText": json.dumps(document)},
        {},
    )


def test_a_policy_without_create_repository_is_a_problem_naming_that_action(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)
    put_policy(
        DEST_A,
        {
            "Sid": "OnlyReplicate",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SOURCE.account}:root"},
            "Action": "ecr:ReplicateImage",
            "Resource": f"{ARN_A}/prod/*",
        },
    )

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    assert checks(result)[(DEST_A.key, "registry-policy")]["details"] == [
        f"{SOURCE.key} may not ecr:CreateRepository on repository/prod/*: no statement allows it"
    ]


def test_a_policy_without_create_repository_is_enough_when_creation_is_not_allowed(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(topology_document(destinationDefaults={"allowCreateRepository": False}))
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out


def test_a_broader_policy_with_wildcards_counts_as_granting(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)
    stub_policy(
        stubs,
        DEST_A,
        {
            "Effect": "Allow",
            "Principal": {"AWS": [SOURCE.account, "arn:aws:iam::999999999999:root"]},
            "Action": ["ecr:*"],
            "Resource": [f"{ARN_A}/*"],
        },
    )

    result = run_cli("preflight", "--config", str(config), "--json")

    # It grants what the topology needs (wildcards read as IAM reads them), but a deploy
    # replaces it with the narrower generated grant: that is what preflight warns about.
    check = checks(result)[(DEST_A.key, "registry-policy")]
    assert not [line for line in check["details"] if " may not " in line]
    assert check["details"] == [
        "a deploy removes (no Sid) (Allow; principals: 123456789012, "
        "arn:aws:iam::999999999999:root; actions: ecr:*)"
    ]
    assert result.code == 1


def test_a_conditional_or_denying_statement_does_not_count_as_a_grant(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    stub_templates(stubs, DEST_A, DEST_B)
    deploy(config)
    allow_all = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{SOURCE.account}:root"},
        "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
        "Resource": f"{ARN_A}/*",
    }
    stub_policy(
        stubs,
        DEST_A,
        {
            **allow_all,
            "Sid": "OrgOnly",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
        },
    )
    stub_policy(
        stubs,
        DEST_B,
        {**allow_all, "Resource": "*"},
        {**allow_all, "Sid": "NoProd", "Effect": "Deny", "Action": "ecr:Create*", "Resource": "*"},
    )

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    details_a = checks(result)[(DEST_A.key, "registry-policy")]["details"]
    grant_lines = [d for d in details_a if " may not " in d]
    assert grant_lines and all(
        "only under a Condition (statement OrgOnly)" in d for d in grant_lines
    )
    details_b = checks(result)[(DEST_B.key, "registry-policy")]["details"]
    assert [d for d in details_b if " may not " in d] == [
        f"{SOURCE.key} may not ecr:CreateRepository on repository/prod/*: denied by statement NoProd"
    ]
    # Neither the wider grant nor the Deny is what the topology deploys: a deploy removes both.
    assert [d for d in details_b if d.startswith("a deploy removes")] == [
        "a deploy removes (no Sid) (Allow; principals: arn:aws:iam::123456789012:root; "
        "actions: ecr:ReplicateImage, ecr:CreateRepository)",
        "a deploy removes NoProd (Deny; principals: arn:aws:iam::123456789012:root; "
        "actions: ecr:Create*)",
    ]


def test_a_same_account_destination_needs_no_registry_policy(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    same_account = Registry(account=SOURCE.account, region="eu-west-1")
    config = write_config(destinations=(same_account,))
    stub_templates(stubs, same_account)
    deploy(config)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert checks(result)[(same_account.key, "registry-policy")]["message"] == (
        "no sources in other accounts: no policy needed"
    )
    assert {k.identity for k in stubs.created} == {aws.CALLER}


def test_missing_or_different_templates_are_problems(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, prefixes=("dev",))
    stubs.respond(
        DEST_B,
        "ecr",
        "describe_repository_creation_templates",
        template_response("prod", mutability="MUTABLE"),
        TEMPLATES_PARAMS,
    )
    stub_stack(stubs, DEST_B, ("prod",))

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    assert checks(result)[(DEST_A.key, "repository-templates")]["details"] == [
        "missing template 'prod': repositories that replication creates get ECR defaults "
        "(mutable tags, AES256, no policies)"
    ]
    assert checks(result)[(DEST_B.key, "repository-templates")]["details"] == [
        "template 'prod' has imageTagMutability MUTABLE; the topology wants IMMUTABLE"
    ]


def test_templates_listed_over_several_pages_are_all_seen(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(topology_document(prefixes=("prod/", "team-a/"), destinations=(DEST_A,)))
    deploy(config)
    first = {**template_response("prod"), "nextToken": "page-2"}
    stubs.respond(DEST_A, "ecr", "describe_repository_creation_templates", first, TEMPLATES_PARAMS)
    stubs.respond(
        DEST_A,
        "ecr",
        "describe_repository_creation_templates",
        template_response("team-a"),
        {**TEMPLATES_PARAMS, "nextToken": "page-2"},
    )
    stub_stack(stubs, DEST_A, ("prod", "team-a"))

    result = run_cli("preflight", "--config", str(config), "--json")

    assert checks(result)[(DEST_A.key, "repository-templates")]["status"] == "ok"
    stubs.assert_all_used()


def test_an_endpoint_without_the_templates_api_leaves_that_check_unchecked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_B)
    stubs.fail(DEST_A, "ecr", "describe_repository_creation_templates", "UnknownOperationException")

    result = run_cli("preflight", "--config", str(config))

    assert result.code == 3
    assert (
        "Could not check 111111111111/eu-west-1: repository-templates: API not offered"
        in result.out
    )


def test_a_region_not_enabled_is_a_problem_and_skips_that_registrys_other_checks(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    hong_kong = Registry(account=DEST_A.account, region="ap-east-1")  # not-opted-in in moto
    config = write_config(destinations=(hong_kong, DEST_B))
    deploy(config)
    stub_templates(stubs, DEST_B)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    found = checks(result)
    assert found[(hong_kong.key, "region-enabled")]["status"] == "problem"
    assert (
        "ap-east-1 is not enabled in account 111111111111"
        in found[(hong_kong.key, "region-enabled")]["message"]
    )
    assert found[(hong_kong.key, "registry-policy")]["status"] == "skipped"
    assert found[(hong_kong.key, "repository-templates")]["status"] == "skipped"
    assert found[(DEST_B.key, "registry-policy")]["status"] == "ok"


def test_the_region_check_falls_back_to_the_account_api_when_ec2_is_denied(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    deploy(config)
    stub_templates(stubs, DEST_A)
    refuse_ec2_answer_account_api(stubs, DEST_A, "ENABLED_BY_DEFAULT")

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    assert checks(result)[(DEST_A.key, "region-enabled")]["message"] == (
        "eu-west-1 is enabled (ENABLED_BY_DEFAULT)"
    )
    stubs.assert_all_used()


DEST_A_WEST = Registry(account=DEST_A.account, region="us-west-2")


@pytest.mark.parametrize(
    ("first_refused", "calls"),
    [(False, (1, 0)), (True, (2, 1))],
    ids=["one-ask-answers-both", "a-refusal-is-not-shared"],
)
def test_region_statuses_are_asked_once_per_account(
    write_config: WriteConfig,
    run_cli: Run,
    stubs: ClientStubs,
    first_refused: bool,
    calls: tuple[int, int],
) -> None:
    """Two registries of one account: one DescribeRegions answers both. When the first to ask
    is refused (it falls back to the account API), the other asks again with its own
    credentials instead of inheriting the refusal."""
    config = write_config(destinations=(DEST_A, DEST_A_WEST))
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_A_WEST)
    if first_refused:  # whichever of the two asks first
        refuse_ec2_answer_account_api(stubs, DEST_A, "ENABLED_BY_DEFAULT", any_region=True)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 0, result.out
    found = checks(result)
    assert found[(DEST_A.key, "region-enabled")]["status"] == "ok"
    assert found[(DEST_A_WEST.key, "region-enabled")]["status"] == "ok"
    assert (
        stubs.count("DescribeRegions", account=DEST_A.account),
        stubs.count("GetRegionOptStatus", account=DEST_A.account),
    ) == calls
    assert stubs.count("DescribeRegions", account=SOURCE.account) == 1


def test_access_denied_on_one_destination_leaves_it_unchecked_and_checks_the_others(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)
    stubs.fail(DEST_A, "ecr", "get_registry_policy", "AccessDeniedException", "not authorized")

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 3
    found = checks(result)
    assert found[(DEST_A.key, "registry-policy")]["status"] == "unchecked"
    assert found[(DEST_A.key, "registry-policy")]["message"] == (
        "access denied (AccessDeniedException calling GetRegistryPolicy)"
    )
    assert found[(DEST_B.key, "registry-policy")]["status"] == "ok"
    assert result.json["unchecked"] == [
        {
            "registry": DEST_A.key,
            "check": "registry-policy",
            "reason": "access denied (AccessDeniedException calling GetRegistryPolicy)",
        }
    ]


def test_problems_and_an_unchecked_registry_exit_1_and_still_name_it(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    ecr_client(DEST_B).delete_registry_policy()
    stub_templates(stubs, DEST_A, DEST_B)
    stubs.fail(DEST_A, "ecr", "get_registry_policy", "AccessDeniedException")

    result = run_cli("preflight", "--config", str(config))

    assert result.code == 1
    assert "1 problem found." in result.out
    assert "Could not check 111111111111/eu-west-1: registry-policy: access denied" in result.out


def test_throttling_past_retries_leaves_the_check_unchecked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)
    stubs.fail(SOURCE, "ecr", "describe_registry", "ThrottlingException", "Rate exceeded")

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 3
    assert checks(result)[(SOURCE.key, "replication-configuration")]["message"] == (
        "throttled past retries (ThrottlingException calling DescribeRegistry)"
    )


def test_an_expired_token_when_assuming_the_role_leaves_that_registry_unchecked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    deploy(config)
    stubs.fail(SOURCE, "sts", "assume_role", "ExpiredTokenException", "token expired")

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 3
    found = checks(result)
    reason = (
        "could not assume arn:aws:iam::111111111111:role/ecr-replication-destination-eu-west-1: "
        "expired credentials (ExpiredTokenException calling AssumeRole); refresh them and run again"
    )
    assert [
        found[(DEST_A.key, c)]["message"]
        for c in ("region-enabled", "registry-policy", "repository-templates")
    ] == [reason] * 3
    assert found[(SOURCE.key, "replication-configuration")]["status"] == "ok"
    assert stubs.count("AssumeRole") == 1  # the failure is remembered, not retried per check


def test_no_assume_role_refuses_to_read_another_accounts_registry_settings(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(destinations=(DEST_A,))
    deploy(config)

    result = run_cli("preflight", "--config", str(config), "--json", "--no-assume-role")

    assert result.code == 3
    message = checks(result)[(DEST_A.key, "registry-policy")]["message"]
    assert message.startswith(
        f"the credentials in use are for account {SOURCE.account}, not {DEST_A.account}"
    )
    assert {k.identity for k in stubs.created} == {aws.CALLER}


def test_the_role_name_option_and_external_id_shape_the_assume_role_call(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(
        topology_document(
            destinations=(DEST_A,), destinationDefaults={"role": {"externalId": "ext-123"}}
        )
    )
    deploy(config)
    stubs.fail(
        SOURCE,
        "sts",
        "assume_role",
        "AccessDenied",
        "not trusted",
        expected_params={
            "RoleArn": "arn:aws:iam::111111111111:role/ops-reader",
            "RoleSessionName": "ecr-replication",
            "ExternalId": "ext-123",
        },
    )

    result = run_cli("preflight", "--config", str(config), "--json", "--role-name", "ops-reader")

    assert result.code == 3
    assert (
        "could not assume arn:aws:iam::111111111111:role/ops-reader: access denied"
        in (checks(result)[(DEST_A.key, "registry-policy")]["message"])
    )
    stubs.assert_all_used()


def test_a_region_disabled_per_the_account_api_is_a_problem_and_two_failures_are_unchecked(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)
    refuse_ec2_answer_account_api(stubs, DEST_A, "DISABLED")
    stubs.fail(DEST_B, "ec2", "describe_regions", "UnauthorizedOperation", region="us-east-1")
    stubs.fail(
        DEST_B, "account", "get_region_opt_status", "AccessDeniedException", region="us-east-1"
    )

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    found = checks(result)
    assert found[(DEST_A.key, "region-enabled")]["message"].startswith(
        "eu-west-1 is not enabled in account 111111111111 (account:GetRegionOptStatus: DISABLED)"
    )
    assert found[(DEST_B.key, "region-enabled")] == {
        "registry": DEST_B.key,
        "side": "destination",
        "check": "region-enabled",
        "status": "unchecked",
        "message": "access denied (UnauthorizedOperation calling DescribeRegions); "
        "account:GetRegionOptStatus: access denied (AccessDeniedException calling "
        "GetRegionOptStatus)",
        "details": [],
    }
    assert found[(DEST_B.key, "registry-policy")]["status"] == "ok"


def test_a_template_outside_the_destination_stack_makes_the_deploy_fail_and_says_the_way_out(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, owned_by_stack=False)  # no stack: someone else made it
    stub_templates(stubs, DEST_B)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    check = checks(result)[(DEST_A.key, "repository-templates")]
    assert check["details"] == [
        "template 'prod' exists outside EcrReplicationDestination-111111111111-eu-west-1: "
        "the deploy fails (template already exists)"
    ]
    assert "delete the templates, then deploy" in check["message"]
    assert "cdk import" in check["message"]
    assert checks(result)[(DEST_B.key, "repository-templates")]["status"] == "ok"
    stubs.assert_all_used()


def test_a_policy_with_foreign_statements_is_a_problem_naming_what_a_deploy_removes(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config()
    deploy(config)
    stub_templates(stubs, DEST_A, DEST_B)
    ours = json.loads(ecr_client(DEST_A).get_registry_policy()["policyText"])["Statement"]
    pull_through_cache = {
        "Sid": "PullThroughCache",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEST_A.account}:root"},
        "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        "Resource": f"{ARN_A}/docker-hub/*",
    }
    other_source = {
        "Sid": "ReplicateFromTeamB",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::666555444333:root"},
        "Action": "ecr:ReplicateImage",
        "Resource": f"{ARN_A}/team-b/*",
    }
    stub_policy(stubs, DEST_A, *ours, pull_through_cache, other_source)

    result = run_cli("preflight", "--config", str(config), "--json")

    assert result.code == 1
    check = checks(result)[(DEST_A.key, "registry-policy")]
    assert check["details"] == [
        "a deploy removes PullThroughCache (Allow; principals: "
        f"arn:aws:iam::{DEST_A.account}:root; actions: ecr:BatchImportUpstreamImage, "
        "ecr:CreateRepository)",
        "a deploy removes ReplicateFromTeamB (Allow; principals: arn:aws:iam::666555444333:root; "
        "actions: ecr:ReplicateImage)",
    ]

    # Kept in the topology, they are not lost by a deploy: preflight passes.
    kept = write_config(
        topology_document(
            destinationRegistries=[
                {
                    "account": DEST_A.account,
                    "region": DEST_A.region,
                    "additionalPolicyStatements": [pull_through_cache, other_source],
                }
            ]
        )
    )
    stub_templates(stubs, DEST_A, DEST_B)
    stub_policy(stubs, DEST_A, *ours, pull_through_cache, other_source)
    again = run_cli("preflight", "--config", str(kept), "--json")
    assert checks(again)[(DEST_A.key, "registry-policy")]["status"] == "ok", again.out
