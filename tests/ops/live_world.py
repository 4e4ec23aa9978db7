"""A live world of registries for the adoption round trip, and a deploy applied to it.

:class:`LiveWorld` holds what a set of registries has live: each registry's replication rules,
registry policy, repository creation templates, the templates its destination stack owns, its
registry policy scope, and the reads that fail there (a fault is a property of the world: every
read of that call fails, in ``import`` and in ``preflight`` alike; a flaky call fails its first
attempts and then answers). :func:`serve` answers the registry-level ECR calls
(``DescribeRegistry``, ``GetRegistryPolicy``, ``DescribeRepositoryCreationTemplates``,
``GetAccountSetting``) and CloudFormation's ``DescribeStackResources`` from it, on every client
the commands create, with the commands' own workers (answers depend on the world, never on the
order of calls); moto still serves STS (role assumption) and EC2 (region opt-in). moto accepts
only one replication rule and has no creation templates, so the world cannot live there.

The fake follows botocore's model of each call (``tests/ops/test_fakes.py`` checks it): ECR
answers go over the wire format (JSON), below botocore's retry handler, so botocore parses
them, and a ``ThrottlingException`` or ``ServerException`` is retried with the commands' own
retry settings (the waits between attempts are skipped) before it is reported;
``DescribeRepositoryCreationTemplates`` pages with ``nextToken`` / ``maxResults`` (at most
:attr:`LiveWorld.page_size` templates a page, as a service may return fewer than asked) and
filters by ``prefixes``; templates carry ``createdAt`` / ``updatedAt``.

:func:`apply_assembly` is the deploy: every ``AWS::ECR::ReplicationConfiguration``,
``RegistryPolicy`` and ``RepositoryCreationTemplate`` of a synthesized assembly put into the
world the way CloudFormation creates it, replacing what was there.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

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
    operation name -> the error code every attempt of every call of it answers. ``flaky``:
    operation name -> (error code, attempts): every call of it fails its first ``attempts``
    attempts with that code, then answers.
    """

    rules: list[dict[str, Any]] = field(default_factory=list)
    policy: list[Statement] | None = None
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack_templates: set[str] | None = None
    policy_scope: str = "V2"
    """``GetAccountSetting(REGISTRY_POLICY_SCOPE)``: V2, the default since the setting exists."""
    faults: dict[str, str] = field(default_factory=dict)
    flaky: dict[str, tuple[str, int]] = field(default_factory=dict)


@dataclass(kw_only=True)
class LiveWorld:
    """Registries by ``ACCOUNT/REGION``; ``operations_account``: where the commands run from
    (moto's caller), when the set-up has one."""

    SERVED: ClassVar[dict[str, tuple[str, ...]]] = {
        "ecr": (
            "DescribeRegistry",
            "GetRegistryPolicy",
            "DescribeRepositoryCreationTemplates",
            "GetAccountSetting",
        ),
        "cloudformation": ("DescribeStackResources",),
    }
    """Every call the world answers, by botocore service name."""
    ERRORS: ClassVar[dict[str, tuple[str, ...]]] = {
        "GetRegistryPolicy": ("RegistryPolicyNotFoundException",),
        "DescribeRepositoryCreationTemplates": ("InvalidParameterException",),
        "GetAccountSetting": ("InvalidParameterException",),
        "DescribeStackResources": ("ValidationError",),
    }
    """The errors it answers by itself (besides the injected ``faults`` and ``flaky``)."""

    registries: dict[str, LiveRegistry] = field(default_factory=dict)
    operations_account: str | None = None
    page_size: int = 2
    """At most this many templates in one page of ``DescribeRepositoryCreationTemplates``."""

    def at(self, registry: Registry) -> LiveRegistry:
        return self.registries.setdefault(registry.key, LiveRegistry())

    @property
    def sources(self) -> list[Registry]:
        """The registries that replicate (what ``import --source`` is given)."""
        return [_registry(key) for key, live in self.registries.items() if live.rules]

    # -- answering calls ---------------------------------------------------------------------

    def answer(
        self, registry: Registry, operation: str, params: Mapping[str, Any], attempt: int = 1
    ) -> Any:
        """The answer to one attempt of a call: the response's members, or ``(AWSResponse,
        error)`` for an error."""
        live = self.at(registry)
        if operation in live.faults:
            return _error(live.faults[operation], f"injected fault in {registry.key}")
        code, failing = live.flaky.get(operation, ("", 0))
        if attempt <= failing:
            return _error(code, f"injected fault in {registry.key}, attempt {attempt}")
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
            return self._templates_page(registry, params)
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
                        "Timestamp": DEPLOYED_AT,
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for index, prefix in enumerate(sorted(live.stack_templates))
                ]
            }
        raise AssertionError(f"the live world does not answer {operation}")

    def _templates_page(self, registry: Registry, params: Mapping[str, Any]) -> Any:
        wanted = params.get("prefixes")
        templates = [
            template
            for prefix, template in sorted(self.at(registry).templates.items())
            if not wanted or prefix in wanted
        ]
        token = params.get("nextToken")
        start = 0
        if token is not None:
            match = re.fullmatch(r"page-(\d+)", str(token))
            if match is None or int(match[1]) > len(templates):
                return _error("InvalidParameterException", f"invalid nextToken {token!r}")
            start = int(match[1])
        size = min(int(params.get("maxResults") or 100), self.page_size)
        page: dict[str, Any] = {
            "registryId": registry.account,
            "repositoryCreationTemplates": templates[start : start + size],
        }
        if start + size < len(templates):
            page["nextToken"] = f"page-{start + size}"
        return page


