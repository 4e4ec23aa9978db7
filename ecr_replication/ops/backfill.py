"""``ecr-replication backfill``: replicate the images that existed before replication.

For each destination of each source registry (or only the ``--destination`` ones), start an
ECR replication backfill (``StartReplicationBackfill``) and follow it to a terminal status
with a progress bar, then list the images that failed with their failure codes.

Safe to run twice: a backfill already running (PREPARING or IN_PROGRESS) to a destination
(``ListReplicationBackfills``, or ``ReplicationBackfillInProgressException``) is followed, not
restarted. A STOPPING one is neither running nor done: it still holds the destination's
region, so the start waits for it to end. ECR runs one backfill per destination region and
ten per registry at a time; when it says "not now" (``ReplicationBackfillInProgressException``,
``LimitExceededException``) the start is retried with a growing delay, or, with
``--no-wait``, not retried: the command ends at once, exits 1 and prints the command that
starts those later. A destination that is not in the deployed replication configuration
(``DescribeRegistry``) is reported, not attempted: ECR only backfills configured destinations.

An error the ECR model documents for the call (``ValidationException``, ``ServerException``,
``InvalidParameterException``, ``ReplicationBackfillNotFoundException``, ...) is a problem
with its code (exit 1); what says nothing about the backfill (access denied, throttling past
retries, expired credentials, no connection) leaves the destination unchecked (exit 3). A
boto3 without the backfill operations gets one line naming the version needed (exit 2).

``--no-wait`` starts and prints the backfill ids. ``--stop`` stops the running backfills
(``StopReplicationBackfill``): STOPPED (stopped at once) and STOPPING (replications in flight
finish first) are both success. ``--dry-run`` changes nothing and counts, per destination,
what a backfill counts, image-and-tag pairs ("each image and tag combination is counted as a
single replication"; an untagged image once), of the matching source images, and how many of
them the destination lacks (``DescribeImages`` with ``filter.imageStatus`` ``ANY`` on both
sides, so that images archived in the destination count as there). Archived source images
(``ARCHIVED`` or ``ACTIVATING``) are counted apart: ECR does not document what a backfill does
with them. Ctrl-C while following stops following, not the backfills. Every command it prints
(to follow, stop or start later) repeats the run's ``--config``, ``--profile``,
``--no-assume-role``, ``--role-name`` and ``--source-role-name``.

IAM permissions. Source accounts (the caller): ``ecr:DescribeRegistry``,
``ecr:StartReplicationBackfill``, ``ecr:ListReplicationBackfills``,
``ecr:DescribeReplicationBackfillResults``, ``ecr:StopReplicationBackfill`` (``--stop``),
``sts:GetCallerIdentity``; for ``--dry-run`` also ``ecr:DescribeRepositories``,
``ecr:DescribeImages`` and ``sts:AssumeRole`` on the destination roles. Destination accounts
(``--dry-run`` only; the destination role has it): ``ecr:DescribeImages``.

JSON (``--json``): the shared envelope (see :mod:`ecr_replication.ops.report`) with schema
``ecr-replication/backfill/v1`` and::

    {"mode": "start" | "dry-run" | "stop", "wait": <bool>, "interrupted": <bool>,
     "startLater": "<command>" | null,     # what starts the backfills ECR said "not now" to
     "backfills": [
       {"source": "ACCOUNT/REGION", "destination": "ACCOUNT/REGION",
        "status": "ok" | "problem" | "unchecked" | "skipped",
        "state": "PREPARING" | "IN_PROGRESS" | "COMPLETE" | "FAILED" | "STOPPING" | "STOPPED"
                 | "NOT_DEPLOYED" | "WAITING" | "BLOCKED" | "NOT_STARTED" | "NOT_RUNNING"
                 | "UNCHECKED" | "DRY_RUN",
        "backfillId": str | null, "followedExisting": <bool>,
        "progress": {"total": <int>, "completed": <int>, "failed": <int>} | null,
        "failureCode": str | null,      # the backfill's own failure code, as ECR reports it
        "errorCode": str | null,        # the error ECR answered a call with (a problem)
        "failedImages": [{"repository", "imageDigest", "imageTag", "failureCode"}],
        "replications": <int> | null, "missingReplications": <int> | null,
        "archivedImages": <int> | null, "archivedMissingReplications": <int> | null,
        "repositories": <int> | null,
        "reason": "<one line>" | null}]}

``state``: ECR's status of the backfill, or NOT_DEPLOYED (not in the deployed configuration;
not attempted), WAITING (ECR said "not now"; to be retried: seen only after Ctrl-C), BLOCKED
(``--no-wait``, ECR said "not now": nothing started), NOT_STARTED (ECR answered the start, or
the registry's listing, with an error), NOT_RUNNING (``--stop``: nothing to stop), UNCHECKED,
DRY_RUN. ``status`` in start mode: ok when PREPARING, IN_PROGRESS or COMPLETE without failed
images; problem when NOT_DEPLOYED, BLOCKED, NOT_STARTED, FAILED, STOPPING or STOPPED, or with
failed images or an error code. In stop mode: ok when STOPPING or STOPPED, skipped when
NOT_RUNNING. In a dry run: problem when ``missingReplications`` is above 0 (archived images do
not count: what a backfill does with them is not documented).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageDetailTypeDef
    from rich.console import Console
    from rich.progress import TaskID

from ..errors import UsageError
from ..model import Registry, SourceRegistry
from . import report
from .aws import (
    ACTIVE,
    ANY_STATUS,
    AccessError,
    RegistryAccess,
    Side,
    access_for,
    error_code,
    guarded,
    image_status,
    list_images,
    list_repositories,
    run_concurrently,
)
from .config import DEFAULT_CONFIG, add_common_arguments, load_topology, registry_argument

COMMAND = "backfill"
ACTIVE_STATES = ("PREPARING", "IN_PROGRESS")
"""A backfill that is running: as good as a new one."""
STOPPING_STATE = "STOPPING"
FOLLOWED_STATES = (*ACTIVE_STATES, STOPPING_STATE)
"""States that change by themselves: polled until the backfill ends."""
TERMINAL_STATES = ("COMPLETE", "FAILED", "STOPPED")
IN_PROGRESS_ERROR = "ReplicationBackfillInProgressException"
LIMIT_EXCEEDED_ERROR = "LimitExceededException"
INVALID_STATUS_ERROR = "ReplicationBackfillInvalidStatusException"
REPOSITORY_NOT_FOUND_ERROR = "RepositoryNotFoundException"
RESULTS_PAGE_SIZE = 1000
LIST_PAGE_SIZE = 50
EXIT_INTERRUPTED = 130
MAX_FAILURE_LINES = 50
BACKFILL_BOTO3 = "1.44"
"""The first boto3 (and botocore) with ECR's replication backfill operations (the lower bound
of the ``boto3`` dependency; tests keep the two equal)."""
Mode = Literal["start", "dry-run", "stop"]
OPERATIONS: Mapping[Mode, tuple[str, ...]] = {
    "start": (
        "start_replication_backfill",
        "list_replication_backfills",
        "describe_replication_backfill_results",
    ),
    "stop": ("list_replication_backfills", "stop_replication_backfill"),
    "dry-run": (),
}
"""The backfill operations each mode calls (an older botocore lacks them)."""
ARCHIVED_NOTE = (
    "ECR does not document what a backfill does with archived images: they are counted apart "
    "and do not make the dry run fail"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    """How long to wait between polls and retries; tests pass a fake clock and sleep."""

    poll_seconds: float = 15.0
    first_retry_seconds: float = 15.0
    max_retry_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One source registry and one of its destinations: one backfill."""

    source: SourceRegistry
    destination: Registry


