"""``ecr-replication review``: the report of a synthesized cloud assembly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from ecr_replication import cli
from ecr_replication.review import (
    SCHEMA,
    mermaid_flowchart,
    review_assembly,
    review_json,
    review_markdown,
)
from tests.topologies import (
    CENTRAL,
    CLASSIC,
    DESTINATION,
    KMS_KEY_ARN,
    MONITORING_EMAIL,
    OPERATOR,
    SECOND_DESTINATION,
    SECOND_SOURCE,
    SOURCE,
    synth_topology,
    topologies,
)

TOPOLOGY_NAMES = sorted(topologies())
DEST = f"{DESTINATION}/eu-west-1"


def report(assembly: Path, baseline: Path | None = None) -> dict[str, Any]:
    return review_json(review_assembly(assembly, baseline))


def destination(document: dict[str, Any], registry: str) -> dict[str, Any]:
    return next(d for d in document["destinations"] if d["registry"] == registry)


def warning_codes(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w["code"], w["subject"]) for w in document["warnings"]]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["review", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------------------
# Whole reports


@pytest.mark.parametrize("name", TOPOLOGY_NAMES)
def test_markdown_report_of_the_topology_matches_its_snapshot(
    name: str, assemblies: dict[str, Path], snapshot_markdown: SnapshotAssertion
) -> None:
    assert review_markdown(review_assembly(assemblies[name])) == snapshot_markdown


@pytest.mark.parametrize("name", TOPOLOGY_NAMES)
def test_json_report_of_the_topology_matches_its_snapshot(
    name: str, assemblies: dict[str, Path], snapshot_json_report: SnapshotAssertion
) -> None:
    assert report(assemblies[name]) == snapshot_json_report


def test_json_report_names_its_schema_and_lists_every_stack_with_its_environment(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["fan_out"])
    assert document["schema"] == SCHEMA == "ecr-replication/review/v1"
    assert [(s["name"], s["account"], s["region"]) for s in document["stacks"]] == [
        (f"EcrReplicationDestination-{DESTINATION}-eu-west-1", DESTINATION, "eu-west-1"),
        (
            f"EcrReplicationDestination-{SECOND_DESTINATION}-eu-central-1",
            SECOND_DESTINATION,
            "eu-central-1",
        ),
        (f"EcrReplicationDestination-{SOURCE}-us-west-2", SOURCE, "us-west-2"),
        (f"EcrReplicationSource-{SOURCE}-us-east-1", SOURCE, "us-east-1"),
    ]


# ---------------------------------------------------------------------------------------------
# The flowchart


def test_flowchart_has_an_edge_per_destination_labelled_with_the_rule_prefixes(
    assemblies: dict[str, Path],
) -> None:
    chart = mermaid_flowchart(review_assembly(assemblies["fan_out"]))
    source = f"r_{SOURCE}_us_east_1"
    assert chart.splitlines()[0] == "flowchart LR"
    assert f'  {source} -->|"prod/<br/>team-a/"| r_{DESTINATION}_eu_west_1' in chart
    assert f'  {source} -->|"prod/<br/>team-a/"| r_{SECOND_DESTINATION}_eu_central_1' in chart
    assert f'  {source} -->|"shared/"| r_{SOURCE}_us_west_2' in chart
    assert f'  r_{SOURCE}_us_west_2["{SOURCE}<br/>us-west-2"]' in chart


def test_flowchart_labels_an_unfiltered_rule_as_every_repository(
    assemblies: dict[str, Path],
) -> None:
    chart = mermaid_flowchart(review_assembly(assemblies["two_sources_one_destination"]))
    edge = f'r_{SECOND_SOURCE}_ap_southeast_2 -->|"every repository"| r_{DESTINATION}_eu_west_1'
    assert edge in chart


def test_markdown_report_embeds_the_flowchart_as_a_mermaid_block(
    assemblies: dict[str, Path],
) -> None:
    review = review_assembly(assemblies["default"])
    assert f"```mermaid\n{mermaid_flowchart(review)}\n```" in review_markdown(review)


# ---------------------------------------------------------------------------------------------
# Per destination registry


def test_registry_policy_grants_list_each_source_account_with_its_repositories(
    assemblies: dict[str, Path],
) -> None:
    policy = destination(report(assemblies["two_sources_one_destination"]), DEST)["registryPolicy"]
    assert [
        (g["account"], g["repositories"], g["mayCreateRepositories"]) for g in policy["grants"]
    ] == [(SOURCE, ["prod/*"], True), (SECOND_SOURCE, ["*"], True)]


def test_registry_policy_without_create_repository_says_repositories_must_exist(
    assemblies: dict[str, Path],
) -> None:
    review = review_assembly(assemblies["every_destination_option"])
    (grant,) = destination(review_json(review), DEST)["registryPolicy"]["grants"]
    assert grant["actions"] == ["ecr:ReplicateImage"]
    assert grant["mayCreateRepositories"] is False
    assert (
        f"| account {SOURCE} | `prod/*` | no (they must already exist) | none |"
        in review_markdown(review)
    )


def test_same_account_destination_is_replicated_into_without_a_registry_policy(
    assemblies: dict[str, Path],
) -> None:
    same_account = destination(report(assemblies["fan_out"]), f"{SOURCE}/us-west-2")
    assert same_account["registryPolicy"] is None
    assert same_account["replicatedFrom"] == [
        {"source": f"{SOURCE}/us-east-1", "repositoryPrefixes": ["shared/"], "sameAccount": True}
    ]


def test_role_section_shows_exactly_who_may_assume_it_and_on_which_conditions(
    assemblies: dict[str, Path],
) -> None:
    roles = destination(report(assemblies["every_destination_option"]), DEST)["roles"]
    by_name = {role["name"]: role for role in roles}
    assert by_name["ecr-replication-destination-eu-west-1"]["trustedBy"] == [
        {
            "principal": f"arn:aws:iam::{SOURCE}:role/ci-deployer",
            "conditions": [
                {
                    "operator": "StringEquals",
                    "key": "aws:PrincipalOrgID",
                    "values": ["o-abcdef1234"],
                },
                {
                    "operator": "StringEquals",
                    "key": "sts:ExternalId",
                    "values": ["ecr-replication-review"],
                },
            ],
        }
    ]
    assert by_name["ecr-replication-template-eu-west-1"]["trustedBy"] == [
        {"principal": "ecr.amazonaws.com", "conditions": []}
    ]


def test_role_trust_written_with_the_partition_pseudo_parameter_is_shown_as_an_arn(
    assemblies: dict[str, Path],
) -> None:
    # The CDK writes AccountPrincipal as Fn::Join with Ref AWS::Partition.
    (role,) = destination(report(assemblies["classic"]), DEST)["roles"]
    assert role["trustedBy"] == [{"principal": f"arn:aws:iam::{SOURCE}:root", "conditions": []}]
    assert role["permissions"][0] == {
        "effect": "Allow",
        "actions": ["ecr:BatchGetImage", "ecr:DescribeImages"],
        "resources": [f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/prod/*"],
        "conditions": [],
    }
    assert role["permissions"][2] == {
        "effect": "Allow",
        "actions": ["ecr:GetAccountSetting"],
        "resources": ["*"],
        "conditions": [
            {
                "operator": "StringEquals",
                "key": "ecr:AccountSetting",
                "values": ["REGISTRY_POLICY_SCOPE"],
            }
        ],
    }


def test_repository_template_settings_are_reported_as_the_template_sets_them(
    assemblies: dict[str, Path],
) -> None:
    (template,) = destination(report(assemblies["every_destination_option"]), DEST)[
        "repositoryTemplates"
    ]
    assert template == {
        "prefix": "prod",
        "stack": f"EcrReplicationDestination-{DESTINATION}-eu-west-1",
        "appliedFor": ["REPLICATION"],
        "tagMutability": "MUTABLE_WITH_EXCLUSION",
        "tagMutabilityExclusionFilters": ["release-*", "v*"],
        "encryption": {"type": "KMS", "kmsKey": KMS_KEY_ARN},
        "lifecyclePolicy": True,
        "pullAccess": [
            {
                "principal": "*",
                "actions": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "conditions": [
                    {
                        "operator": "StringEquals",
                        "key": "aws:PrincipalOrgID",
                        "values": ["o-abcdef1234"],
                    }
                ],
            },
            {
                "principal": "arn:aws:iam::111122223333:root",
                "actions": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "conditions": [],
            },
            {
                "principal": "arn:aws:iam::444455556666:root",
                "actions": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "conditions": [],
            },
        ],
        "resourceTags": {"cost-center": "1234", "team": "platform"},
        "customRole": "ecr-replication-template-eu-west-1",
    }


def test_default_repository_template_is_immutable_and_aes256_in_the_markdown(
    assemblies: dict[str, Path],
) -> None:
    markdown = review_markdown(review_assembly(assemblies["default"]))
    assert "| `prod` | REPLICATION | IMMUTABLE | AES256 | none | none | none |" in markdown


# ---------------------------------------------------------------------------------------------
# Warnings


def test_a_role_trusting_the_whole_source_account_is_warned_about(
    assemblies: dict[str, Path],
) -> None:
    assert warning_codes(report(assemblies["classic"])) == [("role-trusts-whole-account", DEST)]


def test_the_default_app_is_the_recommended_set_up_and_warns_about_nothing(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["default"])
    assert (document["warnings"], document["cdkWarnings"]) == ([], [])


def test_unfiltered_cross_account_rule_is_warned_about_on_both_sides(
    assemblies: dict[str, Path],
) -> None:
    codes = warning_codes(report(assemblies["two_sources_one_destination"]))
    assert ("unfiltered-cross-account-rule", f"{SECOND_SOURCE}/ap-southeast-2") in codes
    assert ("grant-without-prefixes", DEST) in codes


def test_mutable_destination_tags_are_warned_about_and_a_conditioned_trust_is_not(
    assemblies: dict[str, Path],
) -> None:
    assert warning_codes(report(assemblies["every_destination_option"])) == [
        ("mutable-destination-tags", DEST)
    ]


def test_same_account_prefixed_fan_out_warns_only_about_role_trust(
    assemblies: dict[str, Path],
) -> None:
    assert {code for code, _ in warning_codes(report(assemblies["fan_out"]))} == {
        "role-trusts-whole-account"
    }


def test_cdk_warnings_are_read_from_the_assembly_metadata_with_their_ack_id(
    assemblies: dict[str, Path],
) -> None:
    (warning,) = report(assemblies["classic"])["cdkWarnings"]
    assert warning["stack"] == f"EcrReplicationDestination-{DESTINATION}-eu-west-1"
    assert warning["path"] == f"/EcrReplicationDestination-{DESTINATION}-eu-west-1/DestinationRole"
    assert warning["ack"] == "ecr-replication:roleTrustsWholeAccount"
    assert warning["message"].startswith(
        f"the destination role may be assumed by any principal of account {SOURCE}"
    )
    assert "[ack:" not in warning["message"]


def _source_template(destination_account: str, prefixes: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "Destinations": [{"Region": "eu-west-1", "RegistryId": destination_account}]
    }
    if prefixes:
        rule["RepositoryFilters"] = [{"Filter": p, "FilterType": "PREFIX_MATCH"} for p in prefixes]
    return {
        "Resources": {
            "Replication": {
                "Type": "AWS::ECR::ReplicationConfiguration",
                "Properties": {"ReplicationConfiguration": {"Rules": [rule]}},
            }
        }
    }


def _registry_policy_template(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Resources": {
            "Policy": {
                "Type": "AWS::ECR::RegistryPolicy",
                "Properties": {"PolicyText": {"Version": "2012-10-17", "Statement": statements}},
            }
        }
    }


def test_replication_without_a_matching_grant_is_warned_about(
    write_assembly: Callable[..., Path],
) -> None:
    folder = write_assembly(
        {
            "Source": (
                f"aws://{SOURCE}/us-east-1",
                _source_template(DESTINATION, ["prod/", "team-b/"]),
            ),
            "Destination": (
                f"aws://{DESTINATION}/eu-west-1",
                _registry_policy_template(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
                            "Action": "ecr:ReplicateImage",
                            "Resource": f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/prod/*",
                        }
                    ]
                ),
            ),
        }
    )
    document = report(folder)
    assert ("missing-replication-grant", DEST) in warning_codes(document)
    assert ("no-repository-template", DEST) in warning_codes(document)


def test_replication_into_a_registry_without_any_policy_in_the_assembly_is_warned_about(
    write_assembly: Callable[..., Path],
) -> None:
    folder = write_assembly(
        {"Source": (f"aws://{SOURCE}/us-east-1", _source_template(DESTINATION, ["prod/"]))}
    )
    (missing,) = [w for w in report(folder)["warnings"] if w["code"] == "missing-replication-grant"]
    assert "no registry policy in this assembly" in missing["message"]


def test_role_open_to_any_principal_and_metadata_inline_in_the_manifest_are_reported(
    write_assembly: Callable[..., Path],
) -> None:
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "open",
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
                        ]
                    },
                },
            },
            **_registry_policy_template(
                [{"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Resource": "*"}]
            )["Resources"],
        }
    }
    metadata = {
        "Destination": {
            "/Destination/Role": [{"type": "aws:cdk:warning", "data": "hand-written role"}]
        }
    }
    folder = write_assembly(
        {"Destination": (f"aws://{DESTINATION}/eu-west-1", template)}, metadata=metadata
    )
    document = report(folder)
    assert warning_codes(document) == [("role-trusts-anyone", DEST)]
    # A Deny is read by the model's evaluator and listed as such, not skipped.
    (destination,) = document["destinations"]
    assert destination["registryPolicy"]["grants"] == [
        {
            "principal": "*",
            "account": None,
            "repositories": ["*"],
            "actions": ["ecr:*"],
            "conditions": [],
            "mayCreateRepositories": True,
            "mayReplicate": True,
            "effect": "Deny",
            "notActions": [],
        }
    ]
    assert document["cdkWarnings"] == [
        {
            "stack": "Destination",
            "path": "/Destination/Role",
            "message": "hand-written role",
            "ack": None,
        }
    ]


def test_registry_policy_and_pull_access_open_to_anyone_without_conditions_are_warned_about(
    write_assembly: Callable[..., Path],
) -> None:
    open_pull = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]},
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["ecr:BatchGetImage"],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            },
        ]
    }
    template = {
        "Resources": {
            **_registry_policy_template(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "ecr:ReplicateImage",
                        "Resource": f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/prod/*",
                    }
                ]
            )["Resources"],
            "Template": {
                "Type": "AWS::ECR::RepositoryCreationTemplate",
                "Properties": {
                    "Prefix": "prod",
                    "AppliedFor": ["REPLICATION"],
                    "ImageTagMutability": "IMMUTABLE",
                    "RepositoryPolicy": json.dumps(open_pull),
                },
            },
        }
    }
    folder = write_assembly({"Destination": (f"aws://{DESTINATION}/eu-west-1", template)})

    assert warning_codes(report(folder)) == [
        ("pull-allows-anyone", DEST),
        ("registry-policy-allows-anyone", DEST),
    ]


def test_pull_access_for_anyone_inside_an_organization_is_not_warned_about(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["every_destination_option"])
    pulls = [
        p
        for d in document["destinations"]
        for t in d["repositoryTemplates"]
        for p in t["pullAccess"]
    ]
    assert any(p["principal"] == "*" and p["conditions"] for p in pulls)
    assert "pull-allows-anyone" not in {code for code, _ in warning_codes(document)}


def test_template_values_of_unexpected_types_are_read_as_absent_without_a_traceback(
    write_assembly: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    template = {
        "Resources": {
            "Rules": {
                "Type": "AWS::ECR::ReplicationConfiguration",
                "Properties": {"ReplicationConfiguration": {"Rules": [{"Destinations": "x"}, 5]}},
            },
            "Policy": {"Type": "AWS::ECR::RegistryPolicy", "Properties": {"PolicyText": 5}},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Statement": 5}, "Policies": 7},
            },
            "Template": {
                "Type": "AWS::ECR::RepositoryCreationTemplate",
                "Properties": {
                    "Prefix": "prod",
                    "AppliedFor": ["REPLICATION"],
                    "EncryptionConfiguration": "KMS",
                    "ResourceTags": {"team": "a"},
                    "ImageTagMutabilityExclusionFilters": "latest",
                },
            },
            "Broken": "not a resource",
        }
    }
    folder = write_assembly({"Destination": (f"aws://{DESTINATION}/eu-west-1", template)})

    code, out, err = run_cli([str(folder), "--format", "json"], capsys)

    assert (code, err) == (0, "")
    (registry,) = json.loads(out)["destinations"]
    assert registry["registryPolicy"] == {
        "stack": "Destination",
        "grants": [],
        "keptStatements": [],
    }
    (template_info,) = registry["repositoryTemplates"]
    assert template_info["encryption"] == {"type": "AES256", "kmsKey": None}
    assert (template_info["resourceTags"], template_info["tagMutabilityExclusionFilters"]) == (
        {},
        [],
    )


# ---------------------------------------------------------------------------------------------
# Baseline


def test_baseline_lists_the_grants_a_second_source_adds(assemblies: dict[str, Path]) -> None:
    document = report(assemblies["two_sources_one_destination"], assemblies["classic"])
    assert document["baseline"]["removed"] == []
    assert [(a["kind"], a["principal"], a["scope"]) for a in document["baseline"]["added"]] == [
        (
            "assume-role",
            f"arn:aws:iam::{SECOND_SOURCE}:root",
            "ecr-replication-destination-eu-west-1",
        ),
        ("create-repository", f"arn:aws:iam::{SECOND_SOURCE}:root", "*"),
        ("replicate", f"arn:aws:iam::{SECOND_SOURCE}:root", "*"),
        ("replication-rule", f"{SECOND_SOURCE}/ap-southeast-2", "*"),
    ]


def test_a_review_with_a_baseline_keeps_everything_the_review_alone_has(
    assemblies: dict[str, Path],
) -> None:
    alone = report(assemblies["governed"])
    compared = report(assemblies["governed"], assemblies["operations"])
    assert compared["baseline"] is not None
    assert compared["sources"]  # lost before: the baseline review was rebuilt field by field
    assert {**compared, "baseline": None} == alone


def test_baseline_markdown_says_who_may_now_replicate_into_which_registry(
    assemblies: dict[str, Path],
) -> None:
    markdown = review_markdown(
        review_assembly(assemblies["two_sources_one_destination"], assemblies["classic"])
    )
    section = markdown.split("## Changes since the baseline\n", 1)[1].split("\n## ", 1)[0]
    assert section.strip().splitlines() == [
        "**Added**",
        "",
        f"- account {SECOND_SOURCE} may now assume role `ecr-replication-destination-eu-west-1` "
        f"in registry {DEST}",
        f"- account {SECOND_SOURCE} may now create repositories `*` in registry {DEST}",
        f"- account {SECOND_SOURCE} may now replicate `*` into registry {DEST}",
        f"- registry {SECOND_SOURCE}/ap-southeast-2 now replicates every repository to "
        f"registry {DEST}",
    ]


def test_baseline_in_the_other_direction_lists_the_same_grants_as_removed(
    assemblies: dict[str, Path],
) -> None:
    forward = report(assemblies["two_sources_one_destination"], assemblies["classic"])
    backward = report(assemblies["classic"], assemblies["two_sources_one_destination"])
    assert backward["baseline"] == {"added": [], "removed": forward["baseline"]["added"]}
    markdown = review_markdown(
        review_assembly(assemblies["classic"], assemblies["two_sources_one_destination"])
    )
    assert f"- account {SECOND_SOURCE} may no longer replicate `*` into registry {DEST}" in markdown


def test_baseline_of_conditioned_trust_shows_the_conditions_of_the_new_principal(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["every_destination_option"], assemblies["classic"])
    added = {(a["kind"], a["principal"]): a for a in document["baseline"]["added"]}
    trust = added[("assume-role", f"arn:aws:iam::{SOURCE}:role/ci-deployer")]
    assert trust["conditions"] == [
        "aws:PrincipalOrgID StringEquals o-abcdef1234",
        "sts:ExternalId StringEquals ecr-replication-review",
    ]
    removed = {(a["kind"], a["principal"]) for a in document["baseline"]["removed"]}
    assert removed == {
        ("assume-role", f"arn:aws:iam::{SOURCE}:root"),
        ("create-repository", f"arn:aws:iam::{SOURCE}:root"),
    }


def test_baseline_equal_to_the_assembly_reports_no_change(assemblies: dict[str, Path]) -> None:
    review = review_assembly(assemblies["fan_out"], assemblies["fan_out"])
    assert review_json(review)["baseline"] == {"added": [], "removed": []}
    assert "No grant was added or removed." in review_markdown(review)


def test_without_baseline_the_json_baseline_is_null(assemblies: dict[str, Path]) -> None:
    assert report(assemblies["default"])["baseline"] is None


# ---------------------------------------------------------------------------------------------
# The command


def test_command_prints_the_markdown_report_and_exits_0(
    assemblies: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([str(assemblies["default"])], capsys)
    assert (code, err) == (0, "")
    assert out == review_markdown(review_assembly(assemblies["default"]))


def test_command_reads_cdk_out_in_the_working_directory_by_default(
    assemblies: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(assemblies["fan_out"], tmp_path / "cdk.out")
    monkeypatch.chdir(tmp_path)
    code, out, _err = run_cli(["--format", "json"], capsys)
    assert code == 0
    assert json.loads(out) == report(assemblies["fan_out"])


def test_command_writes_json_with_baseline_to_the_output_file(
    assemblies: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "review.json"
    code, out, err = run_cli(
        [
            str(assemblies["fan_out"]),
            "--format",
            "json",
            "--output",
            str(output),
            "--baseline",
            str(assemblies["default"]),
        ],
        capsys,
    )
    assert (code, out, err) == (0, "", "")
    assert json.loads(output.read_text()) == report(assemblies["fan_out"], assemblies["default"])


def test_review_runs_as_python_module_without_importing_aws_cdk(
    assemblies: dict[str, Path],
) -> None:
    program = (
        "import sys\n"
        "from ecr_replication.cli import main\n"
        f"code = main(['review', {str(assemblies['default'])!r}])\n"
        "assert 'aws_cdk' not in sys.modules, 'aws_cdk was imported'\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("# ECR replication review\n")
    module = subprocess.run(
        [sys.executable, "-m", "ecr_replication", "review", str(assemblies["default"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (module.returncode, module.stdout) == (0, result.stdout)


# ---------------------------------------------------------------------------------------------
# Bad input: exit 2, one line, no traceback


def _assert_one_line_error(
    args: list[str], capsys: pytest.CaptureFixture[str], expected: str
) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("ecr-replication review: ")
    assert expected in err
    assert "Traceback" not in err


def test_missing_folder_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_one_line_error([str(tmp_path / "nowhere")], capsys, "no such folder")


def test_a_file_given_as_the_assembly_is_refused_as_not_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    _assert_one_line_error([str(manifest)], capsys, "is a file, not a folder")


def test_folder_without_manifest_is_not_a_cloud_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_one_line_error(
        [str(tmp_path)], capsys, "not a cloud assembly (it has no manifest.json)"
    )


@pytest.mark.parametrize(
    "text", ["{ not json", "[" * 100_000 + "]" * 100_000], ids=["broken", "nested-too-deeply"]
)
def test_manifest_that_is_not_json_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (tmp_path / "manifest.json").write_text(text)
    _assert_one_line_error(
        [str(tmp_path)], capsys, "cannot read the cloud assembly manifest (not valid JSON)"
    )


def test_manifest_naming_a_missing_template_is_refused(
    write_assembly: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_assembly({"Source": (f"aws://{SOURCE}/us-east-1", {"Resources": {}})})
    (folder / "Source.template.json").unlink()
    _assert_one_line_error([str(folder)], capsys, "cannot read the template of stack 'Source'")


def test_baseline_that_is_not_a_cloud_assembly_is_refused(
    assemblies: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_one_line_error(
        [str(assemblies["default"]), "--baseline", str(tmp_path)],
        capsys,
        f"{tmp_path}: not a cloud assembly",
    )


def test_output_file_that_cannot_be_written_is_refused(
    assemblies: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_one_line_error(
        [str(assemblies["default"]), "--output", str(tmp_path / "missing" / "review.md")],
        capsys,
        "cannot write it",
    )


def test_unknown_format_is_a_usage_error(
    assemblies: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli([str(assemblies["default"]), "--format", "html"], capsys)
    assert code == 2
    assert "invalid choice: 'html'" in err


def test_kept_statements_are_listed_with_their_principals_and_actions(tmp_path: Path) -> None:
    kept = {
        "Sid": "PullThroughCache",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DESTINATION}:root"},
        "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        "Resource": f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/docker-hub/*",
    }
    context = {
        **CLASSIC,
        "destinationRegistries": [
            {"account": DESTINATION, "region": "eu-west-1", "additionalPolicyStatements": [kept]}
        ],
    }
    assembly = synth_topology(context, tmp_path)
    (policy,) = [
        d["registryPolicy"] for d in report(assembly)["destinations"] if d["registryPolicy"]
    ]
    assert policy["keptStatements"] == [
        {
            "sid": "PullThroughCache",
            "effect": "Allow",
            "principals": [f"arn:aws:iam::{DESTINATION}:root"],
            "actions": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            "notActions": [],
            "resources": [f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/docker-hub/*"],
        }
    ]
    markdown = review_markdown(review_assembly(assembly))
    assert "**Kept statements** (written by hand in the topology, deployed verbatim)" in markdown
    assert (
        f"| `PullThroughCache` | Allow | account {DESTINATION} | `ecr:BatchImportUpstreamImage`, "
        "`ecr:CreateRepository` | `repository/docker-hub/*` |"
    ) in markdown


# ---------------------------------------------------------------------------------------------
# Who is alerted


def test_local_monitoring_alerts_each_destination_through_its_own_topic(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["local_monitoring"])
    for d in document["destinations"]:
        (alert,) = d["alerts"]
        account, region = d["registry"].split("/")
        stack = f"EcrReplicationDestination-{account}-{region}"
        assert alert["stack"] == stack
        assert alert["forwardedTo"] is None
        assert alert["topic"].startswith(f"{stack}/")
        assert alert["emails"] == [MONITORING_EMAIL]
        assert alert["alarm"] is True


def test_central_monitoring_alerts_every_destination_through_the_hub(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["central_monitoring"])
    hub = f"EcrReplicationMonitoring-{CENTRAL}-us-east-1"
    for d in document["destinations"]:
        (alert,) = d["alerts"]
        assert alert["forwardedTo"] == f"{CENTRAL}/us-east-1"
        assert alert["stack"] == hub
        assert alert["emails"] == ["oncall@example.com", MONITORING_EMAIL]
    markdown = review_markdown(review_assembly(assemblies["central_monitoring"]))
    assert f"- forwarded to the bus of {CENTRAL}/us-east-1, then topic `{hub}/" in markdown


def test_without_monitoring_the_report_says_nobody_is_alerted(
    assemblies: dict[str, Path],
) -> None:
    assert destination(report(assemblies["classic"]), DEST)["alerts"] == []
    markdown = review_markdown(review_assembly(assemblies["classic"]))
    assert "Nobody: no rule in this assembly watches its failed-replication events" in markdown


def _rule(pattern: dict[str, Any], target: Any, bus: str = "default") -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventBusName": bus,
            "EventPattern": pattern,
            "Targets": [{"Id": "t", "Arn": target}],
        },
    }


FAILURES = {
    "source": ["aws.ecr"],
    "detail-type": ["ECR Replication Action"],
    "detail": {"result": ["FAILED"]},
}


def test_only_rules_on_the_default_bus_that_let_failures_through_count_as_alerts(
    write_assembly: Callable[..., Path],
) -> None:
    topic = f"arn:aws:sns:eu-west-1:{DESTINATION}:team-alerts"
    template = _registry_policy_template([])
    template["Resources"].update(
        {
            "Failures": _rule(FAILURES, topic),
            "AnyResult": _rule({"detail-type": ["ECR Replication Action"]}, topic),
            "SuccessOnly": _rule({**FAILURES, "detail": {"result": ["SUCCESS"]}}, topic),
            "Pushes": _rule({**FAILURES, "detail-type": ["ECR Image Action"]}, topic),
            "OtherBus": _rule(FAILURES, topic, bus="team-bus"),
            "ToAQueue": _rule(FAILURES, f"arn:aws:sqs:eu-west-1:{DESTINATION}:q"),
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "Protocol": "email",
                    "Endpoint": "team@example.com",
                    "TopicArn": topic,
                },
            },
        }
    )
    folder = write_assembly(
        {
            "Source": (f"aws://{SOURCE}/us-east-1", _source_template(DESTINATION, ["prod/"])),
            "Destination": (f"aws://{DESTINATION}/eu-west-1", template),
        }
    )
    alerts = destination(report(folder), DEST)["alerts"]
    # "Failures" and "AnyResult" alert the same topic: listed once.
    assert alerts == [
        {
            "stack": "Destination",
            "forwardedTo": None,
            "topic": topic,
            "emails": ["team@example.com"],
            "alarm": False,
        }
    ]


def test_a_forward_to_a_bus_without_an_alerting_rule_reaches_nobody(
    write_assembly: Callable[..., Path],
) -> None:
    template = _registry_policy_template([])
    template["Resources"]["Forward"] = _rule(
        FAILURES, f"arn:aws:events:us-east-1:{CENTRAL}:event-bus/default"
    )
    folder = write_assembly(
        {
            "Source": (f"aws://{SOURCE}/us-east-1", _source_template(DESTINATION, ["prod/"])),
            "Destination": (f"aws://{DESTINATION}/eu-west-1", template),
            "Central": (f"aws://{CENTRAL}/us-east-1", {"Resources": {}}),
        }
    )
    assert destination(report(folder), DEST)["alerts"] == []


# ---------------------------------------------------------------------------------------------
# Source registries and their roles


def test_source_roles_are_reported_with_their_trust_and_permissions(
    assemblies: dict[str, Path],
) -> None:
    document = report(assemblies["operations"])
    sources = {s["registry"]: s for s in document["sources"]}
    assert set(sources) == {f"{SOURCE}/us-east-1", f"{SECOND_SOURCE}/ap-southeast-2"}
    (role,) = sources[f"{SOURCE}/us-east-1"]["roles"]
    assert role["name"] == "ecr-replication-source-us-east-1"
    assert role["trustedBy"] == [
        {
            "principal": OPERATOR,
            "conditions": [
                {
                    "operator": "StringEquals",
                    "key": "sts:ExternalId",
                    "values": ["ecr-replication-ops"],
                }
            ],
        }
    ]
    assert {a for p in role["permissions"] for a in p["actions"]} >= {
        "ecr:DescribeRepositories",
        "ecr:StartReplicationBackfill",
    }
    markdown = review_markdown(review_assembly(assemblies["operations"]))
    assert f"## Source registry {SOURCE}/us-east-1" in markdown
    assert "Role `ecr-replication-source-us-east-1` may be assumed by:" in markdown


def test_baseline_shows_who_may_now_assume_the_source_roles(assemblies: dict[str, Path]) -> None:
    added = report(assemblies["operations"], baseline=assemblies["fan_out"])["baseline"]["added"]
    assert {
        "kind": "assume-role",
        "principal": OPERATOR,
        "registry": f"{SOURCE}/us-east-1",
        "scope": "ecr-replication-source-us-east-1",
        "conditions": ["sts:ExternalId StringEquals ecr-replication-ops"],
    } in added


def test_a_source_role_trusting_a_whole_account_is_warned_about(
    write_assembly: Callable[..., Path],
) -> None:
    template = _source_template(DESTINATION, ["prod/"])
    template["Resources"]["SourceRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": "ecr-replication-source-us-east-1",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::999900002222:root"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            },
        },
    }
    folder = write_assembly({"Source": (f"aws://{SOURCE}/us-east-1", template)})
    assert ("role-trusts-whole-account", f"{SOURCE}/us-east-1") in warning_codes(report(folder))


# ---------------------------------------------------------------------------------------------
# What ECR accepts since 2026


def test_the_review_says_per_rule_whether_deletions_replicate(assemblies: dict[str, Path]) -> None:
    document = report(assemblies["ecr_2026"])
    (source,) = document["sources"]
    rules = source["rules"]
    assert len(rules) == 12
    assert rules[0] == {
        "repositoryPrefixes": ["prod/"],
        "destinations": [f"{DESTINATION}/eu-west-1", f"{SECOND_DESTINATION}/eu-central-1"],
        "replicateDeletions": True,
    }
    assert [r["replicateDeletions"] for r in rules[1:]] == [False] * 11
    markdown = review_markdown(review_assembly(assemblies["ecr_2026"]))
    assert (
        f"| 0 | `prod/` | {DESTINATION}/eu-west-1, {SECOND_DESTINATION}/eu-central-1 | **yes**: "
        "tag removals, deletes and lifecycle expiries here delete in every destination |"
    ) in markdown
    assert "| 1 | `team-0/` | 333344445555/eu-west-1 | no |" in markdown


def test_the_review_warns_of_replicated_deletions_with_the_id_that_acknowledges_it(
    assemblies: dict[str, Path],
) -> None:
    warnings = report(assemblies["ecr_2026"])["cdkWarnings"]
    deletions = [w for w in warnings if w["ack"] == "ecr-replication:deletionsReplicated"]
    assert [w["path"] for w in deletions] == [
        f"/EcrReplicationSource-{SOURCE}-us-east-1/Replication"
    ]
    assert deletions[0]["message"].startswith(
        f"rules[0] replicates deletions to {DESTINATION}/eu-west-1, "
        f"{SECOND_DESTINATION}/eu-central-1: a tag removed, an image deleted, or an image a "
        "lifecycle policy expires in this registry is deleted in every one of those destinations"
    )
    assert not any(
        w["ack"] == "ecr-replication:deletionsReplicated"
        for name in TOPOLOGY_NAMES
        if name != "ecr_2026"
        for w in report(assemblies[name])["cdkWarnings"]
    )


def test_the_review_shows_templates_applied_on_push_and_a_kept_scope_v2_statement(
    assemblies: dict[str, Path],
) -> None:
    prod = destination(report(assemblies["ecr_2026"]), DEST)
    assert {t["prefix"]: t["appliedFor"] for t in prod["repositoryTemplates"]} == {
        "prod": ["CREATE_ON_PUSH", "REPLICATION"]
    }
    (kept,) = prod["registryPolicy"]["keptStatements"]
    assert kept["sid"] == "WorkloadPulls"
    assert kept["actions"] == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]


# ---------------------------------------------------------------------------------------------
# What the services the stacks rely on may do, given what they send


def edited_copy(assembly: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], bool]) -> Path:
    """A copy of an assembly with its templates edited in place, as a property override or a
    hook override would write them; ``edit`` says whether it changed a template."""
    copy = tmp_path / "edited.out"
    shutil.copytree(assembly, copy)
    changed = 0
    for path in copy.glob("*.template.json"):
        template = json.loads(path.read_text())
        if edit(template):
            path.write_text(json.dumps(template))
            changed += 1
    assert changed
    return copy


def service_warnings(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (w["code"], w["message"].split(" may not use")[0])
        for w in document["warnings"]
        if w["code"].startswith("service-")
    ]


@pytest.mark.parametrize(
    "name", ["local_monitoring", "central_monitoring", "every_destination_option"]
)
def test_the_library_lets_each_service_use_its_keys_and_roles(
    assemblies: dict[str, Path], name: str
) -> None:
    assert service_warnings(report(assemblies[name])) == []


def key_statements_of(
    service: str, change: Callable[[dict[str, Any]], None]
) -> Callable[[dict[str, Any]], bool]:
    """An edit of every alert topic key's statement for ``service``."""

    def edit(template: dict[str, Any]) -> bool:
        found = [
            statement
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::KMS::Key"
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]
            if statement.get("Principal") == {"Service": service}
        ]
        for statement in found:
            change(statement)
        return bool(found)

    return edit


