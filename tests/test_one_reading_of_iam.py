"""``review`` (a synthesized registry policy) and ``preflight`` (a deployed one) read every
statement form the same way, because both ask the model's one IAM evaluator."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_replication.model import Registry, parse_topology
from ecr_replication.ops.preflight import missing_grants
from ecr_replication.review.analysis import build_review
from ecr_replication.review.assembly import AssemblyStack
from ecr_replication.review.report import StackInfo

SOURCE = Registry(account="555444333222", region="us-east-1")
DESTINATION = Registry(account="123456789012", region="eu-west-1")
REPOSITORIES = f"arn:aws:ecr:eu-west-1:{DESTINATION.account}:repository"
ROOT = f"arn:aws:iam::{SOURCE.account}:root"
TOPOLOGY = parse_topology(
    {
        "sources": [
            {
                "account": SOURCE.account,
                "region": SOURCE.region,
                "rules": [
                    {
                        "repositoryPrefixes": ["prod/"],
                        "destinations": [
                            {"account": DESTINATION.account, "region": DESTINATION.region}
                        ],
                    }
                ],
            }
        ],
        "destinationDefaults": {"allowCreateRepository": False},
    }
)


def grant(**fields: Any) -> dict[str, Any]:
    statement = {
        "Sid": "Grant",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "ecr:ReplicateImage",
        "Resource": f"{REPOSITORIES}/prod/*",
        **fields,
    }
    return {k: v for k, v in statement.items() if v is not None}


CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "exact": ([grant()], "allowed"),
    "action-wildcard": ([grant(Action="ecr:Replicate*")], "allowed"),
    "service-wildcard": ([grant(Action="ecr:*")], "allowed"),
    "not-action": ([grant(Action=None, NotAction="ecr:DeleteRepository")], "allowed"),
    "not-action-excluding-it": ([grant(Action=None, NotAction="ecr:Replicate*")], "missing"),
    "explicit-deny": ([grant(), grant(Sid="Guard", Effect="Deny", Resource="*")], "missing"),
    "deny-elsewhere": (
        [grant(), grant(Sid="Guard", Effect="Deny", Resource=f"{REPOSITORIES}/staging/*")],
        "allowed",
    ),
    "condition": (
        [grant(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})],
        "conditional",
    ),
    "other-prefix": ([grant(Resource=f"{REPOSITORIES}/staging/*")], "missing"),
}


def preflight_reading(statements: list[dict[str, Any]]) -> str:
    (destination,) = TOPOLOGY.destination_registries()
    lines = missing_grants(destination, {"Version": "2012-10-17", "Statement": statements})
    if not lines:
        return "allowed"
    return "conditional" if all("only under a Condition" in line for line in lines) else "missing"


def review_reading(statements: list[dict[str, Any]]) -> str:
    source = AssemblyStack(
        info=StackInfo(
            name="Source", account=SOURCE.account, region=SOURCE.region, template_file=""
        ),
        template={
            "Resources": {
                "Replication": {
                    "Type": "AWS::ECR::ReplicationConfiguration",
                    "Properties": {
                        "ReplicationConfiguration": {
                            "Rules": [
                                {
                                    "Destinations": [
                                        {"Region": "eu-west-1", "RegistryId": DESTINATION.account}
                                    ],
                                    "RepositoryFilters": [
                                        {"Filter": "prod/", "FilterType": "PREFIX_MATCH"}
                                    ],
                                }
                            ]
                        }
                    },
                }
            }
        },
        metadata={},
    )
    destination = AssemblyStack(
        info=StackInfo(
            name="Destination",
            account=DESTINATION.account,
            region=DESTINATION.region,
            template_file="",
        ),
        template={
            "Resources": {
                "Policy": {
                    "Type": "AWS::ECR::RegistryPolicy",
                    "Properties": {
                        "PolicyText": {"Version": "2012-10-17", "Statement": statements}
                    },
                }
            }
        },
        metadata={},
    )
    codes = {w.code for w in build_review([source, destination]).warnings}
    if "missing-replication-grant" in codes:
        return "missing"
    return "conditional" if "conditional-replication-grant" in codes else "allowed"


@pytest.mark.parametrize("case", sorted(CASES))
def test_review_and_preflight_read_each_statement_form_alike(case: str) -> None:
    statements, expected = CASES[case]
    assert (review_reading(statements), preflight_reading(statements)) == (expected, expected)
