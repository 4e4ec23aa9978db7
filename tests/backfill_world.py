"""ECR as a backfill sees it: an emulator that answers botocore clients as botocore's model says.

moto has no replication backfill API and no archived images, and botocore's Stubber answers
only what a test queued, in order. This emulator keeps state instead: registries with
repositories and images (``ACTIVE``, ``ARCHIVED``, ``ACTIVATING``), a replication
configuration, and backfills that move through their statuses. The deploy-time function's
tests (tests/constructs/test_backfill_handler.py) and the command's tests
(tests/ops/test_backfill_cli.py) both run against it.

It follows botocore 1.44's ECR model (the installed ``service-2.json`` and
``paginators-1.json``), checked by tests/test_backfill_world.py:

* it answers the operations of :data:`OPERATIONS` (and STS's caller identity and role
  assumption). botocore has validated the request's required members, types and minimums
  before the emulator sees it; the emulator checks what botocore leaves to the service:
  maximums and patterns, answered with ``InvalidParameterException``;
* every answer is validated against the operation's output shape, as the Stubber does: a
  field the model does not have, or of the wrong type, fails the test that caused it;
* every error it answers is one the model declares for that operation, or one of AWS's
  common errors (:data:`COMMON_ERRORS`); injected faults are refused otherwise;
* pages use the paginators' tokens and page sizes (``maxResults`` defaults to the largest
  page the model allows for the backfill calls, 100 for the image and repository listings,
  as the API reference says).

What the model does not say, the emulator chooses and names: a start to a destination that
is not configured answers ``ValidationException``; a STOPPING backfill still holds its
region's slot and counts against the registry's ten; stopping a PREPARING backfill ends it at
once (STOPPED), an IN_PROGRESS one goes STOPPING first; a backfill moves one step along its
plan at each ``DescribeReplicationBackfillResults``; an untagged image is one replication.
"""

from __future__ import annotations

import base64
import datetime
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import validate_parameters

BACKFILL_OPERATIONS = (
    "StartReplicationBackfill",
    "StopReplicationBackfill",
    "ListReplicationBackfills",
    "DescribeReplicationBackfillResults",
)
OPERATIONS = (*BACKFILL_OPERATIONS, "DescribeRegistry", "DescribeRepositories", "DescribeImages")
STS_OPERATIONS = ("GetCallerIdentity", "AssumeRole")
COMMON_ERRORS = frozenset({"AccessDeniedException", "ThrottlingException"})
"""Errors every AWS API may answer (the API references' "Common Errors")."""
HOLDING_SLOT = ("PREPARING", "IN_PROGRESS", "STOPPING")
TERMINAL = ("COMPLETE", "FAILED", "STOPPED")
MAX_RUNNING_BACKFILLS = 10
"""ECR API reference, StartReplicationBackfill: "a registry can have at most 10 replication
backfills in progress at once"."""
LISTING_PAGE_SIZE = 100
STARTED = datetime.datetime(2026, 1, 5, 9, 30, tzinfo=datetime.UTC)


@functools.cache
def ecr_model() -> ServiceModel:
    service: ServiceModel = botocore.session.get_session().get_service_model("ecr")
    return service


@functools.cache
def ecr_paginators() -> dict[str, Any]:
    loader = botocore.session.get_session().get_component("data_loader")
    pagination: dict[str, Any] = loader.load_service_model("ecr", "paginators-1")["pagination"]
    return pagination


@functools.cache
def is_fault(code: str) -> bool:
    """Whether the model marks the error shape as the service's fault (an HTTP 5xx)."""
    loader = botocore.session.get_session().get_component("data_loader")
    shape = loader.load_service_model("ecr", "service-2")["shapes"].get(code, {})
    return bool(shape.get("fault"))


def declared_errors(operation: str) -> frozenset[str]:
    """The error codes botocore's model lists for ``operation``."""
    return frozenset(s.name for s in ecr_model().operation_model(operation).error_shapes)


def statuses() -> tuple[str, ...]:
    """``ReplicationBackfillStatus`` as the model enumerates it."""
    return tuple(ecr_model().shape_for("ReplicationBackfillStatus").enum)


