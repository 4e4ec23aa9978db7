"""Policy documents derived from the topology, as plain JSON-ready dictionaries.

Pure Python: the CDK constructs render these into templates, the topology checks the registry
policy's size with them, and ``preflight`` compares deployed policies against them. The
``partition``/``region``/``account`` arguments may be CDK tokens when a construct is used in an
environment-agnostic stack; nothing here inspects them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from .topology import DestinationRegistry, Grant, RepositoryTemplateSettings, repository_patterns

PolicyDocument = dict[str, Any]
Statement = dict[str, Any]

REPLICATION_ACTIONS = ("ecr:ReplicateImage",)
CREATE_REPOSITORY_ACTIONS = ("ecr:CreateRepository",)
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def repository_arn(partition: str, region: str, account: str, pattern: str) -> str:
    return f"arn:{partition}:ecr:{region}:{account}:repository/{pattern}"


def repository_arns(
    partition: str, region: str, account: str, prefixes: Sequence[str]
) -> list[str]:
    """ARNs of the repositories that rules with these prefixes can produce in a registry."""
    return [repository_arn(partition, region, account, p) for p in repository_patterns(prefixes)]


def statement_id(*parts: str) -> str:
    """An IAM ``Sid``: only letters and digits are allowed."""
    words = (word for part in parts for word in re.split(r"[^A-Za-z0-9]+", part) if word)
    return "".join(word[0].upper() + word[1:] for word in words)


def replication_grant_statement(
    grant: Grant,
    *,
    partition: str,
    region: str,
    account: str,
    allow_create_repository: bool = True,
) -> Statement:
    """Lets one source account replicate (and create) the repositories of its prefixes."""
    actions = [
        *REPLICATION_ACTIONS,
        *(CREATE_REPOSITORY_ACTIONS if allow_create_repository else ()),
    ]
    resources = repository_arns(partition, region, account, grant.repository_prefixes)
    return {
        "Sid": statement_id("ReplicateFrom", grant.source.account, grant.source.region),
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{grant.source.partition}:iam::{grant.source.account}:root"},
        "Action": sorted(actions) if len(actions) > 1 else actions[0],
        "Resource": resources if len(resources) > 1 else resources[0],
    }


def policy_document(statements: Sequence[Statement]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def registry_policy_document(destination: DestinationRegistry) -> PolicyDocument:
    """The destination registry's one registry policy: a statement per cross-account source."""
    registry = destination.registry
    return policy_document(
        [
            replication_grant_statement(
                grant,
                partition=registry.partition,
                region=registry.region,
                account=registry.account,
                allow_create_repository=destination.settings.allow_create_repository,
            )
            for grant in destination.cross_account_grants
        ]
    )


def compact_json(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def registry_policy_size(destination: DestinationRegistry) -> int:
    """Characters of the registry policy as ECR stores it (compact JSON)."""
    return len(compact_json(registry_policy_document(destination)))


def pull_repository_policy(
    settings: RepositoryTemplateSettings, *, partition: str
) -> PolicyDocument | None:
    """Pull-only access for workload accounts, for repositories created by replication.

    Read actions only: nobody but replication writes into a replicated repository.
    """
    statements: list[Statement] = []
    if settings.pull_accounts:
        principals = [f"arn:{partition}:iam::{a}:root" for a in settings.pull_accounts]
        statements.append(
            {
                "Sid": "PullOnlyForWorkloadAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": principals if len(principals) > 1 else principals[0]},
                "Action": list(PULL_ACTIONS),
            }
        )
    if settings.pull_organization_id:
        statements.append(
            {
                "Sid": "PullOnlyForOrganization",
                "Effect": "Allow",
                # Any principal, but only inside the named organization: the condition is the
                # boundary, the documented AWS pattern for organization-wide pulls.
                "Principal": {"AWS": "*"},
                "Action": list(PULL_ACTIONS),
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": settings.pull_organization_id}
                },
            }
        )
    return policy_document(statements) if statements else None