@dataclass(frozen=True, kw_only=True, slots=True)
class ImageFailure:
    repository: str
    digest: str
    tag: str | None
    failure_code: str

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "imageDigest": self.digest,
            "imageTag": self.tag,
            "failureCode": self.failure_code,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Counts:
    """A backfill's progress: images to replicate, replicated, failed."""

    total: int
    completed: int
    failed: int

    def to_json(self) -> dict[str, int]:
        return {"total": self.total, "completed": self.completed, "failed": self.failed}


@dataclass(frozen=True, kw_only=True, slots=True)
class DryRunCounts:
    """What a backfill to one destination would count, and what the destination lacks."""

    repositories: int
    replications: int
    missing: int
    archived_images: int
    archived_missing: int


class EcrError(Exception):
    """ECR answered a call with an error its model documents for that operation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(kw_only=True)
class Backfill:
    """What is known about the backfill of one target; updated while it is followed."""

    target: Target
    mode: Mode = "start"
    state: str = "WAITING"
    backfill_id: str | None = None
    followed_existing: bool = False
    counts: Counts | None = None
    failure_code: str | None = None
    error_code: str | None = None
    failures: list[ImageFailure] = field(default_factory=list)
    dry_run: DryRunCounts | None = None
    reason: str | None = None
    next_attempt: float = 0.0
    retry_delay: float = 0.0

    @property
    def status(self) -> report.Status:
        if self.state == "UNCHECKED":
            return "unchecked"
        if self.error_code is not None:
            return "problem"
        if self.mode == "dry-run":
            return "problem" if self.dry_run is not None and self.dry_run.missing else "ok"
        if self.mode == "stop":
            if self.state == "NOT_RUNNING":
                return "skipped"
            return "ok" if self.state in (STOPPING_STATE, "STOPPED") else "problem"
        if self.state in ("NOT_DEPLOYED", "BLOCKED", "NOT_STARTED", "FAILED", "STOPPED"):
            return "problem"
        if self.state == STOPPING_STATE:  # being stopped: nothing more will be backfilled
            return "problem"
        if self.failures or (self.counts is not None and self.counts.failed):
            return "problem"
        if self.state == "WAITING":
            return "skipped"
        return "ok"

    @property
    def following(self) -> bool:
        """Whether polling it can still tell something new."""
        return (
            self.state in FOLLOWED_STATES
            and self.backfill_id is not None
            and self.error_code is None
        )

    def follow(self, summary: Mapping[str, Any], *, existing: bool) -> None:
        self.backfill_id = str(summary["replicationBackfillId"])
        self.state = str(summary.get("status", "PREPARING"))
        self.followed_existing = existing
        self.reason = "already running: followed, not restarted" if existing else None
        self.read_progress(summary)

    def read_progress(self, summary: Mapping[str, Any]) -> None:
        progress = summary.get("progress")
        if progress:
            self.counts = Counts(
                total=int(progress.get("totalReplicationCount", 0)),
                completed=int(progress.get("completedReplicationCount", 0)),
                failed=int(progress.get("failedReplicationCount", 0)),
            )
        if summary.get("failureCode"):
            self.failure_code = str(summary["failureCode"])

    def unchecked(self, reason: str) -> None:
        self.state, self.reason = "UNCHECKED", reason

    def answered(self, answer: EcrError, doing: str, *, state: str | None = None) -> None:
        """ECR answered ``doing`` with a documented error: a problem, with its code."""
        self.error_code = answer.code
        self.reason = f"{doing}: {answer.code}: {answer.message or 'no message'}"
        if state is not None:
            self.state = state

    def to_json(self) -> dict[str, Any]:
        counts = self.dry_run
        return {
            "source": self.target.source.registry.key,
            "destination": self.target.destination.key,
            "status": self.status,
            "state": self.state,
            "backfillId": self.backfill_id,
            "followedExisting": self.followed_existing,
            "progress": self.counts.to_json() if self.counts else None,
            "failureCode": self.failure_code,
            "errorCode": self.error_code,
            "failedImages": [f.to_json() for f in self.failures],
            "replications": counts.replications if counts else None,
            "missingReplications": counts.missing if counts else None,
            "archivedImages": counts.archived_images if counts else None,
            "archivedMissingReplications": counts.archived_missing if counts else None,
            "repositories": counts.repositories if counts else None,
            "reason": self.reason,
        }


# ---------------------------------------------------------------------------------------------
# The commands it prints


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandLine:
    """How this run was invoked, to print commands that reach the same registries the same
    way: every option that says where the topology is and how AWS is reached."""

    config: str = DEFAULT_CONFIG
    profile: str | None = None
    assume_role: bool = True
    role_name: str | None = None
    source_role_name: str | None = None
    destinations: tuple[Registry, ...] = ()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CommandLine:
        return cls(
            config=args.config,
            profile=args.profile,
            assume_role=args.assume_role,
            role_name=args.role_name,
            source_role_name=args.source_role_name,
            destinations=tuple(args.destination or ()),
        )

    def render(
        self, *, destinations: Sequence[Registry] | None = None, extra: Sequence[str] = ()
    ) -> str:
        """``ecr-replication backfill`` with this run's options, for ``destinations`` (default:
        the run's own ``--destination`` list), then ``extra``; quoted for a POSIX shell."""
        words = ["ecr-replication", COMMAND]
        if self.config != DEFAULT_CONFIG:
            words += ["--config", self.config]
        if self.profile is not None:
            words += ["--profile", self.profile]
        if not self.assume_role:
            words.append("--no-assume-role")
        if self.role_name is not None:
            words += ["--role-name", self.role_name]
        if self.source_role_name is not None:
            words += ["--source-role-name", self.source_role_name]
        for destination in self.destinations if destinations is None else destinations:
            words += ["--destination", destination.key]
        return shlex.join([*words, *extra])


