"""``ecr-replication backfill``: replicate the images that existed before replication.

For each destination of each source registry (or only the ``--destination`` ones), start an
ECR replication backfill (``StartReplicationBackfill``) and follow it to a terminal status
with a progress bar, then list the images that failed with their failure codes.

Safe to run twice: a backfill already running to a destination (``ListReplicationBackfills``,
or ``ReplicationBackfillInProgressException``) is followed, not restarted. ECR runs one
backfill per destination region and ten per registry at a time; when it says so
(``ReplicationBackfillInProgressException`` for another account in the same region,
``LimitExceededException``) the start is retried with a growing delay. A destination that is
not in the deployed replication configuration (``DescribeRegistry``) is reported, not
attempted: ECR only backfills configured destinations.

``--no-wait`` starts and prints the backfill ids. ``--dry-run`` changes nothing and counts,
per destination, the source images matching the rules that the destination lacks
(``DescribeImages`` on both sides). ``--stop`` stops the running backfills
(``StopReplicationBackfill``). Ctrl-C while following stops following, not the backfills.

IAM permissions. Source accounts (the caller): ``ecr:DescribeRegistry``,
``ecr:StartReplicationBackfill``, ``ecr:ListReplicationBackfills``,
``ecr:DescribeReplicationBackfillResults``, ``ecr:StopReplicationBackfill`` (``--stop``),
``sts:GetCallerIdentity``; for ``--dry-run`` also ``ecr:DescribeRepositories``,
``ecr:DescribeImages`` and ``sts:AssumeRole`` on the destination roles. Destination accounts
(``--dry-run`` only; the destination role has it): ``ecr:DescribeImages``.

JSON (``--json``): the shared envelope (see :mod:`ecr_replication.ops.report`) with schema
``ecr-replication/backfill/v1`` and::

    {"mode": "start" | "dry-run" | "stop", "wait": <bool>, "interrupted": <bool>,
     "backfills": [
       {"source": "ACCOUNT/REGION", "destination": "ACCOUNT/REGION",
        "status": "ok" | "problem" | "unchecked" | "skipped",
        "state": "PREPARING" | "IN_PROGRESS" | "COMPLETE" | "FAILED" | "STOPPING" | "STOPPED"
                 | "NOT_DEPLOYED" | "WAITING" | "NOT_RUNNING" | "UNCHECKED" | "DRY_RUN",
        "backfillId": str | null, "followedExisting": <bool>,
        "progress": {"total": <int>, "completed": <int>, "failed": <int>} | null,
        "failureCode": str | null,
        "failedImages": [{"repository", "imageDigest", "imageTag", "failureCode"}],
        "missingImages": <int> | null, "repositories": <int> | null,
        "reason": "<one line>" | null}]}
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from rich.console import Console
    from rich.progress import TaskID

from ..errors import UsageError
from ..model import Registry, SourceRegistry
from . import report
from .aws import (
    AccessError,
    RegistryAccess,
    Side,
    access_for,
    error_code,
    guarded,
    list_images,
    list_repositories,
    run_concurrently,
)
from .config import add_common_arguments, load_topology, registry_argument

COMMAND = "backfill"
ACTIVE_STATES = ("PREPARING", "IN_PROGRESS")
RUNNING_STATES = (*ACTIVE_STATES, "STOPPING")
TERMINAL_STATES = ("COMPLETE", "FAILED", "STOPPED")
IN_PROGRESS_ERROR = "ReplicationBackfillInProgressException"
LIMIT_EXCEEDED_ERROR = "LimitExceededException"
INVALID_STATUS_ERROR = "ReplicationBackfillInvalidStatusException"
RESULTS_PAGE_SIZE = 1000
LIST_PAGE_SIZE = 50
EXIT_INTERRUPTED = 130
MAX_FAILURE_LINES = 50


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


@dataclass(kw_only=True)
class Backfill:
    """What is known about the backfill of one target; updated while it is followed."""

    target: Target
    state: str = "WAITING"
    backfill_id: str | None = None
    followed_existing: bool = False
    counts: Counts | None = None
    failure_code: str | None = None
    failures: list[ImageFailure] = field(default_factory=list)
    missing_images: int | None = None
    repositories: int | None = None
    reason: str | None = None
    next_attempt: float = 0.0
    retry_delay: float = 0.0

    @property
    def status(self) -> report.Status:
        if self.state == "UNCHECKED":
            return "unchecked"
        if self.state in ("NOT_DEPLOYED", "FAILED", "STOPPED"):
            return "problem"
        if self.state == "DRY_RUN":
            return "problem" if self.missing_images else "ok"
        if self.failures or (self.counts is not None and self.counts.failed):
            return "problem"
        if self.state in ("WAITING", "NOT_RUNNING"):
            return "skipped"
        return "ok"

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

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.target.source.registry.key,
            "destination": self.target.destination.key,
            "status": self.status,
            "state": self.state,
            "backfillId": self.backfill_id,
            "followedExisting": self.followed_existing,
            "progress": self.counts.to_json() if self.counts else None,
            "failureCode": self.failure_code,
            "failedImages": [f.to_json() for f in self.failures],
            "missingImages": self.missing_images,
            "repositories": self.repositories,
            "reason": self.reason,
        }


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
    """The backfills of ``source`` that are still running, by destination."""
    running: dict[Registry, Mapping[str, Any]] = {}
    params: dict[str, Any] = {"registryId": source.account, "maxResults": LIST_PAGE_SIZE}
    while True:
        page = client.list_replication_backfills(**params)
        for summary in page.get("backfills", []):
            if summary.get("status") in RUNNING_STATES:
                target = summary["destination"]
                running[Registry(account=target["registryId"], region=target["region"])] = summary
        if not page.get("nextToken"):
            return running
        params["nextToken"] = page["nextToken"]


def _source_client(access: RegistryAccess, source: SourceRegistry) -> ECRClient:
    # Backfill calls act on the caller's own registry: refuse other accounts' credentials.
    return access.ecr(source.registry, side="source", own_account=True)


# ---------------------------------------------------------------------------------------------
# Start and follow


def prepare(access: RegistryAccess, targets: Sequence[Target]) -> list[Backfill]:
    """Check each source's deployed configuration and running backfills before starting."""
    backfills = [Backfill(target=t) for t in targets]
    for source, group in _by_source(backfills).items():
        try:
            client = _source_client(access, source)
            with guarded():
                deployed = deployed_destinations(client)
                running = running_backfills(client, source.registry)
        except AccessError as failure:
            for backfill in group:
                backfill.unchecked(failure.reason)
            continue
        for backfill in group:
            destination = backfill.target.destination
            if destination not in deployed:
                backfill.state = "NOT_DEPLOYED"
                backfill.reason = (
                    "not in the deployed replication configuration: deploy the source stack "
                    "first; not attempted"
                )
            elif destination in running:
                backfill.follow(running[destination], existing=True)
    return backfills


