"""The local endpoint's additions to moto (:mod:`tests.e2e.emulator`), one test per modelled
behaviour, each against the running endpoint and, where the behaviour is an API, against
botocore's service model (the fields it answers, the errors it raises).

Each test works in accounts of its own: the endpoint's state lives as long as the session.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from .conftest import Endpoint

pytestmark = pytest.mark.e2e

REGION = "eu-west-1"
_accounts = itertools.count(700000000001)


@pytest.fixture
def account() -> str:
    """An account no other test uses."""
    return str(next(_accounts))


def ecr(endpoint: Endpoint, account: str) -> Any:
    return endpoint.client("ecr", account, REGION)


def cloudformation(endpoint: Endpoint, account: str) -> Any:
    return endpoint.client("cloudformation", account, REGION)


def template_body(resources: dict[str, Any], parameters: dict[str, Any] | None = None) -> str:
    return json.dumps({"Parameters": parameters or {}, "Resources": resources})


def deploy(endpoint: Endpoint, account: str, name: str, body: str, **options: Any) -> str:
    """Create or update a stack through a change set, as the CDK CLI does; its final status."""
    client = cloudformation(endpoint, account)
    try:
        client.describe_stacks(StackName=name)
        kind = "UPDATE"
    except ClientError:
        kind = "CREATE"
    change_set = client.create_change_set(
        StackName=name, ChangeSetName="deploy", TemplateBody=body, ChangeSetType=kind, **options
    )
    client.execute_change_set(ChangeSetName=change_set["Id"], StackName=name)
    status: str = client.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    return status


def policy_resource(account: str, *statements: dict[str, Any], retain: bool = False) -> Any:
    resource: dict[str, Any] = {
        "Type": "AWS::ECR::RegistryPolicy",
        "Properties": {"PolicyText": {"Version": "2012-10-17", "Statement": list(statements)}},
    }
    if retain:
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Retain"
    return resource


def grant(sid: str, source: str, account: str, prefix: str = "prod/*") -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{source}:root"},
        "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
        "Resource": f"arn:aws:ecr:{REGION}:{account}:repository/{prefix}",
    }


def live_sids(endpoint: Endpoint, account: str) -> list[str] | None:
    try:
        text = ecr(endpoint, account).get_registry_policy()["policyText"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "RegistryPolicyNotFoundException"
        return None
    return [s["Sid"] for s in json.loads(text)["Statement"]]


# ---------------------------------------------------------------------------------------------
# AWS::ECR::RegistryPolicy


def test_a_registry_policy_resource_writes_updates_and_deletes_the_whole_policy(
    endpoint: Endpoint, account: str
) -> None:
    """Deleting the resource is ``DeleteRegistryPolicy``: a statement added outside the stack
    goes with it (CloudFormation's handler for the resource deletes the registry's policy)."""
    body = template_body({"Policy": policy_resource(account, grant("A", "111111111111", account))})
    assert deploy(endpoint, account, "policy", body) == "CREATE_COMPLETE"
    assert live_sids(endpoint, account) == ["A"]

    body = template_body(
        {"Policy": policy_resource(account, grant("A", "111111111111", account, "shared/*"))}
    )
    assert deploy(endpoint, account, "policy", body) == "UPDATE_COMPLETE"
    text = ecr(endpoint, account).get_registry_policy()["policyText"]
    assert json.loads(text)["Statement"][0]["Resource"].endswith("repository/shared/*")

    client = ecr(endpoint, account)
    document = json.loads(text)
    document["Statement"].append(grant("Outside", "222222222222", account))
    client.put_registry_policy(policyText=json.dumps(document))
    cloudformation(endpoint, account).delete_stack(StackName="policy")
    assert live_sids(endpoint, account) is None


def test_a_retained_registry_policy_stays_when_its_stack_or_the_resource_goes(
    endpoint: Endpoint, account: str
) -> None:
    retained = policy_resource(account, grant("A", "111111111111", account), retain=True)
    deploy(endpoint, account, "retained", template_body({"Policy": retained}))
    other = {"Type": "AWS::SNS::Topic", "Properties": {}}
    assert deploy(endpoint, account, "retained", template_body({"Topic": other})) == (
        "UPDATE_COMPLETE"
    )
    assert live_sids(endpoint, account) == ["A"], "removed from the template: retained"

    deploy(endpoint, account, "again", template_body({"Policy": retained}))
    cloudformation(endpoint, account).delete_stack(StackName="again")
    assert live_sids(endpoint, account) == ["A"], "stack deleted: retained"


# ---------------------------------------------------------------------------------------------
# Registry policy scope


def test_registry_policy_scope_v2_is_the_default_and_takes_any_ecr_action(
    endpoint: Endpoint, account: str
) -> None:
    client = ecr(endpoint, account)
    assert client.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"] == "V2"
    pull = {**grant("Pull", "111111111111", account), "Action": ["ecr:BatchGetImage"]}
    client.put_registry_policy(
        policyText=json.dumps({"Version": "2012-10-17", "Statement": [pull]})
    )
    assert live_sids(endpoint, account) == ["Pull"]


def test_registry_policy_scope_v1_takes_only_the_three_registry_actions(
    endpoint: Endpoint, account: str
) -> None:
    client = ecr(endpoint, account)
    client.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    assert client.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"] == "V1"
    cache = {**grant("Cache", "111111111111", account), "Action": "ecr:BatchImportUpstreamImage"}
    client.put_registry_policy(
        policyText=json.dumps({"Version": "2012-10-17", "Statement": [cache]})
    )
    pull = {**grant("Pull", "111111111111", account), "Action": ["ecr:BatchGetImage"]}
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.put_registry_policy(
            policyText=json.dumps({"Version": "2012-10-17", "Statement": [pull]})
        )
    assert live_sids(endpoint, account) == ["Cache"]


def test_a_registry_policy_refuses_actions_of_other_services(
    endpoint: Endpoint, account: str
) -> None:
    client = ecr(endpoint, account)
    other = {**grant("S3", "111111111111", account), "Action": "s3:GetObject"}
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.put_registry_policy(
            policyText=json.dumps({"Version": "2012-10-17", "Statement": [other]})
        )


# ---------------------------------------------------------------------------------------------
# Replication configuration


def rule(*prefixes: str, destination: str = "222222222222") -> dict[str, Any]:
    answer: dict[str, Any] = {"destinations": [{"region": "us-east-1", "registryId": destination}]}
    if prefixes:
        answer["repositoryFilters"] = [
            {"filter": p, "filterType": "PREFIX_MATCH"} for p in prefixes
        ]
    return answer


def test_replication_takes_25_rules_and_refuses_26(endpoint: Endpoint, account: str) -> None:
    client = ecr(endpoint, account)
    rules = [rule(f"team{i}/") for i in range(25)]
    client.put_replication_configuration(replicationConfiguration={"rules": rules})
    assert len(client.describe_registry()["replicationConfiguration"]["rules"]) == 25
    with pytest.raises(client.exceptions.ValidationException, match="25"):
        client.put_replication_configuration(
            replicationConfiguration={"rules": [*rules, rule("more/")]}
        )


def test_replication_refuses_the_source_registry_as_a_destination(
    endpoint: Endpoint, account: str
) -> None:
    client = ecr(endpoint, account)
    itself = {"destinations": [{"region": REGION, "registryId": account}]}
    with pytest.raises(client.exceptions.InvalidParameterException, match="same as the source"):
        client.put_replication_configuration(replicationConfiguration={"rules": [itself]})


def test_a_replication_configuration_resource_maps_its_properties_to_the_api(
    endpoint: Endpoint, account: str
) -> None:
    resource = {
        "Type": "AWS::ECR::ReplicationConfiguration",
        "Properties": {
            "ReplicationConfiguration": {
                "Rules": [
                    {
                        "Destinations": [{"Region": "us-east-1", "RegistryId": "222222222222"}],
                        "RepositoryFilters": [{"Filter": "prod/", "FilterType": "PREFIX_MATCH"}],
                        "DeleteReplication": {"Enabled": True},
                    },
                    {"Destinations": [{"Region": "us-west-2", "RegistryId": account}]},
                ]
            }
        },
    }
    deploy(endpoint, account, "replication", template_body({"Replication": resource}))
    live = ecr(endpoint, account).describe_registry()["replicationConfiguration"]["rules"]
    assert live == [
        {
            "destinations": [{"region": "us-east-1", "registryId": "222222222222"}],
            "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}],
            "deleteReplication": {"enabled": True},
        },
        {"destinations": [{"region": "us-west-2", "registryId": account}]},
    ]
    cloudformation(endpoint, account).delete_stack(StackName="replication")
    assert ecr(endpoint, account).describe_registry()["replicationConfiguration"]["rules"] == []


# ---------------------------------------------------------------------------------------------
# Repository creation templates


def test_templates_are_created_listed_by_prefix_and_page_and_deleted(
    endpoint: Endpoint, account: str
) -> None:
    client = ecr(endpoint, account)
    for prefix in ("a", "b", "c"):
        client.create_repository_creation_template(prefix=prefix, appliedFor=["REPLICATION"])
    first = client.describe_repository_creation_templates(maxResults=2)
    assert [t["prefix"] for t in first["repositoryCreationTemplates"]] == ["a", "b"]
    rest = client.describe_repository_creation_templates(maxResults=2, nextToken=first["nextToken"])
    assert [t["prefix"] for t in rest["repositoryCreationTemplates"]] == ["c"]
    assert "nextToken" not in rest
    chosen = client.describe_repository_creation_templates(prefixes=["c", "missing"])
    assert [t["prefix"] for t in chosen["repositoryCreationTemplates"]] == ["c"]
    listed = first["repositoryCreationTemplates"][0]
    assert listed["imageTagMutability"] == "MUTABLE"
    assert listed["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert listed["createdAt"] == listed["updatedAt"]
    with pytest.raises(client.exceptions.TemplateAlreadyExistsException):
        client.create_repository_creation_template(prefix="a", appliedFor=["REPLICATION"])
    client.delete_repository_creation_template(prefix="a")
    with pytest.raises(client.exceptions.TemplateNotFoundException):
        client.delete_repository_creation_template(prefix="a")


def test_a_template_resource_maps_exclusion_filters_and_tags_and_an_update_writes_it_whole(
    endpoint: Endpoint, account: str
) -> None:
    properties: dict[str, Any] = {
        "Prefix": "prod",
        "AppliedFor": ["REPLICATION", "CREATE_ON_PUSH"],
        "ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "ImageTagMutabilityExclusionFilters": [
            {
                "ImageTagMutabilityExclusionFilterType": "WILDCARD",
                "ImageTagMutabilityExclusionFilterValue": "latest",
            }
        ],
        "EncryptionConfiguration": {"EncryptionType": "AES256"},
        "ResourceTags": [{"Key": "team", "Value": "platform"}],
        "Description": "replicated",
    }
    resource = {"Type": "AWS::ECR::RepositoryCreationTemplate", "Properties": properties}
    deploy(endpoint, account, "templates", template_body({"Template": resource}))
    [live] = ecr(endpoint, account).describe_repository_creation_templates()[
        "repositoryCreationTemplates"
    ]
    assert live["appliedFor"] == ["REPLICATION", "CREATE_ON_PUSH"]
    assert live["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"}
    ]
    assert live["resourceTags"] == [{"Key": "team", "Value": "platform"}]

    properties = {"Prefix": "prod", "AppliedFor": ["REPLICATION"]}
    resource = {"Type": "AWS::ECR::RepositoryCreationTemplate", "Properties": properties}
    deploy(endpoint, account, "templates", template_body({"Template": resource}))
    [live] = ecr(endpoint, account).describe_repository_creation_templates()[
        "repositoryCreationTemplates"
    ]
    assert "resourceTags" not in live and "description" not in live
    assert live["imageTagMutability"] == "MUTABLE"
    cloudformation(endpoint, account).delete_stack(StackName="templates")
    assert (
        ecr(endpoint, account).describe_repository_creation_templates()[
            "repositoryCreationTemplates"
        ]
        == []
    )


def shape_members(shape: Any) -> set[str]:
    return set(shape.members)


def test_the_added_ecr_operations_answer_only_what_botocores_model_describes(
    endpoint: Endpoint, account: str
) -> None:
    """Every field the added operations send is a member of the operation's output shape
    (templates: of ``RepositoryCreationTemplate``), and every error they raise is one the
    operation lists."""
    model = botocore.session.get_session().get_service_model("ecr")
    client = ecr(endpoint, account)
    bodies: list[dict[str, Any]] = []

    def keep(response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict["status_code"] == 200:
            bodies.append(json.loads(response_dict["body"] or b"{}"))

    client.meta.events.register("before-parse.ecr.*", keep)
    template_shape = model.shape_for("RepositoryCreationTemplate")
    calls = {
        "CreateRepositoryCreationTemplate": lambda: client.create_repository_creation_template(
            prefix="x", appliedFor=["REPLICATION"], description="d"
        ),
        "UpdateRepositoryCreationTemplate": lambda: client.update_repository_creation_template(
            prefix="x", description="e"
        ),
        "DescribeRepositoryCreationTemplates": lambda: (
            client.describe_repository_creation_templates(maxResults=1)
        ),
        "GetAccountSetting": lambda: client.get_account_setting(name="REGISTRY_POLICY_SCOPE"),
        "PutAccountSetting": lambda: client.put_account_setting(
            name="REGISTRY_POLICY_SCOPE", value="V2"
        ),
        "DeleteRepositoryCreationTemplate": lambda: client.delete_repository_creation_template(
            prefix="x"
        ),
    }
    for operation, call in calls.items():
        bodies.clear()
        call()
        [body] = bodies
        output = model.operation_model(operation).output_shape
        assert set(body) <= shape_members(output), operation
        for template in body.get(
            "repositoryCreationTemplates", [body.get("repositoryCreationTemplate")]
        ):
            if template is not None:
                assert set(template) <= shape_members(template_shape), operation

    errors = {
        "CreateRepositoryCreationTemplate": lambda: [
            client.create_repository_creation_template(prefix="y", appliedFor=["REPLICATION"])
            for _ in range(2)
        ],
        "UpdateRepositoryCreationTemplate": lambda: client.update_repository_creation_template(
            prefix="missing"
        ),
        "DeleteRepositoryCreationTemplate": lambda: client.delete_repository_creation_template(
            prefix="missing"
        ),
        "DescribeRepositoryCreationTemplates": lambda: (
            client.describe_repository_creation_templates(nextToken="not-a-token")
        ),
        "GetAccountSetting": lambda: client.get_account_setting(name="NOT_A_SETTING"),
        "PutReplicationConfiguration": lambda: client.put_replication_configuration(
            replicationConfiguration={"rules": [rule()] * 26}
        ),
    }
    for operation, call in errors.items():
        with pytest.raises(ClientError) as raised:
            call()
        listed = {e.name for e in model.operation_model(operation).error_shapes}
        assert raised.value.response["Error"]["Code"] in listed, operation


# ---------------------------------------------------------------------------------------------
# CloudFormation change sets, parameters and failures


def test_a_missing_change_set_is_not_found_and_deleting_it_succeeds(
    endpoint: Endpoint, account: str
) -> None:
    client = cloudformation(endpoint, account)
    deploy(endpoint, account, "sets", template_body({"T": {"Type": "AWS::SNS::Topic"}}))
    client.delete_change_set(StackName="sets", ChangeSetName="never-made")
    with pytest.raises(client.exceptions.ChangeSetNotFoundException):
        client.describe_change_set(StackName="sets", ChangeSetName="never-made")


def test_an_executed_change_set_is_removed_with_the_stacks_other_change_sets(
    endpoint: Endpoint, account: str
) -> None:
    client = cloudformation(endpoint, account)
    body = template_body({"T": {"Type": "AWS::SNS::Topic"}})
    deploy(endpoint, account, "executed", body)
    spare = client.create_change_set(
        StackName="executed",
        ChangeSetName="spare",
        TemplateBody=template_body({"U": {"Type": "AWS::SNS::Topic"}}),
        ChangeSetType="UPDATE",
    )
    deploy(endpoint, account, "executed", template_body({"V": {"Type": "AWS::SNS::Topic"}}))
    with pytest.raises(client.exceptions.ChangeSetNotFoundException):
        client.describe_change_set(StackName="executed", ChangeSetName=spare["Id"])


def test_an_ssm_typed_parameter_passed_with_its_previous_value_is_resolved_again(
    endpoint: Endpoint, account: str
) -> None:
    """What the CDK CLI sends for ``BootstrapVersion`` on every update."""
    endpoint.client("ssm", account, REGION).put_parameter(
        Name="/e2e/version", Value="21", Type="String"
    )
    parameters = {
        "Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/e2e/version"}
    }
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Ref": "Version"}}}
    deploy(endpoint, account, "ssm", template_body({"T": topic}, parameters))
    status = deploy(
        endpoint,
        account,
        "ssm",
        template_body({"T": topic, "U": {"Type": "AWS::SNS::Topic"}}, parameters),
        Parameters=[{"ParameterKey": "Version", "UsePreviousValue": True}],
    )
    assert status == "UPDATE_COMPLETE"


def test_a_failed_execution_fails_the_stack_instead_of_answering_500(
    endpoint: Endpoint, account: str
) -> None:
    bad = policy_resource(account, {**grant("S3", "111111111111", account), "Action": "s3:*"})
    deploy(endpoint, account, "failing", template_body({"T": {"Type": "AWS::SNS::Topic"}}))
    assert deploy(endpoint, account, "failing", template_body({"P": bad})) == (
        "UPDATE_ROLLBACK_FAILED"
    )


# ---------------------------------------------------------------------------------------------
# Alert resources moto skips, and KMS key policies


def test_subscriptions_topic_policies_and_alarms_are_created_and_deleted(
    endpoint: Endpoint, account: str
) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Events",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": {"Ref": "Topic"},
            }
        ],
    }
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Mail": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "email",
                "Endpoint": "a@example.com",
                "TopicArn": {"Ref": "Topic"},
            },
        },
        "Policy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": policy},
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/Events",
                "MetricName": "MatchedEvents",
                "Dimensions": [{"Name": "RuleName", "Value": "r"}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
        "UsesAlarmArn": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": {"Fn::GetAtt": ["Alarm", "Arn"]}},
        },
    }
    deploy(endpoint, account, "alerts", template_body(resources))
    sns = endpoint.client("sns", account, REGION)
    cloudwatch = endpoint.client("cloudwatch", account, REGION)
    [topic] = [t["TopicArn"] for t in sns.list_topics()["Topics"] if "Topic" in t["TopicArn"]]
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["Endpoint"] == "a@example.com"
    live_policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert [s["Sid"] for s in live_policy["Statement"]] == ["Events"]
    [alarm] = cloudwatch.describe_alarms()["MetricAlarms"]
    assert alarm["AlarmActions"] == [topic]
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": "r"}]

    cloudformation(endpoint, account).delete_stack(StackName="alerts")
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_a_key_policy_from_a_template_is_kept_as_text(endpoint: Endpoint, account: str) -> None:
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    resources = {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}}}
    deploy(endpoint, account, "key", template_body(resources))
    kms = endpoint.client("kms", account, REGION)
    [key] = kms.list_keys()["Keys"]
    assert (
        json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        == key_policy
    )
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]