def resume_command(args: argparse.Namespace) -> str:
    """The command that follows this run's backfills again."""
    return CommandLine.from_args(args).render()


# ---------------------------------------------------------------------------------------------
# What to backfill


def select_targets(sources: Sequence[SourceRegistry], only: Sequence[Registry]) -> list[Target]:
    """Every (source, destination) of the topology, or only those to the ``only`` registries."""
    targets = [
        Target(source=source, destination=destination)
        for source in sources
        for destination in source.destinations
        if not only or destination in only
    ]
    known = {t.destination for t in targets}
    unknown = [d.key for d in only if d not in known]
    if unknown:
        every = sorted({d.key for s in sources for d in s.destinations})
        raise UsageError(
            f"--destination: {', '.join(unknown)} is not a destination of any source registry "
            f"in the topology (destinations: {', '.join(every)})"
        )
    return targets


def _by_source(backfills: Sequence[Backfill]) -> dict[SourceRegistry, list[Backfill]]:
    groups: dict[SourceRegistry, list[Backfill]] = {}
    for backfill in backfills:
        groups.setdefault(backfill.target.source, []).append(backfill)
    return groups


def deployed_destinations(client: ECRClient) -> set[Registry]:
    """The destinations of the deployed replication configuration (``DescribeRegistry``)."""
    configuration = client.describe_registry().get("replicationConfiguration") or {}
    return {
        Registry(account=d["registryId"], region=d["region"])
        for rule in configuration.get("rules", [])
        for d in rule.get("destinations", [])
    }