def attempt_start(access: RegistryAccess, backfill: Backfill, timing: Timing) -> None:
    """Start one backfill, or find it running, or schedule a retry when ECR says "not now"."""
    source, destination = backfill.target.source, backfill.target.destination
    try:
        client = _source_client(access, source)
        with guarded(f"starting the backfill to {destination.key}"):
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
                    running = running_backfills(client, source.registry).get(destination)
                    if running is not None:
                        backfill.follow(running, existing=True)
                        return
                    waiting_for = f"another backfill to {destination.region} to finish"
                elif code == LIMIT_EXCEEDED_ERROR:
                    waiting_for = "one of the registry's running backfills to finish"
                else:
                    raise
    except AccessError as failure:
        backfill.unchecked(failure.reason)
        return
    backfill.retry_delay = (
        timing.first_retry_seconds
        if not backfill.retry_delay
        else min(backfill.retry_delay * 2, timing.max_retry_seconds)
    )
    backfill.next_attempt = timing.clock() + backfill.retry_delay
    backfill.reason = f"waiting for {waiting_for}"


def poll(access: RegistryAccess, backfill: Backfill) -> None:
    """Read a backfill's status and progress; once terminal, every failed image, all pages."""
    source = backfill.target.source
    backfill_id = backfill.backfill_id
    if backfill_id is None:  # not started: nothing to follow
        return
    try:
        client = _source_client(access, source)
        with guarded(f"following backfill {backfill_id}"):
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
    """Start every waiting backfill (retrying as ECR allows) and, with ``wait``, follow them
    all to a terminal status. Ctrl-C (KeyboardInterrupt) leaves ``backfills`` as far as known."""
    while True:
        for backfill in backfills:
            if backfill.state == "WAITING" and backfill.next_attempt <= timing.clock():
                attempt_start(access, backfill, timing)
                on_change(backfill)
        following = [b for b in backfills if wait and b.state in RUNNING_STATES]
        for backfill in following:
            poll(access, backfill)
            on_change(backfill)
        waiting = [b for b in backfills if b.state == "WAITING"]
        following = [b for b in following if b.state in RUNNING_STATES]
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
    backfills = [Backfill(target=t, state="NOT_RUNNING") for t in targets]
    for source, group in _by_source(backfills).items():
        try:
            client = _source_client(access, source)
            with guarded():
                running = running_backfills(client, source.registry)
        except AccessError as failure:
            for backfill in group:
                backfill.unchecked(failure.reason)
            continue
        for backfill in group:
            summary = running.get(backfill.target.destination)
            if summary is None:
                backfill.reason = "no backfill running"
                continue
            backfill.follow(summary, existing=True)
            backfill.reason = None
            if backfill.state == "STOPPING" or backfill.backfill_id is None:
                continue
            try:
                with guarded(f"stopping backfill {backfill.backfill_id}"):
                    try:
                        response = client.stop_replication_backfill(
                            registryId=source.account, replicationBackfillId=backfill.backfill_id
                        )
                        backfill.state = str(response.get("status", "STOPPING"))
                    except (
                        Exception
                    ) as error:  # a ClientError's code decides; anything else re-raises
                        if error_code(error) != INVALID_STATUS_ERROR:
                            raise
                        backfill.state, backfill.reason = "NOT_RUNNING", "finished before the stop"
            except AccessError as failure:
                backfill.unchecked(failure.reason)
    return backfills


