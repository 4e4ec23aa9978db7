"""A live world of registries for the adoption round trip, and a deploy applied to it.

:class:`LiveWorld` holds what a set of registries has live: each registry's replication rules,
registry policy, repository creation templates, the templates its destination stack owns, its
registry policy scope, and the reads that fail there (a fault is a property of the world: every
read of that call fails, in ``import`` and in ``preflight`` alike). :func:`serve` answers the
registry-level ECR calls (``DescribeRegistry``, ``GetRegistryPolicy``,
``DescribeRepositoryCreationTemplates``, ``GetAccountSetting``) and CloudFormation's
``DescribeStackResources`` from it, on every client the commands create; moto
still serves STS (role assumption) and EC2 (region opt-in). moto accepts only one replication
rule and has no creation templates, so the world cannot live there.

:func:`apply_assembly` is the deploy: every ``AWS::ECR::ReplicationConfiguration``,
``RegistryPolicy`` and ``RepositoryCreationTemplate`` of a synthesized assembly put into the
world the way CloudFormation creates it, replacing what was there.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from ecr_replication import cli
from ecr_replication.model import Registry
from ecr_replication.model.policies import compact_json
from ecr_replication.naming import destination_stack_name
from ecr_replication.ops import aws

from .opshelp import SOURCE_ACCOUNT, CliResult

Statement = dict[str, Any]
TEMPLATE_RESOURCE = "AWS::ECR::RepositoryCreationTemplate"


@dataclass(kw_only=True)
class LiveRegistry:
    """One registry as it is live (the API's forms, as ``Describe*`` calls return them).

    ``policy`` None: the registry has no registry policy. ``stack_templates`` None: no
    destination stack exists; otherwise the template prefixes that stack owns. ``faults``:
    operation name -> the error code every call of it answers.
    """

    rules: list[dict[str, Any]] = field(default_factory=list)
    policy: list[Statement] | None = None
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack_templates: set[str] | None = None
    policy_scope: str = "V2"
    """``GetAccountSetting(REGISTRY_POLICY_SCOPE)``: V2, the default since the setting exists."""
    faults: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class LiveWorld:
    """Registries by ``ACCOUNT/REGION``; ``operations_account``: where the commands run from
    (moto's caller), when the set-up has one."""

    registries: dict[str, LiveRegistry] = field(default_factory=dict)
    operations_account: str | None = None

    def at(self, registry: Registry) -> LiveRegistry:
        return self.registries.setdefault(registry.key, LiveRegistry())

    @property
    def sources(self) -> list[Registry]:
        """The registries that replicate (what ``import --source`` is given)."""
        return [_registry(key) for key, live in self.registries.items() if live.rules]

    # -- answering calls ---------------------------------------------------------------------

    def answer(self, registry: Registry, operation: str, params: Mapping[str, Any]) -> Any:
        live = self.at(registry)
        if operation in live.faults:
            return _error(live.faults[operation], f"injected fault in {registry.key}")
        if operation == "DescribeRegistry":
            return {
                "registryId": registry.account,
                "replicationConfiguration": {"rules": live.rules},
            }
        if operation == "GetRegistryPolicy":
            if live.policy is None:
                return _error("RegistryPolicyNotFoundException", "no registry policy")
            document = {"Version": "2012-10-17", "Statement": live.policy}
            return {"registryId": registry.account, "policyText": compact_json(document)}
        if operation == "DescribeRepositoryCreationTemplates":
            return {
                "registryId": registry.account,
                "repositoryCreationTemplates": list(live.templates.values()),
            }
        if operation == "GetAccountSetting":
            if params.get("name") != "REGISTRY_POLICY_SCOPE":
                return _error("InvalidParameterException", f"unknown setting {params.get('name')}")
            return {"name": params["name"], "value": live.policy_scope}
        if operation == "DescribeStackResources":
            stack = destination_stack_name(registry)
            if params.get("StackName") != stack or live.stack_templates is None:
                return _error(
                    "ValidationError", f"Stack with id {params.get('StackName')} does not exist"
                )
            return {
                "StackResources": [
                    {
                        "StackName": stack,
                        "LogicalResourceId": f"Template{index}",
                        "PhysicalResourceId": prefix,
                        "ResourceType": TEMPLATE_RESOURCE,
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for index, prefix in enumerate(sorted(live.stack_templates))
                ]
            }
        raise AssertionError(f"the live world does not answer {operation}")


def _registry(key: str) -> Registry:
    account, region = key.split("/")
    return Registry(account=account, region=region)


def _error(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(None, 400, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }


def _responder(world: LiveWorld, registry: Registry) -> Callable[..., Any]:
    def respond(model: Any, params: Mapping[str, Any], **_: Any) -> Any:
        answer = world.answer(registry, model.name, params)
        if isinstance(answer, tuple):
            return answer
        return AWSResponse(None, 200, {}, None), {
            **answer,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    return respond


@contextlib.contextmanager
def serve(world: LiveWorld) -> Iterator[LiveWorld]:
    """Answer the registry-level ECR calls and ``DescribeStackResources`` of every client the
    commands create from ``world``; workers run one at a time (a fixed order)."""
    original = aws.RegistryAccess.new_client

    def new_client(self: aws.RegistryAccess, session: Any, key: aws.ClientKey) -> Any:
        client = original(self, session, key)
        if key.service in ("ecr", "cloudformation"):
            registry = Registry(account=key.account or SOURCE_ACCOUNT, region=key.region)
            client.meta.events.register(f"before-call.{key.service}.*", _responder(world, registry))
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws.RegistryAccess, "new_client", new_client)
        patch.setattr(aws, "DEFAULT_MAX_WORKERS", 1)
        yield world


def run_cli(*argv: str) -> CliResult:
    """The console command in-process (usable where a fixture is not, e.g. in Hypothesis)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    assert "Traceback" not in err.getvalue() + out.getvalue()
    return CliResult(code=code, out=out.getvalue(), err=err.getvalue())


# ---------------------------------------------------------------------------------------------
# The deploy: a synthesized assembly applied the way CloudFormation creates its resources


def _literal(value: Any, where: str) -> Any:
    """A property value with no intrinsic function left (the stacks' environments are concrete)."""
    text = json.dumps(value)
    assert '"Fn::' not in text and '"Ref"' not in text, f"{where}: unresolved {text[:120]}"
    return value


def api_rules(properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``AWS::ECR::ReplicationConfiguration`` properties as ``DescribeRegistry`` returns them."""
    rules = []
    for rule in properties["ReplicationConfiguration"]["Rules"]:
        rendered: dict[str, Any] = {
            "destinations": [
                {"region": d["Region"], "registryId": d["RegistryId"]} for d in rule["Destinations"]
            ]
        }
        if rule.get("RepositoryFilters"):
            rendered["repositoryFilters"] = [
                {"filter": f["Filter"], "filterType": f["FilterType"]}
                for f in rule["RepositoryFilters"]
            ]
        if "DeleteReplication" in rule:
            rendered["deleteReplication"] = {"enabled": rule["DeleteReplication"]["Enabled"]}
        rules.append(rendered)
    return rules


def api_template(properties: Mapping[str, Any], account: str) -> dict[str, Any]:
    """``AWS::ECR::RepositoryCreationTemplate`` properties as ``DescribeRepositoryCreationTemplates``
    returns them (a role made by the stack is named by its logical id)."""
    encryption = properties.get("EncryptionConfiguration") or {}
    template: dict[str, Any] = {
        "prefix": properties["Prefix"],
        "appliedFor": list(properties["AppliedFor"]),
        "imageTagMutability": properties.get("ImageTagMutability", "MUTABLE"),
        "encryptionConfiguration": {"encryptionType": encryption.get("EncryptionType", "AES256")},
    }
    if "KmsKey" in encryption:
        template["encryptionConfiguration"]["kmsKey"] = encryption["KmsKey"]
    filters = properties.get("ImageTagMutabilityExclusionFilters") or []
    if filters:
        template["imageTagMutabilityExclusionFilters"] = [
            {
                "filterType": f["ImageTagMutabilityExclusionFilterType"],
                "filter": f["ImageTagMutabilityExclusionFilterValue"],
            }
            for f in filters
        ]
    for key, api_key in (
        ("Description", "description"),
        ("LifecyclePolicy", "lifecyclePolicy"),
        ("RepositoryPolicy", "repositoryPolicy"),
        ("ResourceTags", "resourceTags"),
    ):
        if key in properties:
            template[api_key] = _literal(properties[key], key)
    role = properties.get("CustomRoleArn")
    if isinstance(role, Mapping) and "Fn::GetAtt" in role:
        template["customRoleArn"] = f"arn:aws:iam::{account}:role/{role['Fn::GetAtt'][0]}"
    elif role is not None:
        template["customRoleArn"] = role
    return template


def _stacks(assembly: Path) -> Iterator[tuple[Registry, str, dict[str, Any]]]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        registry = _registry(artifact["environment"].removeprefix("aws://"))
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        yield registry, name, template


def apply_assembly(world: LiveWorld, assembly: Path) -> set[str]:
    """Create every ECR registry resource of the assembly's stacks in ``world``.

    A replication configuration or registry policy replaces the registry's whole one. A
    template for a prefix that already has one made outside the stack makes CloudFormation
    fail ("already exists"); these are returned as ``ACCOUNT/REGION:prefix``, and applied the
    way the README's way out does: the hand-made template deleted, then the deploy.
    """
    conflicts: set[str] = set()
    for registry, name, template in _stacks(assembly):
        live = world.at(registry)
        for logical_id, resource in template.get("Resources", {}).items():
            kind, properties = resource["Type"], resource.get("Properties", {})
            where = f"{name}.{logical_id}"
            if kind == "AWS::ECR::ReplicationConfiguration":
                live.rules = api_rules(_literal(properties, where))
            elif kind == "AWS::ECR::RegistryPolicy":
                document = _literal(properties["PolicyText"], where)
                if isinstance(document, str):
                    document = json.loads(document)
                statements = document["Statement"]
                live.policy = [statements] if isinstance(statements, dict) else list(statements)
            elif kind == TEMPLATE_RESOURCE:
                prefix = properties["Prefix"]
                owned = live.stack_templates or set()
                if prefix in live.templates and prefix not in owned:
                    conflicts.add(f"{registry.key}:{prefix}")
                live.templates[prefix] = api_template(properties, registry.account)
                live.stack_templates = {*owned, prefix}
    return conflicts