def running_backfills(client: ECRClient, source: Registry) -> dict[Registry, Mapping[str, Any]]:
    """The backfills of ``source`` that have not ended (PREPARING, IN_PROGRESS, STOPPING), by
    destination; the listing also holds ended ones, for 90 days."""
    running: dict[Registry, Mapping[str, Any]] = {}
    params: dict[str, Any] = {"registryId": source.account, "maxResults": LIST_PAGE_SIZE}
    while True:
        page = client.list_replication_backfills(**params)
        for summary in page.get("backfills", []):
            if summary.get("status") in FOLLOWED_STATES:
                target = summary["destination"]
                running[Registry(account=target["registryId"], region=target["region"])] = summary
        if not page.get("nextToken"):
            return running
        params["nextToken"] = page["nextToken"]


def _source_client(access: RegistryAccess, source: SourceRegistry, mode: Mode) -> ECRClient:
    """The source registry's ECR client (the caller's own registry: another account's
    credentials are refused), checked to have the backfill operations ``mode`` calls."""
    client = access.ecr(source.registry, side="source", own_account=True)
    missing = [name for name in OPERATIONS[mode] if not hasattr(client, name)]
    if missing:
        import botocore

        raise UsageError(
            f"this botocore ({botocore.__version__}) has no {missing[0]}: backfill needs boto3 "
            f"and botocore {BACKFILL_BOTO3} or newer (pip install --upgrade "
            f"'boto3>={BACKFILL_BOTO3}')"
        )
    return client


@contextmanager
def ecr_answers(client: Any, doing: str) -> Iterator[None]:
    """Run ECR calls. An error the model documents for the operation called becomes an
    :class:`EcrError` (a problem, with its code); any other botocore failure (access denied,
    throttling past retries, credentials, the network) an
    :class:`~ecr_replication.ops.aws.AccessError` (unchecked)."""
    with guarded(doing):
        try:
            yield
        except Exception as error:  # a documented ClientError becomes an answer
            answer = documented_error(client, error)
            if answer is None:
                raise
            raise answer from error


def documented_error(client: Any, error: BaseException) -> EcrError | None:
    """``error`` as an :class:`EcrError` when it is a ``ClientError`` whose code botocore's
    model lists for the operation that raised it."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError) or not error.operation_name:
        return None
    code = error_code(error)
    model = client.meta.service_model.operation_model(error.operation_name)
    if code not in {shape.name for shape in model.error_shapes}:
        return None
    return EcrError(code, str(error.response.get("Error", {}).get("Message", "")))


# ---------------------------------------------------------------------------------------------
# Start and follow


def prepare(access: RegistryAccess, targets: Sequence[Target]) -> list[Backfill]:
    """Check each source's deployed configuration and running backfills before starting."""
    backfills = [Backfill(target=t) for t in targets]
    for source, group in _by_source(backfills).items():
        try:
            client = _source_client(access, source, "start")
            with ecr_answers(client, "reading the source registry"):
                deployed = deployed_destinations(client)
                running = running_backfills(client, source.registry)
        except AccessError as failure:
            for backfill in group:
                backfill.unchecked(failure.reason)
            continue
        except EcrError as answer:
            for backfill in group:
                backfill.answered(answer, "reading the source registry", state="NOT_STARTED")
            continue
        for backfill in group:
            destination = backfill.target.destination
            summary = running.get(destination)
            if destination not in deployed:
                backfill.state = "NOT_DEPLOYED"
                backfill.reason = (
                    "not in the deployed replication configuration: deploy the source stack "
                    "first; not attempted"
                )
            elif summary is not None and summary.get("status") in ACTIVE_STATES:
                backfill.follow(summary, existing=True)
            # A STOPPING one still holds the region: the start waits for it (or, with
            # --no-wait, says it is blocked).
    return backfills


