"""Pure policy documents: the registry policy grants and the pull-only repository policy."""

from __future__ import annotations

import pytest

from ecr_replication.model import (
    DestinationRegistry,
    DestinationSettings,
    Grant,
    Registry,
    RepositoryTemplateSettings,
)
from ecr_replication.model.policies import (
    PULL_ACTIONS,
    compact_json,
    pull_repository_policy,
    registry_policy_document,
    registry_policy_size,
    replication_grant_statement,
    repository_arns,
    statement_id,
)

BUILD = Registry(account="555444333222", region="us-east-1")
PROD = Registry(account="123456789012", region="eu-west-1")


def test_a_grant_allows_the_source_account_root_to_replicate_and_create_under_its_prefixes() -> (
    None
):
    grant = Grant(source=BUILD, repository_prefixes=("prod/", "shared/"))
    statement = replication_grant_statement(
        grant, partition="aws", region="eu-west-1", account="123456789012"
    )
    assert statement == {
        "Sid": "ReplicateFrom555444333222UsEast1",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::555444333222:root"},
        "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
        "Resource": [
            "arn:aws:ecr:eu-west-1:123456789012:repository/prod/*",
            "arn:aws:ecr:eu-west-1:123456789012:repository/shared/*",
        ],
    }


def test_a_grant_without_prefixes_covers_every_repository() -> None:
    statement = replication_grant_statement(
        Grant(source=BUILD, repository_prefixes=()),
        partition="aws",
        region="eu-west-1",
        account="123456789012",
    )
    assert statement["Resource"] == "arn:aws:ecr:eu-west-1:123456789012:repository/*"


def test_a_grant_without_create_repository_allows_only_replicate_image() -> None:
    statement = replication_grant_statement(
        Grant(source=BUILD, repository_prefixes=("prod/",)),
        partition="aws",
        region="eu-west-1",
        account="123456789012",
        allow_create_repository=False,
    )
    assert statement["Action"] == "ecr:ReplicateImage"


def test_the_registry_policy_has_one_statement_per_cross_account_source_only() -> None:
    other = Registry(account="210987654321", region="us-west-2")
    same_account = Registry(account="123456789012", region="us-east-1")
    destination = DestinationRegistry(
        registry=PROD,
        grants=(
            Grant(source=BUILD, repository_prefixes=("prod/",)),
            Grant(source=same_account, repository_prefixes=()),
            Grant(source=other, repository_prefixes=("team-b/",)),
        ),
        settings=DestinationSettings(),
    )
    document = registry_policy_document(destination)
    assert document["Version"] == "2012-10-17"
    assert [s["Principal"]["AWS"] for s in document["Statement"]] == [
        "arn:aws:iam::555444333222:root",
        "arn:aws:iam::210987654321:root",
    ]
    # Only actions ECR accepts in a registry policy, and no organization condition: the caller
    # is the source account's service-linked role.
    for statement in document["Statement"]:
        assert set(statement["Action"]) <= {"ecr:ReplicateImage", "ecr:CreateRepository"}
        assert "Condition" not in statement
    assert registry_policy_size(destination) == len(compact_json(document))


def test_partitions_other_than_aws_appear_in_arns() -> None:
    source = Registry(account="555444333222", region="cn-north-1")
    destination = DestinationRegistry(
        registry=Registry(account="123456789012", region="cn-northwest-1"),
        grants=(Grant(source=source, repository_prefixes=("prod/",)),),
        settings=DestinationSettings(),
    )
    (statement,) = registry_policy_document(destination)["Statement"]
    assert statement["Principal"]["AWS"] == "arn:aws-cn:iam::555444333222:root"
    assert statement["Resource"].startswith("arn:aws-cn:ecr:cn-northwest-1:123456789012:")


def test_repository_arns_follow_the_prefixes() -> None:
    assert repository_arns("aws", "eu-west-1", "123456789012", ["a/", "b-"]) == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/a/*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/b-*",
    ]


@pytest.mark.parametrize(
    ("parts", "sid"),
    [
        (("ReplicateFrom", "555444333222", "us-east-1"), "ReplicateFrom555444333222UsEast1"),
        (("pull", "team_a/svc-1"), "PullTeamASvc1"),
    ],
)
def test_statement_ids_keep_only_letters_and_digits(parts: tuple[str, ...], sid: str) -> None:
    assert statement_id(*parts) == sid


def test_the_pull_policy_grants_workload_accounts_only_the_three_pull_actions() -> None:
    policy = pull_repository_policy(
        RepositoryTemplateSettings(pull_accounts=["111122223333", "444455556666"]),
        partition="aws",
    )
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullOnlyForWorkloadAccounts",
                "Effect": "Allow",
                "Principal": {
                    "AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]
                },
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
            }
        ],
    }


def test_the_pull_policy_for_an_organization_is_bounded_by_the_org_condition() -> None:
    policy = pull_repository_policy(
        RepositoryTemplateSettings(pull_organization_id="o-abcdefghij"), partition="aws"
    )
    assert policy is not None
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    assert sorted(statement["Action"]) == sorted(PULL_ACTIONS)


def test_there_is_no_pull_policy_without_accounts_or_organization() -> None:
    assert pull_repository_policy(RepositoryTemplateSettings(), partition="aws") is None


def test_compact_json_has_no_spaces_between_tokens() -> None:
    assert compact_json({"a": [1, 2]}) == '{"a":[1,2]}'
