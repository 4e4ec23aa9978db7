"""The deploy lifecycle through the real, pinned CDK CLI against a local AWS endpoint: bootstrap,
deploy, change and deploy again, operate (preflight, verify, import), release, destroy.

Three accounts stand in for an organization: a build account whose registry is the source
(``SOURCE``, us-east-1), a production account whose registry is the destination
(``DESTINATION``, eu-west-1) and an operations account (``OPERATIONS``) that deploys every
stack (the CLI assumes each environment's bootstrap deploy role) and runs the operations
commands through the roles the stacks create. The destination's registry policy also holds a
statement the topology keeps on purpose (another team's replication grant): no step may lose
it.

After each step the test reads the live state through the endpoint (policy statements, rules,
templates, roles, the alert resources), not only exit codes.

Left out, and why:

* the backfill-on-deploy function: a Lambda function cannot run inside moto (it needs Docker;
  moto then completes the custom resource without running it), so a topology with
  ``backfillExistingImages`` would prove nothing here;
* replication itself and its status: moto copies no image and does not implement
  ``DescribeImageReplicationStatus``; ``verify`` is judged on images the test pushes to both
  sides, and must say the status detail is unavailable;
* delivery of an alert: nothing publishes a replication event here; the test asserts the
  rule's pattern and target, the topic, its key, policy and subscription, and the alarm.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import CDK, REPO, Endpoint, Ran, run

pytestmark = pytest.mark.e2e

SOURCE = "111111111111"
SOURCE_REGION = "us-east-1"
DESTINATION = "222222222222"
DESTINATION_REGION = "eu-west-1"
OPERATIONS = "333333333333"
OTHER_TEAM = "444444444444"

SOURCE_STACK = f"EcrReplicationSource-{SOURCE}-{SOURCE_REGION}"
DESTINATION_STACK = f"EcrReplicationDestination-{DESTINATION}-{DESTINATION_REGION}"
DESTINATION_ROLE = f"ecr-replication-destination-{DESTINATION_REGION}"
SOURCE_ROLE = f"ecr-replication-source-{SOURCE_REGION}"
OPERATOR_ARN = f"arn:aws:iam::{OPERATIONS}:user/e2e"

KEPT_STATEMENT = {
    "Sid": "TeamBReplication",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OTHER_TEAM}:root"},
    "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
    "Resource": f"arn:aws:ecr:{DESTINATION_REGION}:{DESTINATION}:repository/team-b/*",
}

TOPOLOGY: dict[str, Any] = {
    "sources": [
        {
            "account": SOURCE,
            "region": SOURCE_REGION,
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [{"account": DESTINATION, "region": DESTINATION_REGION}],
                }
            ],
        }
    ],
    "operations": {"account": OPERATIONS},
    "destinationDefaults": {"role": {"trustedPrincipalArns": [OPERATOR_ARN]}},
    "destinationRegistries": [
        {
            "account": DESTINATION,
            "region": DESTINATION_REGION,
            "additionalPolicyStatements": [KEPT_STATEMENT],
        }
    ],
}


def changed_topology() -> dict[str, Any]:
    """The second deploy: one more prefix in the same rule, and local alerts switched on."""
    topology = copy.deepcopy(TOPOLOGY)
    topology["sources"][0]["rules"][0]["repositoryPrefixes"].append("shared/")
    topology["monitoring"] = {"notificationEmails": ["platform-alerts@example.com"]}
    return topology


class Project:
    """A user's CDK project folder (``app.py`` and ``cdk.json``) outside the checkout, and the
    commands a user runs in it, as one account's user."""

    def __init__(self, folder: Path, endpoint: Endpoint) -> None:
        self.folder = folder
        self.endpoint = endpoint
        self.home = folder / "home"
        self.home.mkdir()
        (folder / "app.py").write_text((REPO / "app.py").read_text())
        self.cdk_json = json.loads((REPO / "cdk.json").read_text())
        self.cdk_json["app"] = f"{sys.executable} app.py"
        self.ran: list[Ran] = []

    def write_topology(self, topology: dict[str, Any]) -> None:
        self.cdk_json["context"]["ecrReplication"] = topology
        (self.folder / "cdk.json").write_text(json.dumps(self.cdk_json, indent=2))

    def run(self, command: list[str], *, account: str = OPERATIONS) -> Ran:
        ran = run(command, cwd=self.folder, env=self.endpoint.environment(account, self.home))
        self.ran.append(ran)
        return ran

    def cdk(self, *args: str, account: str = OPERATIONS) -> Ran:
        ran = self.run([str(CDK), *args, "--no-notices", "--ci"], account=account)
        assert ran.returncode == 0, ran.describe()
        return ran

    def ops(self, *args: str, account: str = OPERATIONS) -> Ran:
        return self.run([sys.executable, "-m", "ecr_replication", *args], account=account)

    def ops_json(self, *args: str, expect: int, account: str = OPERATIONS) -> dict[str, Any]:
        ran = self.ops(*args, "--json", account=account)
        assert ran.returncode == expect, ran.describe()
        document: dict[str, Any] = json.loads(ran.stdout)
        return document