def _digests(access: RegistryAccess, registry: Registry, repository: str, side: Side) -> set[str]:
    client = access.ecr(registry, side=side)
    try:
        images = list_images(client, registry, repository)
    except Exception as error:  # a ClientError's code decides; anything else re-raises
        if error_code(error) != "RepositoryNotFoundException":
            raise
        return set()
    return {image["imageDigest"] for image in images}


def _digests_in(
    access: RegistryAccess, registry: Registry, side: Side
) -> Callable[[str], set[str]]:
    return lambda repository: _digests(access, registry, repository, side)


def dry_run(access: RegistryAccess, targets: Sequence[Target]) -> list[Backfill]:
    """Count, per target, the matching source images that its destination lacks."""
    backfills = [Backfill(target=t, state="DRY_RUN") for t in targets]
    for source, group in _by_source(backfills).items():
        try:
            client = _source_client(access, source)
            with guarded():
                deployed = deployed_destinations(client)
                names = [r["repositoryName"] for r in list_repositories(client, source.registry)]
            matching = sorted(n for n in names if source.matches(n))
            with guarded("listing source images"):
                source_digests = dict(
                    zip(
                        matching,
                        run_concurrently(matching, _digests_in(access, source.registry, "source")),
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
                    present = run_concurrently(
                        repositories, _digests_in(access, destination, "destination")
                    )
            except AccessError as failure:
                backfill.unchecked(failure.reason)
                continue
            backfill.repositories = len(repositories)
            backfill.missing_images = sum(
                len(source_digests[name] - found)
                for name, found in zip(repositories, present, strict=True)
            )
            if destination not in deployed:
                backfill.reason = "not in the deployed replication configuration: a backfill "
                backfill.reason += "would not be attempted"
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
    if backfill.missing_images is not None:
        return f"{backfill.missing_images} missing in {backfill.repositories} repositories"
    if backfill.counts is None:
        return ""
    c = backfill.counts
    return f"{c.completed}/{c.total} replicated, {c.failed} failed"


def render(console: Console, backfills: Sequence[Backfill], *, mode: str) -> None:
    title = {
        "start": "Backfill: replicate the images that existed before replication",
        "dry-run": "Backfill dry run: matching source images missing in each destination",
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


def resume_command(args: argparse.Namespace) -> str:
    words = ["ecr-replication", "backfill"]
    if args.config != "cdk.json":
        words += ["--config", args.config]
    for destination in args.destination or ():
        words += ["--destination", destination.key]
    return " ".join(words)


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
    def mode(self) -> str:
        return "dry-run" if self.dry_run else "stop" if self.stop else "start"


def execute(
    access: RegistryAccess,
    options: Options,
    *,
    timing: Timing | None = None,
    resume: str = "ecr-replication backfill",
    console: Console | None = None,
) -> int:
    """Run the command against ``access``; prints the report and returns the exit code."""
    timing = timing or Timing()
    console = console or report.make_console()
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
    body = {
        "mode": options.mode,
        "wait": options.wait,
        "interrupted": interrupted,
        "backfills": [b.to_json() for b in backfills],
    }
    if interrupted:
        # The backfills go on in ECR; only this command stopped looking at them.
        print(
            "Stopped following; the backfills keep running in ECR. Follow them again with: "
            f"{resume}   (or stop them with: {resume} --stop)",
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
        help="start the backfills and print their ids without following them",
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="change nothing: count the matching source images missing in each destination",
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
    return execute(access, options, resume=resume_command(args))
