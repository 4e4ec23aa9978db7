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

    def not_offered(self, registry: Registry, service: str, method: str) -> None:
        """Answer ``method`` as an endpoint that lacks the operation does (moto's server: an
        HTML error page with HTTP 500 and no service error code)."""
        self.fail(
            registry,
            service,
            method,
            "",
            "<!doctype html>\n<title>500 Internal Server Error</title>\n"
            "<h1>Internal Server Error</h1>",
            http_status_code=500,
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
    stubs: ClientStubs,
    registry: Registry,
    template_prefixes: tuple[str, ...] | None,
    *,
    others: tuple[tuple[str, str], ...] = (),
) -> None:
    """The registry's destination stack as CloudFormation describes it: owning the templates
    of ``template_prefixes`` and the ``others`` (resource type, physical id), or absent
    (None)."""
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
    resources = [
        ("AWS::ECR::RepositoryCreationTemplate", prefix) for prefix in template_prefixes
    ] + list(others)
    stubs.respond(
        registry,
        "cloudformation",
        "describe_stack_resources",
        {
            "StackResources": [
                {
                    "StackName": name,
                    "LogicalResourceId": f"Resource{index}",
                    "PhysicalResourceId": physical,
                    "ResourceType": kind,
                    "Timestamp": datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
                    "ResourceStatus": "CREATE_COMPLETE",
                }
                for index, (kind, physical) in enumerate(resources)
            ]
        },
        {"StackName": name},
    )


# ---------------------------------------------------------------------------------------------
# What moto 5.2 lacks of the ECR API of 2026, served from moto's own backends as botocore's
# model (ECR service-2.json of botocore 1.44) describes it: fields, errors, pagination.
# ``tests/ops/test_fakes.py`` checks every answer against the model's shapes.

IAM_ACTION_OF = {"ecr:ListImageReferrers": "ecr:BatchGetImage"}
"""API operations whose IAM action has another name. ``ListImageReferrers`` has no action of
its own: "The IAM principal invoking this operation must have the ecr:BatchGetImage
permission" (ECR API reference, ListImageReferrers; the same note in botocore's model)."""
ARCHIVED = "ARCHIVED"
IMAGE_STATUSES = ("ACTIVE", "ARCHIVED", "ACTIVATING")
"""``ImageStatus`` (an image) and ``ArtifactStatus`` (a referrer)."""
ACCOUNT_SETTINGS = {
    "BASIC_SCAN_TYPE_VERSION": "AWS_NATIVE",
    "REGISTRY_POLICY_SCOPE": "V2",
    "BLOB_MOUNTING": "DISABLED",
}
"""The settings ``GetAccountSetting`` documents, with the value a fresh account answers here
(``REGISTRY_POLICY_SCOPE``: V2, the default since the setting exists)."""
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/spdx+json"

_statuses: dict[tuple[str, str, str, str], str] = {}  # (account, region, repository, digest)
_settings: dict[tuple[str, str], str] = {}  # (account, name) -> value


def _backend(registry: Registry) -> Any:
    from moto.ecr.models import ecr_backends

    return ecr_backends[registry.account][registry.region]


def set_image_status(registry: Registry, repository: str, digest: str, status: str) -> None:
    """Move an image to another storage status, as a lifecycle ``transition`` to ``ARCHIVE``
    (``ARCHIVED``) or a restore (``ACTIVATING``, then ``ACTIVE``) does."""
    assert status in IMAGE_STATUSES, status
    _statuses[(registry.account, registry.region, repository, digest)] = status


def set_account_setting(account: str, name: str, value: str) -> None:
    """What ``PutAccountSetting`` would have set (e.g. ``REGISTRY_POLICY_SCOPE`` ``V1``)."""
    assert name in ACCOUNT_SETTINGS, name
    _settings[(account, name)] = value


def push_referrer(
    registry: Registry, repository: str, subject: str, seed: str, artifact_type: str = SIGNATURE
) -> str:
    """Push an untagged OCI 1.1 referrer (a signature, an SBOM) of the image ``subject``;
    returns its digest."""
    document = json.loads(manifest(seed, 200))
    document.update(
        {
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1000},
        }
    )
    image = ecr_client(registry).put_image(
        repositoryName=repository, imageManifest=json.dumps(document)
    )
    return str(image["image"]["imageId"]["imageDigest"])