ERROR_STATUS = {"ServerException": 500, "ThrottlingException": 400}
TEMPLATE_TIMES = {
    "createdAt": datetime.datetime(2026, 1, 5, 9, 30, tzinfo=datetime.UTC),
    "updatedAt": datetime.datetime(2026, 3, 2, 14, 0, tzinfo=datetime.UTC),
}
"""When hand-made templates were created and last changed (the deploy's get the deploy's)."""
DEPLOYED_AT = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC)
"""When the destination stacks were deployed."""


def _registry(key: str) -> Registry:
    account, region = key.split("/")
    return Registry(account=account, region=region)


def _error(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    status = ERROR_STATUS.get(code, 400)
    return AWSResponse(None, status, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


class _Body:
    """A raw HTTP body botocore can read."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _wire(value: Any) -> Any:
    """A response member in the JSON protocol's form (timestamps as epoch seconds)."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


_ATTEMPT = re.compile(rb"attempt=(\d+)")


def _ecr_sender(world: LiveWorld, registry: Registry) -> Callable[..., Any]:
    """Answers an ECR request on the wire (``before-send``: below botocore's retries)."""

    def send(request: Any, **_: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        attempt = _ATTEMPT.search(request.headers.get("amz-sdk-request", b"attempt=1"))
        body = request.body or b"{}"
        params = json.loads(body.decode() if isinstance(body, bytes) else body)
        answer = world.answer(registry, operation, params, int(attempt[1]) if attempt else 1)
        headers = HTTPHeaders({"Content-Type": "application/x-amz-json-1.1"})
        if isinstance(answer, tuple):
            response, error = answer
            document = {"__type": error["Error"]["Code"], "message": error["Error"]["Message"]}
            return AWSResponse(
                request.url, response.status_code, headers, _Body(json.dumps(document).encode())
            )
        return AWSResponse(request.url, 200, headers, _Body(json.dumps(_wire(answer)).encode()))

    return send


def _cloudformation_responder(world: LiveWorld, registry: Registry) -> Callable[..., Any]:
    def respond(model: Any, params: Mapping[str, Any], **_: Any) -> Any:
        answer = world.answer(registry, model.name, params)
        if isinstance(answer, tuple):
            return answer
        return AWSResponse(None, 200, {}, None), {
            **answer,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    return respond


def attach(world: LiveWorld, client: Any, registry: Registry) -> Any:
    """Let ``world`` answer the calls of an ECR or CloudFormation ``client`` of ``registry``."""
    from moto.core.models import botocore_stubber

    service = client.meta.service_model.service_name
    if service == "ecr":
        client.meta.events.unregister("before-send", botocore_stubber)  # not moto: the world
        client.meta.events.register_first("before-send.ecr.*", _ecr_sender(world, registry))
    elif service == "cloudformation":
        client.meta.events.register(
            "before-call.cloudformation.*", _cloudformation_responder(world, registry)
        )
    return client


def skip_retry_waits(patch: pytest.MonkeyPatch) -> None:
    """botocore retries as configured, without waiting between attempts."""
    from botocore.retries import adaptive, standard

    patch.setattr(standard.ExponentialBackoff, "delay_amount", lambda *_: 0)
    patch.setattr(adaptive.ClientRateLimiter, "on_sending_request", lambda *_, **__: None)


@contextlib.contextmanager
def serve(world: LiveWorld) -> Iterator[LiveWorld]:
    """Answer the registry-level ECR calls and ``DescribeStackResources`` of every client the
    commands create from ``world``, with the commands' own workers and retry settings (only
    the waits between attempts are skipped)."""
    original = aws.RegistryAccess.new_client

    def new_client(self: aws.RegistryAccess, session: Any, key: aws.ClientKey) -> Any:
        client = original(self, session, key)
        if key.service in LiveWorld.SERVED:
            registry = Registry(account=key.account or SOURCE_ACCOUNT, region=key.region)
            attach(world, client, registry)
        return client

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws.RegistryAccess, "new_client", new_client)
        skip_retry_waits(patch)
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
                live.templates[prefix] = {
                    **api_template(properties, registry.account),
                    **{time: DEPLOYED_AT for time in TEMPLATE_TIMES},
                }
                live.stack_templates = {*owned, prefix}
    return conflicts