class EcrError(Exception):
    """An error answer: its code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# State


@dataclass(frozen=True, kw_only=True, slots=True)
class Image:
    digest: str
    tags: tuple[str, ...] = ()
    status: str = "ACTIVE"


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """Where a backfill is after one more ``DescribeReplicationBackfillResults``."""

    status: str
    completed: int = 0
    failed: int = 0
    failure_code: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageResult:
    """One image's result, listed once the backfill has ended."""

    repository: str
    tag: str | None
    digest: str
    status: str = "FAILED"
    failure_code: str | None = "ReplicationFailure"
    sub_image_failure_codes: tuple[str, ...] = ()

    def to_api(self) -> dict[str, Any]:
        image_id = {"imageDigest": self.digest, **({"imageTag": self.tag} if self.tag else {})}
        answer: dict[str, Any] = {
            "repositoryName": self.repository,
            "imageId": image_id,
            "status": self.status,
        }
        if self.failure_code:
            answer["failureCode"] = self.failure_code
        if self.sub_image_failure_codes:
            answer["subImageFailureCodes"] = list(self.sub_image_failure_codes)
        return answer


@dataclass(kw_only=True)
class Plan:
    """What the next backfill to a destination does: its steps, image count, results."""

    steps: list[Step] = field(
        default_factory=lambda: [Step(status="IN_PROGRESS"), Step(status="COMPLETE")]
    )
    total: int = 0
    results: list[ImageResult] = field(default_factory=list)
    stop_answer: str | None = None
    """What ``StopReplicationBackfill`` answers (default: STOPPED when PREPARING, else
    STOPPING)."""


@dataclass(kw_only=True)
class Backfill:
    backfill_id: str
    account: str
    region: str
    status: str
    plan: Plan
    prepared: bool = False
    failure_code: str | None = None
    completed: int = 0
    failed: int = 0
    ended: bool = False

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}"

    def advance(self) -> None:
        """One step along the plan (a STOPPING backfill ends STOPPED)."""
        if self.status in TERMINAL:
            return
        if self.status == "STOPPING":
            self.status = "STOPPED"
        elif self.plan.steps:
            step = self.plan.steps.pop(0)
            self.status = step.status
            self.completed, self.failed = step.completed, step.failed
            self.failure_code = step.failure_code
        self.prepared = self.prepared or self.status in ("IN_PROGRESS", "COMPLETE", "FAILED")
        self.ended = self.status in TERMINAL

    def summary(self, *, with_progress: bool = True) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "replicationBackfillId": self.backfill_id,
            "destination": {"region": self.region, "registryId": self.account},
            "status": self.status,
            "startedAt": STARTED,
        }
        if self.ended:
            answer["endedAt"] = STARTED + datetime.timedelta(hours=1)
        if self.failure_code:
            answer["failureCode"] = self.failure_code
        if with_progress and self.prepared:
            answer["progress"] = {
                "totalReplicationCount": self.plan.total,
                "completedReplicationCount": self.completed,
                "failedReplicationCount": self.failed,
                "failureCodes": sorted(
                    {r.failure_code for r in self.plan.results if r.failure_code}
                ),
            }
        return answer


@dataclass(kw_only=True)
class Fault:
    code: str
    message: str
    times: int | None  # None: every call


