"""Every policy document the library writes, as plain JSON-ready data.

The registry policy (the grant ECR uses to replicate), the destination and source roles'
trust and permissions, the repository creation templates' pull-only repository policy. The CDK
constructs render these into templates (their hooks start from them), the topology checks the
registry policy's size with them, and ``preflight`` and the tests read deployed policies
against them with :mod:`ecr_replication.model.iam`.

The ``partition``/``region``/``account`` arguments may be CDK tokens when a construct is used
in an environment-agnostic stack; nothing here inspects them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..naming import account_arn, account_root_arn, repository_arn, stack_arn
from . import iam
from .destinations import DestinationRegistry
from .limits import REGISTRY_POLICY_SCOPE_SETTING, REGISTRY_POLICY_V1_ACTIONS
from .registries import Grant, Registry, repository_patterns
from .templates import RepositoryTemplateSettings

PolicyDocument = dict[str, Any]
Statement = dict[str, Any]

POLICY_VERSION = "2012-10-17"
REPLICATION_ACTIONS = ("ecr:ReplicateImage",)
CREATE_REPOSITORY_ACTIONS = ("ecr:CreateRepository",)
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def repository_arns(
    partition: str, region: str, account: str, prefixes: Sequence[str]
) -> list[str]:
    """ARNs of the repositories that rules with these prefixes can produce in a registry."""
    return [repository_arn(partition, region, account, p) for p in repository_patterns(prefixes)]


def statement_id(*parts: str) -> str:
    """An IAM ``Sid``: only letters and digits are allowed."""
    words = (word for part in parts for word in re.split(r"[^A-Za-z0-9]+", part) if word)
    return "".join(word[0].upper() + word[1:] for word in words)


def one_or_many(values: Sequence[str]) -> str | list[str]:
    """A policy element as IAM writes it: a single value alone, several as a list."""
    return values[0] if len(values) == 1 else list(values)


def policy_document(statements: Sequence[Statement]) -> PolicyDocument:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def compact_json(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# The registry policy


def replication_grant_actions(*, allow_create_repository: bool) -> list[str]:
    return sorted(
        [*REPLICATION_ACTIONS, *(CREATE_REPOSITORY_ACTIONS if allow_create_repository else ())]
    )


def replication_grant_statement(
    grant: Grant,
    *,
    partition: str,
    region: str,
    account: str,
    allow_create_repository: bool = True,
) -> Statement:
    """Lets one source account replicate (and create) the repositories of its prefixes."""
    actions = replication_grant_actions(allow_create_repository=allow_create_repository)
    resources = repository_arns(partition, region, account, grant.repository_prefixes)
    return {
        "Sid": statement_id("ReplicateFrom", grant.source.account, grant.source.region),
        "Effect": "Allow",
        "Principal": {"AWS": account_root_arn(grant.source.partition, grant.source.account)},
        "Action": one_or_many(actions),
        "Resource": one_or_many(resources),
    }


def replication_evaluations(
    statements: Sequence[Mapping[str, Any]], grant: Grant, *, destination: Registry
) -> list[tuple[str, iam.Evaluation]]:
    """Whether ``statements`` (a registry policy) let the grant's source account replicate
    each repository pattern of the grant (``prod/*``, or ``*``) into ``destination``, read by
    the model's IAM evaluator: one ``(pattern, evaluation)`` per pattern."""
    caller = iam.Caller(account=grant.source.account, partition=grant.source.partition)
    return [
        (
            pattern,
            iam.evaluate(
                statements,
                caller=caller,
                action=REPLICATION_ACTIONS[0],
                resource=repository_arn(
                    destination.partition, destination.region, destination.account, pattern
                ),
            ),
        )
        for pattern in grant.repository_patterns
    ]


def generated_statements(destination: DestinationRegistry) -> list[Statement]:
    """The generated statements of a destination's registry policy: one per source account."""
    registry = destination.registry
    return [
        replication_grant_statement(
            grant,
            partition=registry.partition,
            region=registry.region,
            account=registry.account,
            allow_create_repository=destination.settings.allow_create_repository,
        )
        for grant in destination.cross_account_grants
    ]


def registry_policy_statements(destination: DestinationRegistry) -> list[Statement]:
    """Every statement of a destination's registry policy: the generated grants, then the
    statements kept verbatim (``additionalPolicyStatements``)."""
    kept = [dict(s) for s in destination.settings.additional_policy_statements]
    return [*generated_statements(destination), *kept]


def actions_scope_v1_refuses(statements: Sequence[Statement]) -> dict[str, list[str]]:
    """The actions of these registry policy statements that registry policy scope ``V1``
    refuses (anything but ``ecr:ReplicateImage``, ``ecr:CreateRepository`` and
    ``ecr:BatchImportUpstreamImage``, a wildcard included), by statement Sid, each once."""
    allowed = {a.lower() for a in REGISTRY_POLICY_V1_ACTIONS}
    found: dict[str, list[str]] = {}
    for statement in statements:
        for key in ("Action", "NotAction"):
            listed = statement.get(key)
            for action in [listed] if isinstance(listed, str) else list(listed or ()):
                if str(action).lower() not in allowed:
                    refused = found.setdefault(str(statement.get("Sid")), [])
                    refused += [] if str(action) in refused else [str(action)]
    return found


def registry_policy_document(destination: DestinationRegistry) -> PolicyDocument:
    """The destination registry's one registry policy."""
    return policy_document(registry_policy_statements(destination))


def registry_policy_size(destination: DestinationRegistry) -> int:
    """Characters of the registry policy as ECR stores it (compact JSON)."""
    return len(compact_json(registry_policy_document(destination)))


# ---------------------------------------------------------------------------------------------
# Repository creation templates


def pull_repository_policy(
    settings: RepositoryTemplateSettings, *, partition: str
) -> PolicyDocument | None:
    """Pull-only access for workload accounts, for repositories created by replication.

    Read actions only: nobody but replication writes into a replicated repository.
    """
    statements: list[Statement] = []
    if settings.pull_accounts:
        principals = [account_root_arn(partition, a) for a in settings.pull_accounts]
        statements.append(
            {
                "Sid": "PullOnlyForWorkloadAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": one_or_many(principals)},
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


# ---------------------------------------------------------------------------------------------
# The destination role (read access for the operations commands)

ASSUME_ROLE_ACTION = "sts:AssumeRole"


def trust_statement(
    principals: Sequence[str],
    *,
    external_id: str | None = None,
    principal_org_id: str | None = None,
) -> Statement:
    """One ``sts:AssumeRole`` statement for these principals, with the optional conditions."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"AWS": one_or_many(principals)},
        "Action": ASSUME_ROLE_ACTION,
    }
    conditions: dict[str, str] = {}
    if external_id:
        conditions["sts:ExternalId"] = external_id
    if principal_org_id:
        conditions["aws:PrincipalOrgID"] = principal_org_id
    if conditions:
        statement["Condition"] = {"StringEquals": conditions}
    return statement


REFERRER_READ_ACTIONS = ("ecr:BatchGetImage",)
"""What ``ListImageReferrers`` (``verify --referrers``) needs: it has no IAM action of its own,
and the ECR API reference says the caller must have ``ecr:BatchGetImage``."""
DESTINATION_REPOSITORY_READ_ACTIONS = (*REFERRER_READ_ACTIONS, "ecr:DescribeImages")
"""What the operations commands call on a destination's replicated repositories."""
DESTINATION_REGISTRY_READ_ACTIONS = (
    "ec2:DescribeRegions",
    "ecr:DescribeRepositoryCreationTemplates",
    "ecr:GetRegistryPolicy",
)
"""What they call on the destination registry: these actions have no resource type in IAM."""
REGISTRY_POLICY_SCOPE_ACTIONS = ("ecr:GetAccountSetting",)
"""``preflight`` reads the registry policy scope (``GetAccountSetting``): no resource type in
IAM, so ``*``, held to that one setting by the condition key ``ecr:AccountSetting``."""
REGION_OPT_IN_ACTIONS = ("account:GetRegionOptStatus",)
"""Scoped to the ``account`` resource of the registry's own account."""
STACK_READ_ACTIONS = ("cloudformation:DescribeStackResources",)
"""Which repository creation templates the destination stack owns (``preflight``)."""


def destination_role_permission_statements(
    *, partition: str, region: str, account: str, prefixes: Sequence[str], stack_name: str
) -> list[Statement]:
    """The destination role's permissions: read-only, exactly what the operations commands call.

    No write action: ``ecr:ReplicateImage`` and ``ecr:CreateRepository`` belong in the
    registry policy alone. A role that could create repositories would let whoever may assume
    it create a destination repository before replication does, and the repository creation
    template (immutable tags, encryption, policies) is never applied to a repository that
    already exists.
    """
    return [
        {
            "Sid": "ReadReplicatedImages",
            "Effect": "Allow",
            "Action": one_or_many(DESTINATION_REPOSITORY_READ_ACTIONS),
            "Resource": one_or_many(repository_arns(partition, region, account, prefixes)),
        },
        {
            "Sid": "ReadRegistrySettings",
            "Effect": "Allow",
            "Action": list(DESTINATION_REGISTRY_READ_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ReadRegistryPolicyScope",
            "Effect": "Allow",
            "Action": one_or_many(REGISTRY_POLICY_SCOPE_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"ecr:AccountSetting": REGISTRY_POLICY_SCOPE_SETTING}},
        },
        {
            "Sid": "ReadRegionOptIn",
            "Effect": "Allow",
            "Action": one_or_many(REGION_OPT_IN_ACTIONS),
            "Resource": account_arn(partition, account),
        },
        {
            "Sid": "ReadDestinationStack",
            "Effect": "Allow",
            "Action": one_or_many(STACK_READ_ACTIONS),
            "Resource": stack_arn(partition, region, account, stack_name),
        },
    ]


# ---------------------------------------------------------------------------------------------
# The source role (with an operations account: read access to a source registry)

SOURCE_REPOSITORY_LIST_ACTIONS = ("ecr:DescribeRepositories",)
"""Listing a registry's repositories: IAM authorizes a listing on ``repository/*``."""
SOURCE_REPOSITORY_READ_ACTIONS = (
    *REFERRER_READ_ACTIONS,
    "ecr:DescribeImageReplicationStatus",
    "ecr:DescribeImages",
)
"""What the commands call on a source's replicated repositories (``verify`` and its
``--referrers``, ``cost``, ``backfill --dry-run``)."""
SOURCE_REGISTRY_READ_ACTIONS = ("ec2:DescribeRegions", "ecr:DescribeRegistry")
"""``preflight`` and ``backfill``: no resource type in IAM."""
BACKFILL_ACTIONS = (
    "ecr:DescribeReplicationBackfillResults",
    "ecr:ListReplicationBackfills",
    "ecr:StartReplicationBackfill",
    "ecr:StopReplicationBackfill",
)
"""``ecr-replication backfill`` (start, follow, stop): no resource type in IAM."""


def source_role_permission_statements(
    *, partition: str, region: str, account: str, prefixes: Sequence[str], allow_backfill: bool
) -> list[Statement]:
    """The source role's permissions: what ``preflight``, ``verify``, ``cost`` and
    ``backfill --dry-run`` call in a source registry, on the narrowest resources IAM supports;
    with ``allow_backfill`` also the backfill actions (``StartReplicationBackfill`` is a write
    action: it makes ECR replicate existing images)."""
    statements: list[Statement] = [
        {
            "Sid": "ListRepositories",
            "Effect": "Allow",
            "Action": one_or_many(SOURCE_REPOSITORY_LIST_ACTIONS),
            "Resource": repository_arn(partition, region, account, "*"),
        },
        {
            "Sid": "ReadReplicatedImages",
            "Effect": "Allow",
            "Action": list(SOURCE_REPOSITORY_READ_ACTIONS),
            "Resource": one_or_many(repository_arns(partition, region, account, prefixes)),
        },
        {
            "Sid": "ReadRegistrySettings",
            "Effect": "Allow",
            "Action": list(SOURCE_REGISTRY_READ_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ReadRegionOptIn",
            "Effect": "Allow",
            "Action": one_or_many(REGION_OPT_IN_ACTIONS),
            "Resource": account_arn(partition, account),
        },
    ]
    if allow_backfill:
        statements.append(
            {
                "Sid": "BackfillReplication",
                "Effect": "Allow",
                "Action": list(BACKFILL_ACTIONS),
                "Resource": "*",
            }
        )
    return statements