def attempt_start(
    access: RegistryAccess, backfill: Backfill, timing: Timing, *, wait: bool
) -> None:
    """Start one backfill, or find it running; when ECR says "not now", schedule a retry
    (``wait``) or leave it BLOCKED."""
    source, destination = backfill.target.source, backfill.target.destination
    doing = f"starting the backfill to {destination.key}"
    try:
        client = _source_client(access, source, "start")
        with ecr_answers(client, doing):
            try:
                response = client.start_replication_backfill(
                    registryId=source.account,
                    destination={"region": destination.region, "registryId": destination.account},
                )
                backfill.follow(response, existing=False)
                return
            except Exception as error:  # a ClientError's code decides; anything else re-raises
                code = error_code(error)
                if code == IN_PROGRESS_ERROR:
                    summary = running_backfills(client, source.registry).get(destination)
                    if summary is not None and summary.get("status") in ACTIVE_STATES:
                        backfill.follow(summary, existing=True)
                        return
                    blocker = (
                        f"the backfill to {destination.key} is stopping"
                        if summary is not None
                        else f"another backfill to {destination.region} is running"
                    )
                elif code == LIMIT_EXCEEDED_ERROR:
                    blocker = "the registry runs the 10 backfills ECR allows at once"
                else:
                    raise
    except AccessError as failure:
        backfill.unchecked(failure.reason)
        return
    except EcrError as answer:
        backfill.answered(answer, doing, state="NOT_STARTED")
        return
    if not wait:
        backfill.state = "BLOCKED"
        backfill.reason = f"ECR says not now: {blocker}; nothing started"
        return
    backfill.retry_delay = (
        timing.first_retry_seconds
        if not backfill.retry_delay
        else min(backfill.retry_delay * 2, timing.max_retry_seconds)
    )
    backfill.next_attempt = timing.clock() + backfill.retry_delay
    backfill.reason = f"waiting: {blocker}"


def poll(access: RegistryAccess, backfill: Backfill) -> None:
    """Read a backfill's status and progress; once terminal, every failed image, all pages."""
    source = backfill.target.source
    backfill_id = backfill.backfill_id
    if backfill_id is None:  # not started: nothing to follow
        return
    doing = f"following backfill {backfill_id}"
    try:
        client = _source_client(access, source, "start")
        with ecr_answers(client, doing):
            params = {"registryId": source.account, "replicationBackfillId": backfill_id}
            summary = client.describe_replication_backfill_results(
                registryId=source.account, replicationBackfillId=backfill_id, maxResults=1
            )
            backfill.read_progress(summary)
            backfill.state = str(summary.get("status", backfill.state))
            if backfill.state in TERMINAL_STATES:
                backfill.failures = failed_images(client, params)
    except AccessError as failure:
        backfill.unchecked(failure.reason)
    except EcrError as answer:
        backfill.answered(answer, doing)


def failed_images(client: ECRClient, params: Mapping[str, Any]) -> list[ImageFailure]:
    """The per-image failures of a finished backfill, across every page of results."""
    failures: list[ImageFailure] = []
    request: dict[str, Any] = {
        **params,
        "resultStatusFilter": "FAILED",
        "maxResults": RESULTS_PAGE_SIZE,
    }
    while True:
        page = client.describe_replication_backfill_results(**request)
        for result in page.get("results", []):
            codes = [result.get("failureCode"), *result.get("subImageFailureCodes", [])]
            failures.append(
                ImageFailure(
                    repository=result["repositoryName"],
                    digest=result["imageId"].get("imageDigest", ""),
                    tag=result["imageId"].get("imageTag"),
                    failure_code=", ".join(c for c in codes if c) or "unknown",
                )
            )
        if not page.get("nextToken"):
            return failures
        request["nextToken"] = page["nextToken"]