def test_a_key_policy_that_asks_eventbridge_for_source_keys_is_warned_about(
    assemblies: dict[str, Path], tmp_path: Path
) -> None:
    # The SNS developer guide: EventBridge sends neither aws:SourceAccount nor aws:SourceArn.
    def condition(statement: dict[str, Any]) -> None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": DESTINATION}}

    edit = key_statements_of("events.amazonaws.com", condition)
    document = report(edited_copy(assemblies["local_monitoring"], tmp_path, edit))
    found = [w for w in document["warnings"] if w["code"] == "service-cannot-use-key"]
    assert found
    assert all(
        w["message"].startswith("events.amazonaws.com may not use the alert topic key")
        for w in found
    )
    assert "kms:GenerateDataKey (no statement allows it)" in found[0]["message"]
    assert found[0]["message"].endswith("alerts are dropped")


def test_a_key_policy_for_another_accounts_alarms_is_warned_about(
    assemblies: dict[str, Path], tmp_path: Path
) -> None:
    # CloudWatch sends aws:SourceArn, the alarm: a condition naming other alarms refuses it.
    def other_alarms(statement: dict[str, Any]) -> None:
        statement["Condition"]["ArnLike"] = {
            "aws:SourceArn": "arn:aws:cloudwatch:*:999999999999:alarm:*"
        }

    edit = key_statements_of("cloudwatch.amazonaws.com", other_alarms)
    document = report(edited_copy(assemblies["local_monitoring"], tmp_path, edit))
    assert {code for code, _ in service_warnings(document)} == {"service-cannot-use-key"}
    assert {who for _, who in service_warnings(document)} == {"cloudwatch.amazonaws.com"}


def test_a_template_role_trust_with_a_condition_ecr_does_not_document_is_warned_about(
    assemblies: dict[str, Path], tmp_path: Path
) -> None:
    # The ECR user guide's trust policy for a template's role names no condition key.
    def condition_trust(template: dict[str, Any]) -> bool:
        changed = False
        for resource in template["Resources"].values():
            trust = resource.get("Properties", {}).get("AssumeRolePolicyDocument", {})
            for statement in trust.get("Statement", []):
                if statement.get("Principal") == {"Service": "ecr.amazonaws.com"}:
                    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": DESTINATION}}
                    changed = True
        return changed

    document = report(
        edited_copy(assemblies["every_destination_option"], tmp_path, condition_trust)
    )
    assert service_warnings(document) and set(service_warnings(document)) == {
        ("service-cannot-assume-role", "ecr.amazonaws.com")
    }
