#!/usr/bin/env python3
"""The synth baseline: the same stacks as ``app.py``, hand-written with aws-cdk-lib L1s only.

What an engineer would write without the library for the benchmark topologies (every
destination cross-account, default destination settings): per source registry a
``CfnReplicationConfiguration``; per destination registry a ``CfnRegistryPolicy`` with a
statement per source, a ``CfnRole`` with an inline policy for tooling, and a
``CfnRepositoryCreationTemplate`` per namespace; source stacks depend on their destination
stacks. No validation, no L2s, and it never imports ``ecr_replication`` (that is the point):
it reads the same ``ecrReplication`` context (``CDK_CONTEXT_JSON``) as the real app.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

Replication = ecr.CfnReplicationConfiguration


def template_prefix(repository_prefix: str) -> str:
    return repository_prefix.rsplit("/", 1)[0] if "/" in repository_prefix else "ROOT"


def repository_arns(region: str, account: str, prefixes: list[str]) -> list[str]:
    patterns = [f"{p}*" for p in prefixes] or ["*"]
    return [f"arn:aws:ecr:{region}:{account}:repository/{p}" for p in patterns]


def add_source_stack(app: App, source: dict[str, Any]) -> Stack:
    account, region = source["account"], source["region"]
    name = f"EcrReplicationSource-{account}-{region}"
    stack = Stack(
        app,
        name,
        stack_name=name,
        description=f"ECR replication configuration of registry {account}/{region}",
        env=Environment(account=account, region=region),
    )
    rules = [
        Replication.ReplicationRuleProperty(
            destinations=[
                Replication.ReplicationDestinationProperty(
                    region=d["region"], registry_id=d["account"]
                )
                for d in rule["destinations"]
            ],
            repository_filters=[
                Replication.RepositoryFilterProperty(filter=p, filter_type="PREFIX_MATCH")
                for p in rule.get("repositoryPrefixes", [])
            ]
            or None,
        )
        for rule in source["rules"]
    ]
    Replication(
        stack,
        "Replication",
        replication_configuration=Replication.ReplicationConfigurationProperty(rules=rules),
    )
    return stack


def add_destination_stack(
    app: App, account: str, region: str, grants: list[tuple[str, str, list[str]]]
) -> Stack:
    name = f"EcrReplicationDestination-{account}-{region}"
    stack = Stack(
        app,
        name,
        stack_name=name,
        description=f"Destination side of ECR replication into registry {account}/{region}",
        env=Environment(account=account, region=region),
    )
    statements = []
    for source_account, source_region, prefixes in grants:
        arns = repository_arns(region, account, prefixes)
        statements.append(
            {
                "Sid": f"ReplicateFrom{source_account}{source_region.replace('-', '')}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{source_account}:root"},
                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                "Resource": arns,
            }
        )
    ecr.CfnRegistryPolicy(
        stack,
        "RegistryPolicy",
        policy_text={"Version": "2012-10-17", "Statement": statements},
    )

    all_prefixes = list(dict.fromkeys(p for _, _, prefixes in grants for p in prefixes))
    arns = repository_arns(region, account, all_prefixes)
    iam.CfnRole(
        stack,
        "DestinationRole",
        role_name=f"ecr-replication-destination-{region}",
        description="Read-only access for the operations commands to this registry",
        assume_role_policy_document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {
                        "AWS": [
                            f"arn:aws:iam::{a}:root" for a in dict.fromkeys(g[0] for g in grants)
                        ]
                    },
                }
            ],
        },
        policies=[
            iam.CfnRole.PolicyProperty(
                policy_name="ReadReplicas",
                policy_document={
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadReplicatedImages",
                            "Effect": "Allow",
                            "Action": "ecr:DescribeImages",
                            "Resource": arns,
                        },
                        {
                            "Sid": "ReadRegistrySettings",
                            "Effect": "Allow",
                            "Action": [
                                "ec2:DescribeRegions",
                                "ecr:DescribeRepositoryCreationTemplates",
                                "ecr:GetRegistryPolicy",
                            ],
                            "Resource": "*",
                        },
                        {
                            "Sid": "ReadRegionOptIn",
                            "Effect": "Allow",
                            "Action": "account:GetRegionOptStatus",
                            "Resource": f"arn:aws:account::{account}:account",
                        },
                    ],
                },
            )
        ],
    )
    for prefix in sorted({template_prefix(p) for p in all_prefixes} or {"ROOT"}):
        ecr.CfnRepositoryCreationTemplate(
            stack,
            f"Template{prefix.replace('/', '')}",
            prefix=prefix,
            applied_for=["REPLICATION"],
            description="Repositories created by ECR replication",
            image_tag_mutability="IMMUTABLE",
            encryption_configuration=ecr.CfnRepositoryCreationTemplate.EncryptionConfigurationProperty(
                encryption_type="AES256"
            ),
        )
    return stack


def main() -> None:
    app = App()
    topology: dict[str, Any] = app.node.try_get_context("ecrReplication")
    grants: dict[tuple[str, str], list[tuple[str, str, list[str]]]] = {}
    for source in topology["sources"]:
        for rule in source["rules"]:
            for d in rule["destinations"]:
                grants.setdefault((d["account"], d["region"]), []).append(
                    (source["account"], source["region"], rule.get("repositoryPrefixes", []))
                )
    destination_stacks = {
        key: add_destination_stack(app, key[0], key[1], registry_grants)
        for key, registry_grants in grants.items()
    }
    for source in topology["sources"]:
        stack = add_source_stack(app, source)
        for rule in source["rules"]:
            for d in rule["destinations"]:
                stack.add_stack_dependency(destination_stacks[(d["account"], d["region"])])
    app.synth()


if __name__ == "__main__":
    main()