def drive(
    access: RegistryAccess,
    backfills: Sequence[Backfill],
    *,
    wait: bool,
    timing: Timing,
    on_change: Callable[[Backfill], None] = lambda _: None,
) -> None:
    """Start every waiting backfill and, with ``wait``, retry those ECR says "not now" to and
    follow them all to a terminal status; without it, try each once. Ctrl-C
    (KeyboardInterrupt) leaves ``backfills`` as far as known."""
    while True:
        for backfill in backfills:
            if backfill.state == "WAITING" and backfill.next_attempt <= timing.clock():
                attempt_start(access, backfill, timing, wait=wait)
                on_change(backfill)
        following = [b for b in backfills if wait and b.following]
        for backfill in following:
            poll(access, backfill)
            on_change(backfill)
        waiting = [b for b in backfills if b.state == "WAITING"]
        following = [b for b in following if b.following]
        if not waiting and not following:
            return
        wake = [b.next_attempt for b in waiting]
        if following:
            wake.append(timing.clock() + timing.poll_seconds)
        timing.sleep(max(0.0, min(wake) - timing.clock()))


# ---------------------------------------------------------------------------------------------
# Stop and dry run


def stop(access: RegistryAccess, targets: Sequence[Target]) -> list[Backfill]:
    """Stop the running backfill of each target (``StopReplicationBackfill``)."""
    backfills = [Backfill(target=t, mode="stop", state="NOT_RUNNING") for t in targets]
    for source, group in _by_source(backfills).items():
        try:
            client = _source_client(access, source, "stop")
            with ecr_answers(client, "listing the registry's backfills"):
                running = running_backfills(client, source.registry)
        except AccessError as failure:
            for backfill in group:
                backfill.unchecked(failure.reason)
            continue
        except EcrError as answer:
            for backfill in group:
                backfill.answered(answer, "listing the registry's backfills")
            continue
        for backfill in group:
            summary = running.get(backfill.target.destination)
            if summary is None:
                backfill.reason = "no backfill running"
                continue
            backfill.follow(summary, existing=True)
            backfill.reason = None
            if backfill.state == STOPPING_STATE:
                backfill.reason = "already stopping"
                continue
            _stop_one(client, backfill)
    return backfills


def _stop_one(client: ECRClient, backfill: Backfill) -> None:
    backfill_id = str(backfill.backfill_id)
    doing = f"stopping backfill {backfill_id}"
    try:
        with ecr_answers(client, doing):
            try:
                response = client.stop_replication_backfill(
                    registryId=backfill.target.source.account, replicationBackfillId=backfill_id
                )
            except Exception as error:  # a ClientError's code decides; anything else re-raises
                if error_code(error) != INVALID_STATUS_ERROR:
                    raise
                backfill.state, backfill.reason = "NOT_RUNNING", "it ended before the stop"
                return
        backfill.state = str(response.get("status", STOPPING_STATE))
        if backfill.state == STOPPING_STATE:
            backfill.reason = "stopping: replications in flight finish first"
    except AccessError as failure:
        backfill.unchecked(failure.reason)
    except EcrError as answer:
        backfill.answered(answer, doing)


def _image_details(
    access: RegistryAccess, registry: Registry, repository: str, side: Side
) -> list[ImageDetailTypeDef]:
    """Every image of a repository in any storage status (without the status filter
    ``DescribeImages`` lists only ACTIVE images); none when it does not exist."""
    client = access.ecr(registry, side=side)
    try:
        return list_images(client, registry, repository, image_status=ANY_STATUS)
    except Exception as error:  # a ClientError's code decides; anything else re-raises
        if error_code(error) != REPOSITORY_NOT_FOUND_ERROR:
            raise
        return []


def _details_in(
    access: RegistryAccess, registry: Registry, side: Side
) -> Callable[[str], list[ImageDetailTypeDef]]:
    return lambda repository: _image_details(access, registry, repository, side)


Pair = tuple[str, str | None]


def replications(detail: ImageDetailTypeDef) -> set[Pair]:
    """What a backfill counts for one image: each image-and-tag pair (ECR: "Each image and tag
    combination is counted as a single replication"); an untagged image once."""
    tags = detail.get("imageTags") or []
    return {(detail["imageDigest"], tag) for tag in tags} or {(detail["imageDigest"], None)}


def is_active(detail: ImageDetailTypeDef) -> bool:
    return image_status(detail) == ACTIVE


def present(details: Sequence[ImageDetailTypeDef]) -> set[Pair]:
    """The pairs a destination has: each tag on its digest, and each digest untagged."""
    pairs: set[Pair] = set()
    for detail in details:
        pairs |= replications(detail) | {(detail["imageDigest"], None)}
    return pairs