@dataclass(kw_only=True)
class Registry:
    """One registry: replication configuration, repositories, backfills, injected faults."""

    account: str
    region: str
    destinations: list[tuple[str, str]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    repositories: dict[str, list[Image]] = field(default_factory=dict)
    backfills: list[Backfill] = field(default_factory=list)
    plans: dict[str, Plan] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    next_id: int = 1

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}"

    # -- setting up --------------------------------------------------------------------------

    def configure(self, *destinations: str, prefixes: Sequence[str] = ()) -> Registry:
        """The deployed replication configuration: one rule to these ``ACCOUNT/REGION``."""
        self.destinations = [_split(d) for d in destinations]
        self.prefixes = list(prefixes)
        return self

    def push(self, repository: str, digest: str, *tags: str, status: str = "ACTIVE") -> None:
        assert status in ecr_model().shape_for("ImageStatus").enum, status
        images = self.repositories.setdefault(repository, [])
        images[:] = [i for i in images if i.digest != digest]
        images.append(Image(digest=digest, tags=tags, status=status))

    def plan(self, destination: str, *steps: Step, total: int = 0, **options: Any) -> Plan:
        """What the next backfill started to ``destination`` will do."""
        assert all(s.status in statuses() for s in steps)
        plan = Plan(total=total, **options)
        if steps:
            plan.steps = list(steps)
        self.plans[destination] = plan
        return plan

    def running(self, destination: str, status: str = "IN_PROGRESS", **plan: Any) -> Backfill:
        """A backfill already there, started by someone else."""
        assert status in statuses(), status
        backfill = self._new_backfill(destination, Plan(**plan))
        backfill.status = status
        backfill.prepared = status not in ("PREPARING",)
        backfill.ended = status in TERMINAL
        return backfill

    def fail(self, operation: str, code: str, message: str = "", *, times: int | None = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` (every call: None) with ``code``,
        which must be an error the model declares for it, or a common error."""
        allowed = declared_errors(operation) | COMMON_ERRORS
        assert code in allowed, f"{operation} does not answer {code} (only {sorted(allowed)})"
        self.faults.setdefault(operation, []).append(
            Fault(code=code, message=message or f"injected {code}", times=times)
        )

    def end(self, backfill: Backfill, status: str = "COMPLETE") -> None:
        """``backfill`` ends (as if followed to its end)."""
        assert status in TERMINAL
        backfill.status, backfill.ended, backfill.prepared = status, True, True

    def backfill_to(self, destination: str) -> Backfill:
        return next(b for b in reversed(self.backfills) if b.key == destination)

    def _new_backfill(self, destination: str, plan: Plan) -> Backfill:
        account, region = _split(destination)
        backfill = Backfill(
            backfill_id=f"0a1b2c3d-0000-4000-8000-{int(self.account[:4]) * 10**8 + self.next_id:012d}",
            account=account,
            region=region,
            status="PREPARING",
            plan=plan,
        )
        self.next_id += 1
        self.backfills.append(backfill)
        return backfill

    # -- answering ---------------------------------------------------------------------------

    def answer(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        faults = self.faults.get(operation, [])
        if faults:
            fault = faults[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times == 0:
                    faults.pop(0)
            raise EcrError(fault.code, fault.message)
        registry_id = params.get("registryId", self.account)
        if registry_id != self.account:
            raise EcrError("AccessDeniedException", f"registry {registry_id} is not {self.account}")
        method: Callable[[Mapping[str, Any]], dict[str, Any]] = getattr(
            self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower()
        )
        return method(params)

    def _holding(self) -> list[Backfill]:
        return [b for b in self.backfills if b.status in HOLDING_SLOT]

    def _start_replication_backfill(self, params: Mapping[str, Any]) -> dict[str, Any]:
        target = params["destination"]
        key = f"{target['registryId']}/{target['region']}"
        if (target["registryId"], target["region"]) not in self.destinations:
            raise EcrError(
                "ValidationException",
                f"The destination {key} is not in the registry's replication configuration",
            )
        if any(b.region == target["region"] for b in self._holding()):
            raise EcrError(
                "ReplicationBackfillInProgressException",
                f"A replication backfill to {target['region']} is already in progress",
            )
        if len(self._holding()) >= MAX_RUNNING_BACKFILLS:
            raise EcrError(
                "LimitExceededException",
                f"The registry already has {MAX_RUNNING_BACKFILLS} replication backfills "
                "in progress",
            )
        backfill = self._new_backfill(key, self.plans.pop(key, None) or Plan())
        return {"registryId": self.account, **self._brief(backfill)}

    @staticmethod
    def _brief(backfill: Backfill) -> dict[str, Any]:
        """What Start and Stop answer: the id, destination, status and start time."""
        summary = backfill.summary(with_progress=False)
        return {
            k: summary[k] for k in ("replicationBackfillId", "destination", "status", "startedAt")
        }

    def _stop_replication_backfill(self, params: Mapping[str, Any]) -> dict[str, Any]:
        backfill = self._find(params["replicationBackfillId"])
        if backfill.status not in ("PREPARING", "IN_PROGRESS"):
            raise EcrError(
                "ReplicationBackfillInvalidStatusException",
                f"The replication backfill is {backfill.status} and cannot be stopped",
            )
        default = "STOPPED" if backfill.status == "PREPARING" else "STOPPING"
        backfill.status = backfill.plan.stop_answer or default
        backfill.ended = backfill.status in TERMINAL
        return {"registryId": self.account, **self._brief(backfill)}

    def _list_replication_backfills(self, params: Mapping[str, Any]) -> dict[str, Any]:
        page, token = _page(
            "ListReplicationBackfills", [b.summary() for b in self.backfills], params
        )
        return {"registryId": self.account, "backfills": page, **token}

    def _describe_replication_backfill_results(self, params: Mapping[str, Any]) -> dict[str, Any]:
        backfill = self._find(params["replicationBackfillId"])
        if "nextToken" not in params:
            backfill.advance()
        results = [
            r.to_api()
            for r in (backfill.plan.results if backfill.ended else [])
            if params.get("resultStatusFilter") in (None, r.status)
        ]
        page, token = _page("DescribeReplicationBackfillResults", results, params)
        return {"registryId": self.account, **backfill.summary(), "results": page, **token}

    def _find(self, backfill_id: str) -> Backfill:
        for backfill in self.backfills:
            if backfill.backfill_id == backfill_id:
                return backfill
        raise EcrError(
            "ReplicationBackfillNotFoundException", f"No replication backfill {backfill_id}"
        )

    def _describe_registry(self, params: Mapping[str, Any]) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "destinations": [{"region": r, "registryId": a} for a, r in self.destinations]
        }
        if self.prefixes:
            rule["repositoryFilters"] = [
                {"filter": p, "filterType": "PREFIX_MATCH"} for p in self.prefixes
            ]
        return {
            "registryId": self.account,
            "replicationConfiguration": {"rules": [rule] if self.destinations else []},
        }

    def _describe_repositories(self, params: Mapping[str, Any]) -> dict[str, Any]:
        names = params.get("repositoryNames") or sorted(self.repositories)
        missing = [n for n in names if n not in self.repositories]
        if missing:
            raise EcrError("RepositoryNotFoundException", f"repository {missing[0]} not found")
        repositories = [
            {
                "repositoryName": name,
                "registryId": self.account,
                "repositoryArn": f"arn:aws:ecr:{self.region}:{self.account}:repository/{name}",
            }
            for name in names
        ]
        page, token = _page("DescribeRepositories", repositories, params)
        return {"repositories": page, **token}

    def _describe_images(self, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params["repositoryName"]
        if name not in self.repositories:
            raise EcrError(
                "RepositoryNotFoundException",
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{self.account}'",
            )
        wanted = (params.get("filter") or {}).get("imageStatus", "ACTIVE")
        details = []
        for image in self.repositories[name]:
            if wanted not in ("ANY", image.status):
                continue
            detail: dict[str, Any] = {
                "registryId": self.account,
                "repositoryName": name,
                "imageDigest": image.digest,
                "imageStatus": image.status,
            }
            if image.tags:
                detail["imageTags"] = list(image.tags)
            details.append(detail)
        page, token = _page("DescribeImages", details, params)
        return {"imageDetails": page, **token}


def _split(key: str) -> tuple[str, str]:
    account, region = key.split("/")
    return account, region


def _page(
    operation: str, items: Sequence[Any], params: Mapping[str, Any]
) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` with the paginator's token names; the page size as the model
    bounds it."""
    paging = ecr_paginators()[operation]
    limit_shape = ecr_model().operation_model(operation).input_shape.members[paging["limit_key"]]
    default = limit_shape.metadata["max"] if operation in BACKFILL_OPERATIONS else LISTING_PAGE_SIZE
    size = params.get(paging["limit_key"], default)
    offset = 0
    if token := params.get(paging["input_token"]):
        try:
            name, _, position = base64.b64decode(token).decode().partition(":")
            offset = int(position)
        except ValueError:
            name = ""
        if name != operation:
            raise EcrError("InvalidParameterException", f"Invalid nextToken {token!r}")
    page = list(items[offset : offset + size])
    if offset + size < len(items):
        next_token = base64.b64encode(f"{operation}:{offset + size}".encode()).decode()
        return page, {paging["output_token"]: next_token}
    return page, {}


def _model_problems(value: Any, shape: Shape, path: str) -> list[str]:
    """What botocore does not check in a request and the service does: maximums, patterns."""
    problems = []
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                problems += _model_problems(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += _model_problems(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "string" and isinstance(value, str):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            problems.append(f"{path}: longer than {shape.metadata['max']}")
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            problems.append(f"{path}: {value!r} does not match {pattern}")
    elif (
        shape.type_name == "integer"
        and isinstance(value, int)
        and value > shape.metadata.get("max", value)
    ):
        problems.append(f"{path}: {value} is more than {shape.metadata['max']}")
    return problems


# ---------------------------------------------------------------------------------------------
# The world and its clients


@dataclass
class FakeTime:
    """A clock that moves only when someone sleeps or a slow call passes.

    ``meanwhile``: what happens elsewhere during the next sleeps, one callable per sleep.
    """

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    meanwhile: list[Callable[[], None]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.meanwhile:
            self.meanwhile.pop(0)()


@dataclass(kw_only=True)
class EcrWorld:
    """Registries by ``ACCOUNT/REGION``; ``caller``: the account whose credentials the caller
    has (STS answers with it)."""

    caller: str
    time: FakeTime = field(default_factory=FakeTime)
    registries: dict[str, Registry] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    validated: list[str] = field(default_factory=list)

    def at(self, key: str) -> Registry:
        account, region = _split(key)
        return self.registries.setdefault(key, Registry(account=account, region=region))

    def operations_called(self, key: str | None = None) -> list[str]:
        return [operation for where, operation, _ in self.calls if key in (None, where)]

    def attach(self, client: Any, account: str | None = None) -> Any:
        """Answer ``client``'s calls from this world (ECR: the registry of ``account`` or the
        caller's, in the client's region; STS: the caller's identity and role assumption)."""
        service = client.meta.service_model.service_name
        region = client.meta.region_name
        where = f"{account or self.caller}/{region}"

        def remember(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["emulated_params"] = dict(params)

        def respond(model: OperationModel, context: dict[str, Any], **_: Any) -> Any:
            params = context.get("emulated_params", {})
            self.calls.append((where, model.name, params))
            return self._respond(service, where, model, params)

        client.meta.events.register(f"before-parameter-build.{service}.*", remember)
        client.meta.events.register(f"before-call.{service}.*", respond)
        return client

    def _respond(
        self, service: str, where: str, model: OperationModel, params: Mapping[str, Any]
    ) -> tuple[AWSResponse, dict[str, Any]]:
        try:
            if service == "sts":
                answer = self._sts(model.name, params)
            else:
                assert model.name in OPERATIONS, f"the emulator does not answer {model.name}"
                registry = self.at(where)
                self.time.now += registry.slow.get(model.name, 0.0)
                problems = _model_problems(params, model.input_shape, model.name)
                if problems:
                    raise EcrError("InvalidParameterException", "; ".join(problems))
                answer = registry.answer(model.name, params)
        except EcrError as error:
            declared = {s.name for s in model.error_shapes}
            assert error.code in declared | COMMON_ERRORS, (
                f"{model.name} does not declare {error.code}"
            )
            status = 500 if error.code in declared and is_fault(error.code) else 400
            return AWSResponse(None, status, {}, None), {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
        validate_parameters(answer, model.output_shape)
        self.validated.append(model.name)
        return AWSResponse(None, 200, {}, None), {
            **answer,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def _sts(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        assert operation in STS_OPERATIONS, f"the emulator does not answer sts {operation}"
        if operation == "GetCallerIdentity":
            return {
                "UserId": "AIDAEXAMPLE",
                "Account": self.caller,
                "Arn": f"arn:aws:iam::{self.caller}:user/ops",
            }
        return {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE00",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": STARTED + datetime.timedelta(days=3650),
            },
            "AssumedRoleUser": {
                "AssumedRoleId": "AROAEXAMPLE:ecr-replication",
                "Arn": str(params["RoleArn"]),
            },
        }


def image_pairs(images: Iterable[Image]) -> int:
    """Image-and-tag pairs: what a backfill counts (an untagged image once)."""
    return sum(max(1, len(i.tags)) for i in images)