# ---------------------------------------------------------------------------------------------
# Reading the live state


def registry_policy(endpoint: Endpoint) -> dict[str, dict[str, Any]] | None:
    """The destination's live registry policy, by Sid; None when it has none."""
    ecr = endpoint.client("ecr", DESTINATION, DESTINATION_REGION)
    try:
        text = ecr.get_registry_policy()["policyText"]
    except ecr.exceptions.RegistryPolicyNotFoundException:
        return None
    statements = json.loads(text)["Statement"]
    return {s["Sid"]: s for s in statements}


def replication_rules(endpoint: Endpoint) -> list[dict[str, Any]]:
    ecr = endpoint.client("ecr", SOURCE, SOURCE_REGION)
    rules: list[dict[str, Any]] = ecr.describe_registry()["replicationConfiguration"]["rules"]
    return rules


def templates(endpoint: Endpoint) -> dict[str, dict[str, Any]]:
    ecr = endpoint.client("ecr", DESTINATION, DESTINATION_REGION)
    listed = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    return {t["prefix"]: t for t in listed}


def role_names(endpoint: Endpoint, account: str) -> set[str]:
    iam = endpoint.client("iam", account, "us-east-1")
    return {r["RoleName"] for r in iam.list_roles()["Roles"]}


def stack_resources(endpoint: Endpoint, account: str, region: str, stack: str) -> dict[str, str]:
    """Resource type -> physical id of a stack's live resources (the last one of each type)."""
    cloudformation = endpoint.client("cloudformation", account, region)
    listed = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    # moto lists a resource type it skips (AWS::CDK::Metadata) without a type.
    return {
        r["ResourceType"]: r.get("PhysicalResourceId", "") for r in listed if "ResourceType" in r
    }


def stack_names(endpoint: Endpoint, account: str, region: str) -> set[str]:
    cloudformation = endpoint.client("cloudformation", account, region)
    return {
        s["StackName"]
        for s in cloudformation.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }


def granted_prefixes(statement: dict[str, Any]) -> set[str]:
    resources = statement["Resource"]
    resources = [resources] if isinstance(resources, str) else resources
    return {r.split(":repository/", 1)[1] for r in resources}