def count(
    source: Mapping[str, list[ImageDetailTypeDef]],
    destination: Sequence[list[ImageDetailTypeDef]],
    repositories: Sequence[str],
) -> DryRunCounts:
    """The dry run's figures for one destination, over ``repositories`` (the source's images
    by repository; the destination's, in the same order)."""
    totals = {"replications": 0, "missing": 0, "archived_images": 0, "archived_missing": 0}
    for name, found in zip(repositories, destination, strict=True):
        there = present(found)
        for detail in source[name]:
            pairs = replications(detail)
            if is_active(detail):
                totals["replications"] += len(pairs)
                totals["missing"] += len(pairs - there)
            else:
                totals["archived_images"] += 1
                totals["archived_missing"] += len(pairs - there)
    return DryRunCounts(repositories=len(repositories), **totals)


def dry_run(access: RegistryAccess, targets: Sequence[Target]) -> list[Backfill]:
    """Count, per target, what a backfill would count and what its destination lacks."""
    backfills = [Backfill(target=t, mode="dry-run", state="DRY_RUN") for t in targets]
    for source, group in _by_source(backfills).items():
        try:
            client = _source_client(access, source, "dry-run")
            with guarded():
                deployed = deployed_destinations(client)
                names = [r["repositoryName"] for r in list_repositories(client, source.registry)]
            matching = sorted(n for n in names if source.matches(n))
            with guarded("listing source images"):
                source_images = dict(
                    zip(
                        matching,
                        run_concurrently(matching, _details_in(access, source.registry, "source")),
                        strict=True,
                    )
                )
        except AccessError as failure:
            for backfill in group:
                backfill.unchecked(failure.reason)
            continue
        for backfill in group:
            destination = backfill.target.destination
            repositories = [n for n in matching if source.matches(n, destination)]
            try:
                with guarded(f"listing images in {destination.key}"):
                    found = run_concurrently(
                        repositories, _details_in(access, destination, "destination")
                    )
            except AccessError as failure:
                backfill.unchecked(failure.reason)
                continue
            backfill.dry_run = count(source_images, found, repositories)
            notes = []
            if destination not in deployed:
                notes.append(
                    "not in the deployed replication configuration: a backfill would not be "
                    "attempted"
                )
            if backfill.dry_run.archived_images:
                notes.append(ARCHIVED_NOTE)
            backfill.reason = "; ".join(notes) or None
    return backfills


# ---------------------------------------------------------------------------------------------
# Output