def _manifest(image: Any) -> dict[str, Any]:
    try:
        document = json.loads(image.image_manifest)
    except (TypeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _status_of(account: str, region: str, repository: str, digest: str) -> str:
    return _statuses.get((account, region, repository, digest), "ACTIVE")


def image_detail(image: Any, account: str, region: str) -> dict[str, Any]:
    """A moto image as ECR's ``ImageDetail`` describes it, status included."""
    digest = image.get_image_digest()
    detail: dict[str, Any] = {
        "registryId": image.registry_id,
        "repositoryName": image.repository_name,
        "imageDigest": digest,
        "imagePushedAt": datetime.datetime.fromtimestamp(image.image_pushed_at, datetime.UTC),
        "imageSizeInBytes": int(image.get_image_size_in_bytes() or 0),
        "imageManifestMediaType": image.image_manifest_media_type,
        "imageStatus": _status_of(account, region, image.repository_name, digest),
    }
    if image.image_tags:
        detail["imageTags"] = list(image.image_tags)  # ECR leaves the key out when untagged
    subject = _manifest(image).get("subject")
    if isinstance(subject, dict) and subject.get("digest"):
        detail["subjectManifestDigest"] = subject["digest"]
    return detail


def referrer_detail(image: Any, account: str, region: str) -> dict[str, Any]:
    """A moto image that refers to another as ECR's ``ImageReferrer`` describes it."""
    document = _manifest(image)
    digest = image.get_image_digest()
    referrer: dict[str, Any] = {
        "digest": digest,
        "mediaType": image.image_manifest_media_type,
        "size": len(image.image_manifest.encode()),
        "artifactStatus": _status_of(account, region, image.repository_name, digest),
    }
    kind = document.get("artifactType") or (document.get("config") or {}).get("mediaType")
    if kind:
        referrer["artifactType"] = kind
    return referrer


def _matches(status: str, wanted: str | None) -> bool:
    """ECR's status filters: absent means ``ACTIVE`` only (DescribeImages, ListImageReferrers)."""
    return wanted == "ANY" or status == (wanted or "ACTIVE")


def _describe_images(self: Any) -> Any:
    from moto.core.responses import ActionResult

    wanted = self._get_param("filter", {}) or {}
    image_ids = self._get_param("imageIds")
    images = self.ecr_backend.describe_images(
        self._get_param("repositoryName"), self._get_param("registryId"), image_ids
    )
    details = [image_detail(i, self.current_account, self.region) for i in images]
    if not image_ids:  # explicit ids are answered whatever their status
        details = [
            d
            for d in details
            if _matches(d["imageStatus"], wanted.get("imageStatus"))
            and {"TAGGED": "imageTags" in d, "UNTAGGED": "imageTags" not in d}.get(
                wanted.get("tagStatus", "ANY"), True
            )
        ]
    return ActionResult({"imageDetails": details})


def _list_image_referrers(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.ecr.exceptions import InvalidParameterException

    repository = self.ecr_backend._get_repository(
        self._get_param("repositoryName"), self._get_param("registryId")
    )  # RepositoryNotFoundException, as ECR answers
    subject = (self._get_param("subjectId") or {}).get("imageDigest")
    wanted = self._get_param("filter", {}) or {}
    size = int(self._get_param("maxResults") or 20)  # the model: 1-50; ECR's default page: 20
    if not 1 <= size <= 50:
        raise InvalidParameterException("maxResults must be between 1 and 50")
    kinds = wanted.get("artifactTypes")
    referrers = [
        referrer_detail(image, self.current_account, self.region)
        for image in repository.images
        if (_manifest(image).get("subject") or {}).get("digest") == subject
    ]
    referrers = [
        r
        for r in referrers
        if _matches(r["artifactStatus"], wanted.get("artifactStatus"))
        and (not kinds or r.get("artifactType") in kinds)
    ]
    start = int(self._get_param("nextToken") or 0)
    body: dict[str, Any] = {"referrers": referrers[start : start + size]}
    if start + size < len(referrers):
        body["nextToken"] = str(start + size)
    return ActionResult(body)


def _validate_registry_policy_action(self: Any, policy_text: str) -> None:
    """``PutRegistryPolicy`` as the registry policy scope decides (moto checks as V1 does, and
    knows only two of its three actions): V1 takes ``ecr:ReplicateImage``,
    ``ecr:CreateRepository`` and ``ecr:BatchImportUpstreamImage``; V2 any ``ecr:`` action."""
    from moto.iam.exceptions import MalformedPolicyDocument

    scope = _settings.get((self.account_id, "REGISTRY_POLICY_SCOPE"), "V2")
    v1 = {"ecr:batchimportupstreamimage", "ecr:createrepository", "ecr:replicateimage"}
    statements = json.loads(policy_text)["Statement"]
    for statement in [statements] if isinstance(statements, dict) else statements:
        listed = statement.get("Action", statement.get("NotAction", []))
        for action in [listed] if isinstance(listed, str) else listed:
            allowed = action.lower() in v1 if scope == "V1" else action.lower().startswith("ecr:")
            if not allowed:
                raise MalformedPolicyDocument()


def _get_account_setting(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.ecr.exceptions import InvalidParameterException

    name = self._get_param("name")
    if name not in ACCOUNT_SETTINGS:
        raise InvalidParameterException(
            f"Invalid parameter at 'name' failed to satisfy constraint: one of "
            f"{', '.join(ACCOUNT_SETTINGS)}"
        )
    value = _settings.get((self.current_account, name), ACCOUNT_SETTINGS[name])
    return ActionResult({"name": name, "value": value})


@contextlib.contextmanager
def ecr_2026() -> Any:
    """moto's ECR with image statuses, ``ListImageReferrers``, ``GetAccountSetting``, and
    ``PutRegistryPolicy`` checking actions as the registry policy scope says."""
    from unittest import mock

    from moto.ecr.models import ECRBackend
    from moto.ecr.responses import ECRResponse

    _statuses.clear()
    _settings.clear()
    with (
        mock.patch.object(
            ECRBackend, "_validate_registry_policy_action", _validate_registry_policy_action
        ),
        mock.patch.object(ECRResponse, "describe_images", _describe_images),
        mock.patch.object(ECRResponse, "list_image_referrers", _list_image_referrers, create=True),
        mock.patch.object(ECRResponse, "get_account_setting", _get_account_setting, create=True),
    ):
        yield