def generated_grant(policy: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The one statement of the live policy that grants the source account."""
    grants = [
        s
        for s in policy.values()
        if s["Principal"] == {"AWS": f"arn:aws:iam::{SOURCE}:root"}
        or s["Principal"] == {"AWS": SOURCE}
    ]
    assert len(grants) == 1, policy
    return grants[0]


# ---------------------------------------------------------------------------------------------
# Images the test pushes (moto replicates nothing)


def manifest(name: str) -> str:
    layer = hashlib.sha256(name.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": f"sha256:{layer}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 32654,
                    "digest": f"sha256:{layer}",
                }
            ],
        }
    )


def push(
    endpoint: Endpoint, registry: tuple[str, str], repository: str, tag: str, body: str
) -> str:
    """Push an image manifest under a tag (the repository is created on first use)."""
    ecr = endpoint.client("ecr", *registry)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    image = ecr.put_image(repositoryName=repository, imageManifest=body, imageTag=tag)["image"]
    digest: str = image["imageId"]["imageDigest"]
    return digest


# ---------------------------------------------------------------------------------------------
# The lifecycle


def test_deploy_change_operate_destroy_and_release_lose_nothing(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    started = time.monotonic()
    project = Project(tmp_path, endpoint)
    project.write_topology(TOPOLOGY)

    # 1. Bootstrap both environments, each with its own account's credentials, trusting the
    #    operations account to deploy.
    for account, region in ((SOURCE, SOURCE_REGION), (DESTINATION, DESTINATION_REGION)):
        project.cdk(
            "bootstrap",
            f"aws://{account}/{region}",
            "--trust",
            OPERATIONS,
            "--cloudformation-execution-policies",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            account=account,
        )
        assert f"cdk-hnb659fds-deploy-role-{account}-{region}" in role_names(endpoint, account)

    # 2. Deploy everything from the operations account.
    project.cdk("deploy", "--all", "--require-approval", "never")
    policy = registry_policy(endpoint)
    assert policy is not None
    assert policy[KEPT_STATEMENT["Sid"]] == KEPT_STATEMENT
    grant = generated_grant(policy)
    assert granted_prefixes(grant) == {"prod/*"}
    assert set(grant["Action"]) == {"ecr:ReplicateImage", "ecr:CreateRepository"}
    assert [
        (r["destinations"], [f["filter"] for f in r.get("repositoryFilters", [])])
        for r in replication_rules(endpoint)
    ] == [([{"region": DESTINATION_REGION, "registryId": DESTINATION}], ["prod/"])]
    assert set(templates(endpoint)) == {"prod"}
    assert templates(endpoint)["prod"]["appliedFor"] == ["REPLICATION"]
    assert templates(endpoint)["prod"]["imageTagMutability"] == "IMMUTABLE"
    assert DESTINATION_ROLE in role_names(endpoint, DESTINATION)
    assert SOURCE_ROLE in role_names(endpoint, SOURCE)

    # While the destination's stack exists, release refuses and names it.
    refused = project.ops("release", "--destination", f"{DESTINATION}/{DESTINATION_REGION}")
    assert refused.returncode == 1, refused.describe()
    assert DESTINATION_STACK in refused.stderr + refused.stdout

    # 3. Change the topology and deploy again: one more prefix, and local alerts.
    project.write_topology(changed_topology())
    project.cdk("deploy", "--all", "--require-approval", "never")
    policy = registry_policy(endpoint)
    assert policy is not None
    assert policy[KEPT_STATEMENT["Sid"]] == KEPT_STATEMENT
    assert granted_prefixes(generated_grant(policy)) == {"prod/*", "shared/*"}
    rules = replication_rules(endpoint)
    assert len(rules) == 1
    assert [f["filter"] for f in rules[0]["repositoryFilters"]] == ["prod/", "shared/"]
    assert set(templates(endpoint)) == {"prod", "shared"}
    alerts = stack_resources(endpoint, DESTINATION, DESTINATION_REGION, DESTINATION_STACK)
    for kind in (
        "AWS::Events::Rule",
        "AWS::SNS::Topic",
        "AWS::KMS::Key",
        "AWS::CloudWatch::Alarm",
        "AWS::SNS::Subscription",
        "AWS::SNS::TopicPolicy",
    ):
        assert alerts.get(kind), f"{kind} missing from the destination stack: {alerts}"
    events = endpoint.client("events", DESTINATION, DESTINATION_REGION)
    rule = events.describe_rule(Name=alerts["AWS::Events::Rule"].split("/")[-1])
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.ecr"]
    assert pattern["detail-type"] == ["ECR Replication Action"]
    assert pattern["detail"]["result"] == ["FAILED"]
    topic_arn = alerts["AWS::SNS::Topic"]
    target = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert [t["Arn"] for t in target] == [topic_arn]
    sns = endpoint.client("sns", DESTINATION, DESTINATION_REGION)
    key_id = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["KmsMasterKeyId"]
    kms = endpoint.client("kms", DESTINATION, DESTINATION_REGION)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"].endswith(alerts["AWS::KMS::Key"])
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == (
        "email",
        "platform-alerts@example.com",
    )
    topic_policy = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
    assert {"events.amazonaws.com", "cloudwatch.amazonaws.com"} <= {
        s["Principal"].get("Service") for s in topic_policy["Statement"]
    }
    cloudwatch = endpoint.client("cloudwatch", DESTINATION, DESTINATION_REGION)
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[alerts["AWS::CloudWatch::Alarm"]])[
        "MetricAlarms"
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Events", "MatchedEvents")
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": rule["Name"]}]
    assert alarm["AlarmActions"] == [topic_arn]

    # 4. Operate from the operations account, through the roles the stacks created.
    checked = project.ops_json("preflight", expect=0)
    assert checked["problems"] == 0
    assert checked["unchecked"] == []
    assert {(c["registry"], c["check"], c["status"]) for c in checked["checks"]} >= {
        (f"{SOURCE}/{SOURCE_REGION}", "replication-configuration", "ok"),
        (f"{DESTINATION}/{DESTINATION_REGION}", "registry-policy", "ok"),
        (f"{DESTINATION}/{DESTINATION_REGION}", "repository-templates", "ok"),
    }

    same = manifest("v1")
    push(endpoint, (SOURCE, SOURCE_REGION), "prod/api", "v1", same)
    push(endpoint, (DESTINATION, DESTINATION_REGION), "prod/api", "v1", same)
    source_v2 = push(endpoint, (SOURCE, SOURCE_REGION), "prod/api", "v2", manifest("v2"))
    other_v2 = push(endpoint, (DESTINATION, DESTINATION_REGION), "prod/api", "v2", manifest("x"))
    missing_v3 = push(endpoint, (SOURCE, SOURCE_REGION), "prod/api", "v3", manifest("v3"))
    verified = project.ops_json("verify", expect=1)
    [result] = [r for r in verified["results"] if r["repository"] == "prod/api"]
    assert result["status"] == "problem"
    assert [(m["tag"], m["digest"]) for m in result["missingTags"]] == [("v3", missing_v3)]
    assert [
        (m["tag"], m["sourceDigest"], m["destinationDigest"]) for m in result["digestMismatches"]
    ] == [("v2", source_v2, other_v2)]
    statuses = [m["replicationStatus"] for m in result["missingTags"] + result["digestMismatches"]]
    assert statuses and all(
        s is not None and s["status"] is None and "not offered" in (s["error"] or "")
        for s in statuses
    ), statuses

    imported = project.ops_json(
        "import",
        "--source",
        f"{SOURCE}/{SOURCE_REGION}",
        "--operations-account",
        OPERATIONS,
        expect=0,
    )
    written = imported["topology"]
    assert written["sources"] == changed_topology()["sources"]
    [destination] = written["destinationRegistries"]
    assert destination["additionalPolicyStatements"] == [KEPT_STATEMENT]
    assert destination["repositoryTemplate"].get("enabled", True) is True
    # The alerts are read back from the destination stack's resources; the address of their
    # e-mail subscription is not in that list, and the note says what a deploy would remove.
    assert written["monitoring"] == {}
    [alerts_note] = [n for n in imported["notes"] if n.startswith("monitoring:")]
    assert "1 e-mail subscription(s) are not" in alerts_note
    assert "deploying this file as it is would remove them" in alerts_note
    assert any(n.startswith("destinationDefaults.role:") for n in imported["notes"])

    # 5. Destroy every stack; the registry policy, which holds a kept statement, stays whole.
    project.cdk("destroy", "--all", "--force")
    assert stack_names(endpoint, SOURCE, SOURCE_REGION) == {"CDKToolkit"}
    assert stack_names(endpoint, DESTINATION, DESTINATION_REGION) == {"CDKToolkit"}
    assert replication_rules(endpoint) == []
    assert templates(endpoint) == {}
    assert DESTINATION_ROLE not in role_names(endpoint, DESTINATION)
    assert SOURCE_ROLE not in role_names(endpoint, SOURCE)
    policy = registry_policy(endpoint)
    assert policy is not None
    assert policy[KEPT_STATEMENT["Sid"]] == KEPT_STATEMENT
    generated_sid = generated_grant(policy)["Sid"]

    # 6. Release: remove what the stacks generated, keep everything else. The destination role
    #    went with its stack: the destination account's own credentials do it.
    release = ["release", "--destination", f"{DESTINATION}/{DESTINATION_REGION}"]
    dry = project.ops(*release, "--dry-run", "--no-assume-role", account=DESTINATION)
    assert dry.returncode == 0, dry.describe()
    assert generated_sid in dry.stdout
    assert registry_policy(endpoint) == policy  # nothing changed
    done = project.ops(*release, "--no-assume-role", account=DESTINATION)
    assert done.returncode == 0, done.describe()
    assert generated_sid in done.stdout
    assert registry_policy(endpoint) == {KEPT_STATEMENT["Sid"]: KEPT_STATEMENT}
    again = project.ops(*release, "--no-assume-role", account=DESTINATION)
    assert again.returncode == 0, again.describe()

    elapsed = time.monotonic() - started
    print(
        f"e2e lifecycle: {elapsed:.0f}s; "
        + ", ".join(f"{' '.join(r.command[1:3])} {r.seconds:.1f}s" for r in project.ran)
    )