class BackfillBars:
    """One progress bar per backfill (completed and failed of total), on terminals only."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} images"),
            TextColumn("{task.fields[failed]} failed"),
            TextColumn("{task.fields[state]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not (enabled and console.is_terminal),
        )
        self._tasks: dict[int, TaskID] = {}

    def update(self, backfill: Backfill) -> None:
        if backfill.backfill_id is None:
            return
        counts = backfill.counts or Counts(total=0, completed=0, failed=0)
        key = id(backfill)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(
                f"{backfill.target.source.registry.key} -> {backfill.target.destination.key}",
                total=None,
                failed=0,
                state="",
            )
        self._progress.update(
            self._tasks[key],
            total=counts.total or None,
            completed=counts.completed + counts.failed,
            failed=counts.failed,
            state=backfill.state,
        )

    @contextmanager
    def shown(self) -> Iterator[BackfillBars]:
        with self._progress:
            yield self


def _images_cell(backfill: Backfill) -> str:
    if (d := backfill.dry_run) is not None:
        text = (
            f"{d.missing} of {d.replications} image-tag pairs missing in "
            f"{d.repositories} repositories"
        )
        if d.archived_images:
            text += (
                f"; {d.archived_images} archived images apart ({d.archived_missing} pairs missing)"
            )
        return text
    if backfill.counts is None:
        return ""
    c = backfill.counts
    return f"{c.completed}/{c.total} replicated, {c.failed} failed"


def render(console: Console, backfills: Sequence[Backfill], *, mode: str) -> None:
    title = {
        "start": "Backfill: replicate the images that existed before replication",
        "dry-run": "Backfill dry run: what a backfill counts (image-and-tag pairs) and what "
        "each destination lacks",
        "stop": "Backfill stop",
    }[mode]
    table = report.new_table(
        title, ["Source", "Destination", "Backfill", "State", "Status", "Images", "Details"]
    )
    for b in backfills:
        details = [d for d in (b.reason, b.failure_code and f"failure: {b.failure_code}") if d]
        table.add_row(
            report.cell(b.target.source.registry.key),
            report.cell(b.target.destination.key),
            report.cell(b.backfill_id or ""),
            report.cell(b.state),
            report.status_cell(b.status),
            report.cell(_images_cell(b)),
            report.cell("\n".join(details)),
        )
    console.print(table)
    failures = [(b, f) for b in backfills for f in b.failures]
    if failures:
        table = report.new_table(
            "Images that failed to replicate",
            ["Destination", "Repository", "Image", "Failure code"],
        )
        for b, f in failures[:MAX_FAILURE_LINES]:
            table.add_row(
                report.cell(b.target.destination.key),
                report.cell(f.repository),
                report.cell(f.tag or f.digest),
                report.cell(f.failure_code),
            )
        console.print(table)
        if len(failures) > MAX_FAILURE_LINES:
            console.print(
                report.cell(f"... and {len(failures) - MAX_FAILURE_LINES} more (see --json)")
            )


# ---------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True, kw_only=True, slots=True)
class Options:
    destinations: tuple[Registry, ...] = ()
    wait: bool = True
    dry_run: bool = False
    stop: bool = False
    as_json: bool = False

    @property
    def mode(self) -> Mode:
        return "dry-run" if self.dry_run else "stop" if self.stop else "start"


def execute(
    access: RegistryAccess,
    options: Options,
    *,
    timing: Timing | None = None,
    command: CommandLine | None = None,
    console: Console | None = None,
) -> int:
    """Run the command against ``access``; prints the report and returns the exit code."""
    timing = timing or Timing()
    console = console or report.make_console()
    command = command or CommandLine(destinations=options.destinations)
    targets = select_targets(access.topology.sources, options.destinations)
    interrupted = False
    if options.dry_run:
        backfills = dry_run(access, targets)
    elif options.stop:
        backfills = stop(access, targets)
    else:
        backfills = prepare(access, targets)
        bars = BackfillBars(console, enabled=not options.as_json)
        try:
            with bars.shown():
                for backfill in backfills:
                    bars.update(backfill)
                drive(access, backfills, wait=options.wait, timing=timing, on_change=bars.update)
        except KeyboardInterrupt:
            interrupted = True
    outcome = report.Outcome(
        problems=sum(b.status == "problem" for b in backfills),
        unchecked=tuple(
            report.Unchecked(
                registry=b.target.source.registry.key,
                check=f"backfill to {b.target.destination.key}",
                reason=b.reason or "unknown",
            )
            for b in backfills
            if b.status == "unchecked"
        ),
    )
    later = [b.target.destination for b in backfills if b.state in ("BLOCKED", "WAITING")]
    start_later = command.render(destinations=list(dict.fromkeys(later))) if later else None
    body = {
        "mode": options.mode,
        "wait": options.wait,
        "interrupted": interrupted,
        "startLater": start_later,
        "backfills": [b.to_json() for b in backfills],
    }
    resume, stop_all = command.render(), command.render(extra=["--stop"])
    if interrupted:
        # The backfills go on in ECR; only this command stopped looking at them.
        print(
            "Stopped following; the backfills keep running in ECR. Follow them again with: "
            f"{resume}   (or stop them with: {stop_all})",
            file=sys.stderr,
        )
    if interrupted and options.as_json:
        document = report.json_document(COMMAND, outcome, body)
        document["exitCode"] = EXIT_INTERRUPTED
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return EXIT_INTERRUPTED
    code = report.finish(
        command=COMMAND,
        as_json=options.as_json,
        outcome=outcome,
        body=body,
        render=lambda c: render(c, backfills, mode=options.mode),
        ok_message={
            "start": "Backfill done: every backfill finished without failures."
            if options.wait
            else "Backfills started; follow them with: " + resume,
            "dry-run": "Nothing to backfill: every destination has every matching image.",
            "stop": "No backfill is running any more.",
        }[options.mode],
        console=console,
    )
    if start_later and not options.as_json and not interrupted:
        console.print(
            report.cell(
                f"ECR would not start {len(later)} backfill(s) now; start them later with: "
                f"{start_later}",
                "yellow",
            )
        )
    if interrupted:
        console.print(report.cell("Interrupted: the backfills above are still running.", "yellow"))
        return EXIT_INTERRUPTED
    return code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--destination",
        metavar="ACCOUNT/REGION",
        type=registry_argument,
        action="append",
        default=None,
        help="backfill only to this destination registry (repeatable; default: every "
        "destination of every source registry)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="start the backfills and print their ids without following them; when ECR says "
        "not now, do not wait: exit 1 and print the command that starts them later",
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="change nothing: count what a backfill counts (image-and-tag pairs) and what "
        "each destination lacks; exit 1 when something is missing",
    )
    mode.add_argument(
        "--stop",
        action="store_true",
        help="stop the running backfills (images already replicated stay)",
    )


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    access = access_for(topology, args)
    options = Options(
        destinations=tuple(args.destination or ()),
        wait=args.wait,
        dry_run=args.dry_run,
        stop=args.stop,
        as_json=args.json,
    )
    return execute(access, options, command=CommandLine.from_args(args))
