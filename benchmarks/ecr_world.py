"""A large moto-backed ECR world for the verify benchmark, and the instruments around it.

* :class:`World`: one source registry (50 repositories x 500 tagged images) and three
  cross-account destinations: an exact replica, one with 5 % of the tags missing, one with 1 %
  of the digests different. The drift is chosen with a fixed seed and kept, so the benchmark
  can assert that a checker finds exactly it.
* :func:`seed`: fills moto's ECR backends directly (``Repository.images.append(Image(...))``
  with precomputed digests). ``PutImage`` through the API parses every manifest and compares
  it with every image already in the repository (quadratic per repository); direct seeding
  writes the 100,000 images of the four registries in about a second.
* :func:`paginate_moto_ecr`: moto ignores ``maxResults``/``nextToken`` of ``DescribeImages``,
  ``ListImages`` and ``DescribeRepositories`` and answers with everything in one page; real
  ECR pages (default 100, at most 1000). Without real paging the call count would flatter a
  checker that forgets ``maxResults=1000``, so the benchmark pages like ECR does.
* :class:`CallCounter`: counts every AWS API call by service and operation with a botocore
  ``before-call`` hook on every client created while it is installed, and answers
  ``DescribeImageReplicationStatus`` (not in moto) from the world's drift.
* What moto lacks of the ECR API of 2026, as botocore's model describes it: every listed image
  carries ``imageStatus`` (all ``ACTIVE`` here) and the ``imageStatus`` filter is honoured;
  :func:`referrers_answer` (``ListImageReferrers``: one signature per image, the same on both
  sides, since the world replicates identically) and :func:`account_setting_answer`
  (``GetAccountSetting``), which the hooks of :class:`CallCounter` and the scale benchmark
  answer. ``tests/ops/test_fakes.py`` checks them against the model's shapes.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

ImageKey = tuple[str, str]  # (repository name, tag)
Drift = set[tuple[str, str, str, str]]  # (destination key, kind, repository, tag)

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
IMAGE_SIZE = 7023
# One shared manifest text for every seeded image: digests are given explicitly, so moto never
# derives them from it, and sharing the string keeps the seeded world small in memory.
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": IMAGE_SIZE,
            "digest": "sha256:" + "c" * 64,
        },
        "layers": [],
    }
)


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationSpec:
    account: str
    region: str
    missing_fraction: float = 0.0
    mismatch_fraction: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(kw_only=True, slots=True)
class World:
    repositories: int = 50
    images_per_repository: int = 500
    source_account: str = "123456789012"  # moto's default caller account
    source_region: str = "us-east-1"
    prefix: str = "prod/"
    destinations: tuple[DestinationSpec, ...] = (
        DestinationSpec(account="111111111111", region="eu-west-1"),
        DestinationSpec(account="222222222222", region="us-west-2", missing_fraction=0.05),
        DestinationSpec(account="333333333333", region="eu-central-1", mismatch_fraction=0.01),
    )
    seed: int = 6
    missing: dict[str, frozenset[ImageKey]] = field(default_factory=dict)
    mismatched: dict[str, frozenset[ImageKey]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        everything = list(self.images())
        for destination in self.destinations:
            self.missing[destination.key] = frozenset(
                rng.sample(everything, round(destination.missing_fraction * len(everything)))
            )
            self.mismatched[destination.key] = frozenset(
                rng.sample(everything, round(destination.mismatch_fraction * len(everything)))
            )

    def repository_names(self) -> list[str]:
        return [f"{self.prefix}service-{r:02d}" for r in range(self.repositories)]

    def images(self) -> Iterator[ImageKey]:
        for name in self.repository_names():
            for index in range(self.images_per_repository):
                yield name, f"v1.{index}"

    @property
    def total_images(self) -> int:
        return self.repositories * self.images_per_repository

    def topology(self) -> dict[str, Any]:
        return {
            "sources": [
                {
                    "account": self.source_account,
                    "region": self.source_region,
                    "rules": [
                        {
                            "repositoryPrefixes": [self.prefix],
                            "destinations": [
                                {"account": d.account, "region": d.region}
                                for d in self.destinations
                            ],
                        }
                    ],
                }
            ]
        }

    def drift(self) -> Drift:
        """Every injected problem."""
        found: Drift = set()
        for key, images in self.missing.items():
            found |= {(key, "missing", repo, tag) for repo, tag in images}
        for key, images in self.mismatched.items():
            found |= {(key, "digest mismatch", repo, tag) for repo, tag in images}
        return found

    def replication_status(self, repository: str, tag: str) -> list[dict[str, str]]:
        """What DescribeImageReplicationStatus would say for one source image."""
        statuses = []
        for d in self.destinations:
            image = (repository, tag)
            status = {"region": d.region, "registryId": d.account, "status": "COMPLETE"}
            if image in self.missing[d.key] or image in self.mismatched[d.key]:
                status |= {"status": "FAILED", "failureCode": "REPLICATION_FAILED"}
            statuses.append(status)
        return statuses


def create_repository(backend: Any, name: str) -> None:
    """An empty repository with immutable tags, straight in a moto ECR backend."""
    backend.create_repository(
        repository_name=name,
        registry_id=None,
        encryption_config={"encryptionType": "AES256"},
        image_scan_config={"scanOnPush": False},
        image_tag_mutability="IMMUTABLE",
        tags=[],
    )


def seed(world: World) -> None:
    """Create the world's repositories and images directly in moto's backends."""
    from moto.ecr.models import Image, ecr_backends

    registries = [(world.source_account, world.source_region, None)] + [
        (d.account, d.region, d) for d in world.destinations
    ]
    for account, region, destination in registries:
        backend = ecr_backends[account][region]
        for name in world.repository_names():
            create_repository(backend, name)
        repositories = backend.repositories
        missing = world.missing[destination.key] if destination else frozenset()
        mismatched = world.mismatched[destination.key] if destination else frozenset()
        for name, tag in world.images():
            if (name, tag) in missing:
                continue
            rebuilt = (name, tag) in mismatched
            digest = digest_of(name, tag, "rebuilt") if rebuilt else digest_of(name, tag)
            repositories[name].images.append(
                Image(account, tag, MANIFEST, name, MANIFEST_MEDIA_TYPE, digest)
            )


ACTIVE = "ACTIVE"
SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REGISTRY_POLICY_SCOPE = "V2"


def _image_detail(image: Any) -> dict[str, Any]:
    """An image as the plain ``ImageDetail`` dictionary ECR returns for a tagged image."""
    return {
        "registryId": image.registry_id,
        "repositoryName": image.repository_name,
        "imageDigest": image.image_digest,
        "imageTags": image.image_tags,
        "imagePushedAt": image.image_pushed_at,
        "imageSizeInBytes": IMAGE_SIZE,
        "imageManifestMediaType": image.image_manifest_media_type,
        "imageStatus": ACTIVE,  # nothing in the benchmark worlds is archived
    }


def referrers_answer(digest: str) -> dict[str, Any]:
    """``ListImageReferrers`` of one image: one signature, whose digest follows from the
    image's (so a source image and its replica have the same one), in one page."""
    return {
        "referrers": [
            {
                "digest": digest_of(digest, "signature"),
                "mediaType": OCI_MANIFEST,
                "artifactType": SIGNATURE,
                "size": 512,
                "artifactStatus": ACTIVE,
            }
        ]
    }


