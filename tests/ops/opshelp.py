"""Helpers for the operations tests: moto accounts, images, topologies, partial stubs.

moto plays every account: the caller is moto's default account (the source), and calls made
with credentials from ``AssumeRole`` act in the role's account (the destinations). What moto
lacks (replication status, repository creation templates, ``account:GetRegionOptStatus``) and
every injected fault go through :class:`PartialStubber`, attached to the clients the commands
create by :class:`ClientStubs` (the ``stubs`` fixture in ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

from ecr_replication.model import Registry, ReplicationTopology, parse_topology
from ecr_replication.model.policies import compact_json, registry_policy_document
from ecr_replication.naming import destination_stack_name
from ecr_replication.ops import aws

SOURCE_ACCOUNT = "123456789012"  # moto's default account: the caller
DEST_A_ACCOUNT = "111111111111"
DEST_B_ACCOUNT = "222222222222"
SOURCE = Registry(account=SOURCE_ACCOUNT, region="us-east-1")
DEST_A = Registry(account=DEST_A_ACCOUNT, region="eu-west-1")  # cross-account, cross-region
DEST_B = Registry(account=DEST_B_ACCOUNT, region="us-east-1")  # cross-account, same region


def topology_document(
    *,
    destinations: tuple[Registry, ...] = (DEST_A, DEST_B),
    prefixes: tuple[str, ...] = ("prod/",),
    **extra: Any,
) -> dict[str, Any]:
    """One source replicating ``prefixes`` to ``destinations`` (moto accepts one rule only)."""
    rule: dict[str, Any] = {
        "destinations": [{"account": d.account, "region": d.region} for d in destinations]
    }
    if prefixes:
        rule["repositoryPrefixes"] = list(prefixes)
    return {
        "sources": [{"account": SOURCE.account, "region": SOURCE.region, "rules": [rule]}],
        **extra,
    }


def account_session(account: str) -> boto3.session.Session:
    """A session acting in ``account`` (moto: the caller, or credentials from AssumeRole)."""
    caller = aws.new_session()  # shares parsed service models: tests stay fast
    if account == SOURCE_ACCOUNT:
        return caller
    sts = caller.client("sts", region_name="us-east-1")
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="test-setup"
    )["Credentials"]
    return aws.new_session(
        access_key=credentials["AccessKeyId"],
        secret_key=credentials["SecretAccessKey"],
        token=credentials["SessionToken"],
    )


def ecr_client(registry: Registry) -> Any:
    return account_session(registry.account).client("ecr", region_name=registry.region)


def manifest(seed: str, size: int = 1000) -> str:
    """An image manifest; moto derives the digest from the layers and the size from config."""
    layer = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": size,
                "digest": "sha256:" + hashlib.sha256(f"config-{seed}".encode()).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": size,
                    "digest": layer,
                }
            ],
        }
    )


def push(registry: Registry, repository: str, tag: str, seed: str, size: int = 1000) -> str:
    """Push an image (creating the repository if needed); returns its digest."""
    client = ecr_client(registry)
    with contextlib.suppress(client.exceptions.RepositoryAlreadyExistsException):
        client.create_repository(repositoryName=repository)
    image = client.put_image(
        repositoryName=repository, imageManifest=manifest(seed, size), imageTag=tag
    )
    return str(image["image"]["imageId"]["imageDigest"])


def deploy_replication(topology: ReplicationTopology) -> None:
    """What the stacks deploy, as far as moto goes: replication configuration, registry policy."""
    for source in topology.sources:
        rules = [
            {
                "destinations": [
                    {"region": d.region, "registryId": d.account} for d in rule.destinations
                ],
                **(
                    {
                        "repositoryFilters": [
                            {"filter": p, "filterType": "PREFIX_MATCH"}
                            for p in rule.repository_prefixes
                        ]
                    }
                    if rule.repository_prefixes
                    else {}
                ),
            }
            for rule in source.rules
        ]
        ecr_client(source.registry).put_replication_configuration(
            replicationConfiguration={"rules": rules}
        )
    for destination in topology.destination_registries():
        if destination.needs_registry_policy:
            ecr_client(destination.registry).put_registry_policy(
                policyText=compact_json(registry_policy_document(destination))
            )


def topology_of(path: Path) -> ReplicationTopology:
    return parse_topology(json.loads(path.read_text())["context"]["ecrReplication"])


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.out)
        return document


# ---------------------------------------------------------------------------------------------
# Partial stubs: some operations stubbed, the rest served by moto


class PartialStubber(Stubber):
    """A botocore Stubber that answers only the operations queued on it.

    Other operations of the same client go through to moto. Responses for one operation are
    returned in the order they were queued.
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._lock = threading.RLock()

    def _queued(self, name: str) -> bool:
        with self._lock:
            for index, item in enumerate(self._queue):
                if item["operation_name"] == name:
                    del self._queue[index]
                    self._queue.appendleft(item)
                    return True
            return False

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        with self._lock:
            if self._queued(model.name):
                super()._assert_expected_params(model, params, context, **kwargs)

    def _get_response_handler(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._queued(model.name):
                return super()._get_response_handler(model, params, context, **kwargs)
            return None


@dataclass
class ClientStubs:
    """Stubbed answers for the clients a command creates, by service, region and account."""

    pending: dict[tuple[str, str, str], list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = field(
        default_factory=dict
    )
    stubbers: list[PartialStubber] = field(default_factory=list)
    calls: list[tuple[str, str, str, str]] = field(default_factory=list)
    created: list[aws.ClientKey] = field(default_factory=list)

    def _queue(self, registry: Registry, service: str, region: str | None) -> list[Any]:
        return self.pending.setdefault((service, region or registry.region, registry.account), [])

    def respond(
        self,
        registry: Registry,
        service: str,
        method: str,
        response: dict[str, Any],
        expected_params: dict[str, Any] | None = None,
        *,
        region: str | None = None,
    ) -> None:
        self._queue(registry, service, region).append(
            ("add_response", (method, response, expected_params), {})
        )

    def fail(
        self,
        registry: Registry,
        service: str,
        method: str,
        code: str,
        message: str = "injected fault",
        *,
        expected_params: dict[str, Any] | None = None,
        region: str | None = None,
        http_status_code: int = 400,
    ) -> None:
        """Answer ``method`` with an error ``code``.

        A stubbed answer skips botocore's retry handler, so the command sees the error as it
        would once the retries are exhausted ("throttled past retries").
        """
        self._queue(registry, service, region).append(
            (
                "add_client_error",
                (method,),
                {
                    "service_error_code": code,
                    "http_status_code": http_status_code,
                    "service_message": message,
                    "expected_params": expected_params,
                },
            )
        )

    def attach(self, client: Any, key: aws.ClientKey) -> None:
        account = key.account or SOURCE_ACCOUNT
        self.created.append(key)
        region = key.region

        def count(model: Any, **_: Any) -> None:
            self.calls.append((key.service, region, account, model.name))

        client.meta.events.register("before-call.*.*", count)
        entries = self.pending.pop((key.service, key.region, account), None)
        if not entries:
            return
        stubber = PartialStubber(client)
        for kind, args, kwargs in entries:
            getattr(stubber, kind)(*args, **kwargs)
        stubber.activate()
        self.stubbers.append(stubber)

    def count(self, operation: str, *, account: str | None = None) -> int:
        return sum(
            1 for _, _, acct, name in self.calls if name == operation and account in (None, acct)
        )

    def assert_all_used(self) -> None:
        assert not self.pending, f"stubs for clients never created: {list(self.pending)}"
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


def template_response(*prefixes: str, mutability: str = "IMMUTABLE") -> dict[str, Any]:
    """``DescribeRepositoryCreationTemplates`` listing the templates of ``prefixes``, as botocore's
    model has it (``tests/ops/test_fakes.py`` checks)."""
    created = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    return {
        "registryId": DEST_A_ACCOUNT,
        "repositoryCreationTemplates": [
            {
                "prefix": p,
                "appliedFor": ["REPLICATION"],
                "imageTagMutability": mutability,
                "createdAt": created,
                "updatedAt": created,
            }
            for p in prefixes
        ],
    }


TEMPLATES_PARAMS = {"maxResults": aws.PAGE_SIZE}


def stub_stack(
    stubs: ClientStubs, registry: Registry, template_prefixes: tuple[str, ...] | None
) -> None:
    """The registry's destination stack as CloudFormation describes it: owning the templates
    of ``template_prefixes``, or absent (None)."""
    name = destination_stack_name(registry)
    if template_prefixes is None:
        stubs.fail(
            registry,
            "cloudformation",
            "describe_stack_resources",
            "ValidationError",
            f"Stack with id {name} does not exist",
            expected_params={"StackName": name},
        )
        return
    stubs.respond(
        registry,
        "cloudformation",
        "describe_stack_resources",
        {
            "StackResources": [
                {
                    "StackName": name,
                    "LogicalResourceId": f"RepositoryTemplate{prefix.replace('/', '')}",
                    "PhysicalResourceId": prefix,
                    "ResourceType": "AWS::ECR::RepositoryCreationTemplate",
                    "Timestamp": datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
                    "ResourceStatus": "CREATE_COMPLETE",
                }
                for prefix in template_prefixes
            ]
        },
        {"StackName": name},
    )
