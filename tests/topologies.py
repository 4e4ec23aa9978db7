"""The test topologies that cfn-lint, cdk-nag and the review report are run over.

Each is the JSON form of a topology (the CDK context value of ``ecrReplication``), so the test
apps go through the same parsing as ``cdk synth``. Every account and region is concrete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

SOURCE = "555444333222"
SECOND_SOURCE = "666555444333"
DESTINATION = "123456789012"
SECOND_DESTINATION = "210987654321"
KMS_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire untagged images after 14 days",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        }
    ]
}


def default_context() -> Any:
    """The topology that ships in cdk.json: what ``scripts/synth`` builds."""
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    return cdk_json["context"]["ecrReplication"]


CLASSIC: dict[str, Any] = {
    # One source, one cross-account destination, no role settings: the destination role
    # trusts the whole source account (the set-up that warns).
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [{"account": DESTINATION, "region": "eu-west-1"}],
                }
            ],
        }
    ]
}

FAN_OUT: dict[str, Any] = {
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/", "team-a/"],
                    "destinations": [
                        {"account": DESTINATION, "region": "eu-west-1"},
                        {"account": SECOND_DESTINATION, "region": "eu-central-1"},
                    ],
                },
                {
                    "repositoryPrefixes": ["shared/"],
                    "destinations": [{"account": SOURCE, "region": "us-west-2"}],
                },
            ],
        }
    ]
}

TWO_SOURCES_ONE_DESTINATION: dict[str, Any] = {
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [{"account": DESTINATION, "region": "eu-west-1"}],
                }
            ],
        },
        {
            # No prefixes: every repository of this source leaves its account (a warning).
            "account": SECOND_SOURCE,
            "region": "ap-southeast-2",
            "rules": [{"destinations": [{"account": DESTINATION, "region": "eu-west-1"}]}],
        },
    ]
}

EVERY_DESTINATION_OPTION: dict[str, Any] = {
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [{"account": DESTINATION, "region": "eu-west-1"}],
                }
            ],
        }
    ],
    "destinationDefaults": {
        "allowCreateRepository": False,
        "role": {
            "externalId": "ecr-replication-review",
            "trustedPrincipalArns": [f"arn:aws:iam::{SOURCE}:role/ci-deployer"],
            "principalOrgId": "o-abcdef1234",
        },
        "repositoryTemplate": {
            "tagMutability": "MUTABLE_WITH_EXCLUSION",
            "tagMutabilityExclusionFilters": ["release-*", "v*"],
            "encryption": "KMS",
            "kmsKeyArn": KMS_KEY_ARN,
            "lifecyclePolicy": LIFECYCLE_POLICY,
            "pullAccounts": ["111122223333", "444455556666"],
            "pullOrganizationId": "o-abcdef1234",
            "resourceTags": {"team": "platform", "cost-center": "1234"},
            "description": "Replicated from the build account",
        },
    },
}


MONITORING_EMAIL = "platform-alerts@example.com"
CENTRAL = "999900001111"

LOCAL_MONITORING: dict[str, Any] = {
    # Each destination alerts by itself: FAN_OUT's three destinations (one same-account).
    **FAN_OUT,
    "monitoring": {"notificationEmails": [MONITORING_EMAIL]},
}

CENTRAL_MONITORING: dict[str, Any] = {
    # Every destination forwards failures to one account's bus, which alerts.
    **FAN_OUT,
    "monitoring": {
        "notificationEmails": [MONITORING_EMAIL, "oncall@example.com"],
        "centralAccount": {"account": CENTRAL, "region": "us-east-1"},
    },
}


OPERATIONS_ACCOUNT = "999900002222"
OPERATOR = f"arn:aws:iam::{OPERATIONS_ACCOUNT}:role/ecr-replication-operator"

OPERATIONS: dict[str, Any] = {
    # Run from one operations account: two sources in two accounts, every registry read through
    # a role trusting the operator (the same-account destination too).
    **TWO_SOURCES_ONE_DESTINATION,
    "sources": [
        *FAN_OUT["sources"],
        TWO_SOURCES_ONE_DESTINATION["sources"][1],
    ],
    "destinationDefaults": {
        "role": {"trustedPrincipalArns": [OPERATOR], "externalId": "ecr-replication-ops"}
    },
    "operations": {"account": OPERATIONS_ACCOUNT, "allowBackfill": True},
}


LOG_KEY_ARN = f"arn:aws:kms:us-east-1:{SOURCE}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
FUNCTION_SETTINGS: dict[str, Any] = {
    "subnetIds": ["subnet-0abc1234def567890", "subnet-0fed4321cba098765"],
    "securityGroupIds": ["sg-0abc1234def567890"],
    "logKmsKeyArn": LOG_KEY_ARN,
    "logRetentionDays": 365,
}

BACKFILL: dict[str, Any] = {
    # Backfill on deploy with the function as the library sets it up by default.
    **FAN_OUT,
    "sources": [{**FAN_OUT["sources"][0], "backfillExistingImages": True}],
}

GOVERNED: dict[str, Any] = {
    # What an organization under AWS Control Tower runs: an operations account, alerts, and
    # backfill on deploy with the function in its VPC and its logs under its key.
    **OPERATIONS,
    "sources": [
        {
            **OPERATIONS["sources"][0],
            "backfillExistingImages": True,
            "backfillFunction": FUNCTION_SETTINGS,
        },
        *OPERATIONS["sources"][1:],
    ],
    "monitoring": {"notificationEmails": [MONITORING_EMAIL]},
}


THIRD_DESTINATION = "333344445555"
WORKLOAD_ACCOUNTS = ("111122223333", "444455556666")

ECR_2026: dict[str, Any] = {
    # What ECR accepts since 2026: 12 rules (10 were allowed before), one replicating deletions,
    # templates applied on push too, and a kept registry policy statement that only scope V2
    # accepts (pulls for two workload accounts, every repository of prod/).
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [
                        {"account": DESTINATION, "region": "eu-west-1"},
                        {"account": SECOND_DESTINATION, "region": "eu-central-1"},
                    ],
                    "replicateDeletions": True,
                },
                *(
                    {
                        "repositoryPrefixes": [f"team-{index}/"],
                        "destinations": [{"account": THIRD_DESTINATION, "region": "eu-west-1"}],
                    }
                    for index in range(11)
                ),
            ],
        }
    ],
    "destinationDefaults": {
        "repositoryTemplate": {"appliedFor": ["REPLICATION", "CREATE_ON_PUSH"]},
    },
    "destinationRegistries": [
        {
            "account": DESTINATION,
            "region": "eu-west-1",
            "additionalPolicyStatements": [
                {
                    "Sid": "WorkloadPulls",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": [f"arn:aws:iam::{account}:root" for account in WORKLOAD_ACCOUNTS]
                    },
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    "Resource": f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/prod/*",
                }
            ],
        }
    ],
}


def topologies() -> dict[str, Any]:
    """Every test topology by name (the default app first)."""
    return {
        "default": default_context(),
        "classic": CLASSIC,
        "fan_out": FAN_OUT,
        "two_sources_one_destination": TWO_SOURCES_ONE_DESTINATION,
        "every_destination_option": EVERY_DESTINATION_OPTION,
        "local_monitoring": LOCAL_MONITORING,
        "central_monitoring": CENTRAL_MONITORING,
        "operations": OPERATIONS,
        "backfill": BACKFILL,
        "governed": GOVERNED,
        "ecr_2026": ECR_2026,
    }


def synth_topology(context: Any, outdir: Path, *, nag: bool = False, guard: bool = False) -> Path:
    """Synthesize a topology's app into ``outdir`` the way ``app.py`` does; returns ``outdir``.

    ``nag`` sets the context flag ``ecrReplication:nag`` (the cdk-nag checks run and any
    unacknowledged finding fails synthesis); ``guard`` sets ``ecrReplication:guard`` (AWS
    Control Tower's proactive controls run, and a broken one fails synthesis).
    """
    from aws_cdk import App

    from ecr_replication.constructs.app import build_app
    from ecr_replication.constructs.guard import GUARD_CONTEXT_KEY
    from ecr_replication.constructs.nag import NAG_CONTEXT_KEY

    app = App(
        outdir=str(outdir),
        context={"ecrReplication": context, NAG_CONTEXT_KEY: nag, GUARD_CONTEXT_KEY: guard},
    )
    build_app(app)
    app.synth()
    return outdir


def stack_templates(assembly: Path) -> dict[str, tuple[str, Path]]:
    """Every stack of an assembly: display name -> (region, template file)."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    return {
        name: (
            artifact["environment"].rsplit("/", 1)[1],
            assembly / artifact["properties"]["templateFile"],
        )
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