def account_setting_answer(name: str) -> dict[str, Any]:
    """``GetAccountSetting``: registry policy scope V2, the default since the setting exists."""
    return {"name": name, "value": REGISTRY_POLICY_SCOPE}


def answer_2026(operation: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to an ECR call of 2026 that moto lacks, or None for the others."""
    if operation == "ListImageReferrers":
        return referrers_answer(request["subjectId"]["imageDigest"])
    if operation == "GetAccountSetting":
        return account_setting_answer(request["name"])
    return None


@contextmanager
def paginate_moto_ecr() -> Iterator[None]:
    """Make moto page DescribeImages, ListImages and DescribeRepositories like ECR does."""
    from moto.core.responses import ActionResult
    from moto.ecr.responses import ECRResponse

    def paged(
        original: Callable[[ECRResponse], ActionResult],
        key: str,
        selector: str,
        listing: Callable[[ECRResponse], list[Any]] | None = None,
        shape: Callable[[Any], Any] = lambda item: item,
    ) -> Callable[[ECRResponse], ActionResult]:
        def handler(self: ECRResponse) -> ActionResult:
            if self._get_param(selector):  # explicit ids or names: ECR does not page those
                return original(self)
            if listing is not None:
                items = listing(self)
                body: dict[str, Any] = {key: items}
            else:
                body = dict(original(self).result)  # type: ignore[call-overload]
                items = list(body[key])
            start = int(self._get_param("nextToken") or 0)
            size = int(self._get_param("maxResults") or 100)
            body[key] = [shape(item) for item in items[start : start + size]]
            body.pop("nextToken", None)
            if start + size < len(items):
                body["nextToken"] = str(start + size)
            return ActionResult(body)

        return handler

    def image_details(self: ECRResponse) -> list[Any]:
        # moto's own handler copies every image (copy.copy) and moto's BaseModel keeps every
        # instance ever created, so each listing would leak a copy of the repository into the
        # process whose memory is being measured; plain dictionaries are also 3x faster to
        # serialize (moto looks up each member of the shape under several spellings).
        wanted = (self._get_param("filter") or {}).get("imageStatus") or ACTIVE
        if wanted not in (ACTIVE, "ANY"):
            return []  # every image of the world is ACTIVE
        return list(
            self.ecr_backend.describe_images(
                self._get_param("repositoryName"), self._get_param("registryId")
            )
        )

    with (
        mock.patch.object(
            ECRResponse,
            "describe_images",
            paged(
                ECRResponse.describe_images,
                "imageDetails",
                "imageIds",
                listing=image_details,
                shape=_image_detail,
            ),
        ),
        mock.patch.object(
            ECRResponse, "list_images", paged(ECRResponse.list_images, "imageIds", "imageIds")
        ),
        mock.patch.object(
            ECRResponse,
            "describe_repositories",
            paged(ECRResponse.describe_repositories, "repositories", "repositoryNames"),
        ),
    ):
        yield


class CallCounter:
    """Counts AWS API calls by ``service:Operation`` on every botocore client created inside.

    Registers a ``before-call`` handler on each new client's event system (every boto3 session
    has its own, so hooking one session would miss the clients of assumed-role sessions). The
    same hook answers ``DescribeImageReplicationStatus``, which moto lacks: a handler that
    returns a response short-circuits the HTTP request.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()  # the commands call from a thread pool

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        with self._lock:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        if (answer := answer_2026(model.name, json.loads(params["body"] or "{}"))) is not None:
            return AWSResponse("", 200, HTTPHeaders(), None), answer
        if model.name != "DescribeImageReplicationStatus":
            return None
        request = json.loads(params["body"])
        repository, image_id = request["repositoryName"], request["imageId"]
        parsed = {
            "repositoryName": repository,
            "imageId": image_id,
            "replicationStatuses": self.world.replication_status(
                repository, image_id.get("imageTag", "")
            ),
        }
        return AWSResponse("", 200, HTTPHeaders(), None), parsed

    @contextmanager
    def installed(self) -> Iterator[CallCounter]:
        import botocore.session

        original = botocore.session.Session.create_client

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call.*.*", self._before_call)
            return client

        with mock.patch.object(botocore.session.Session, "create_client", create_client):
            yield self

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.calls)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
