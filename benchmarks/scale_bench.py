"""Figure 5: ``preflight`` and ``verify`` from the operations account, 40 registries, 50 ms a call.

Every AWS call the commands make (STS included) is counted and delayed by :data:`LATENCY` in a
botocore ``before-call`` hook on every client :meth:`RegistryAccess.new_client` creates. With
``DEFAULT_MAX_WORKERS`` calls in flight at a time, no schedule beats
``calls x latency / workers`` (the ideal); the target is a median wall time within
:data:`TARGET_RATIO` of it, judged on runs where moto's recorded answers are replayed (the
command does all its work; moto's own CPU, which shares the GIL with the command in-process and
which real endpoints do not spend here, is left out; the runs with moto answering are printed
beside them). Smaller worlds (fewer accounts; fewer repositories per source) show
that the calls grow linearly with registries and with repositories, and runs without latency
show the CPU the commands and moto spend, which no concurrency hides under a single GIL.

``verify --referrers`` (``ListImageReferrers`` for every image present on both sides, once per
registry) is counted on every world and timed on the largest, beside plain ``verify``: its cost
in calls is one per replicated image in the source and one per replica in each destination.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import io
import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from .common import Row, alternate, median
from .ecr_world import (
    MANIFEST,
    MANIFEST_MEDIA_TYPE,
    answer_2026,
    create_repository,
    digest_of,
    paginate_moto_ecr,
)
from .verify_bench import _aws_environment

LATENCY = 0.050  # seconds added to every AWS call
TARGET_RATIO = 1.30
LINEAR_TOLERANCE = 0.10
OPERATIONS_ACCOUNT = "123456789012"  # moto's default account: the caller
SOURCE_REGION = "us-east-1"
DESTINATION_REGIONS = ("us-west-2", "eu-west-1", "eu-central-1")
PREFIX = "team/"
TAGS = 3
COMMANDS = ("preflight", "verify")
REFERRERS = "verify --referrers"
"""Counted on every world and timed on the largest (its cost in calls)."""
TEMPLATE_RESOURCE_TYPE = "AWS::ECR::RepositoryCreationTemplate"
SINGULAR = {"registries": "registry", "repositories": "repository"}


@dataclass(frozen=True, kw_only=True, slots=True)
class World:
    """``accounts`` accounts of four registries each (one source, three destinations).

    The source of account ``i`` (``us-east-1``) replicates ``team/`` to ``us-west-2`` of
    account ``i+1``, ``eu-west-1`` of ``i+2`` and ``eu-central-1`` of ``i+3`` (modulo
    ``accounts``): every destination in another account than its source, none in the
    operations account, each fed by one source. Each source holds ``repositories`` repositories
    of :data:`TAGS` images, replicated identically. ``block`` keeps the account ids of the
    worlds apart, so that one moto holds them all.
    """

    block: int
    accounts: int
    repositories: int

    def account(self, index: int) -> str:
        return f"{self.block:04d}{index % self.accounts:08d}"

    @property
    def sources(self) -> int:
        return self.accounts

    @property
    def registries(self) -> int:
        return self.accounts * (1 + len(DESTINATION_REGIONS))

    @property
    def label(self) -> str:
        return f"{self.registries} registries / {self.accounts} accounts, {self.repositories} repos"

    def destinations_of(self, index: int) -> list[tuple[str, str]]:
        return [
            (self.account(index + offset), region)
            for offset, region in enumerate(DESTINATION_REGIONS, start=1)
        ]

    def topology(self) -> dict[str, Any]:
        return {
            "sources": [
                {
                    "account": self.account(index),
                    "region": SOURCE_REGION,
                    "rules": [
                        {
                            "repositoryPrefixes": [PREFIX],
                            "destinations": [
                                {"account": account, "region": region}
                                for account, region in self.destinations_of(index)
                            ],
                        }
                    ],
                }
                for index in range(self.accounts)
            ],
            "operations": {"account": OPERATIONS_ACCOUNT},
        }

    def repository_names(self) -> list[str]:
        return [f"{PREFIX}service-{r:02d}" for r in range(self.repositories)]

    def expected_results(self, command: str) -> int:
        """Lines of a complete report: preflight's checks, verify's (repository, destination)."""
        destinations = self.accounts * len(DESTINATION_REGIONS)
        if command == "preflight":  # region + configuration; region + policy + templates
            return 2 * self.sources + 3 * destinations
        return self.repositories * destinations

    @property
    def referrer_listings(self) -> int:
        """``ListImageReferrers`` calls of ``verify --referrers``: each source image once, and
        its replica in each destination once (every tag its own image here)."""
        return self.sources * self.repositories * TAGS * (1 + len(DESTINATION_REGIONS))


FULL = World(block=1, accounts=10, repositories=6)
BY_REGISTRIES = (
    World(block=2, accounts=4, repositories=6),
    World(block=3, accounts=5, repositories=6),
)
BY_REPOSITORIES = (
    World(block=4, accounts=10, repositories=2),
    World(block=5, accounts=10, repositories=3),
)
TIMED = (FULL, BY_REGISTRIES[1], BY_REPOSITORIES[1])


def seed(world: World) -> Any:
    """The world deployed and replicated, straight into moto's backends; returns its topology.

    Replication configurations and registry policies are what the stacks deploy, so preflight
    finds nothing to report; repository creation templates and the destination stacks, which
    moto lacks, are answered by :class:`Instrument`.
    """
    from moto.ec2.models import ec2_backends
    from moto.ecr.models import Image, ecr_backends

    from ecr_replication.model import parse_topology
    from ecr_replication.model.policies import compact_json, registry_policy_document

    topology = parse_topology(world.topology())
    for index in range(world.accounts):
        source = world.account(index)
        for account, region in [(source, SOURCE_REGION), *world.destinations_of(index)]:
            backend = ecr_backends[account][region]
            for name in world.repository_names():
                create_repository(backend, name)
                images = backend.repositories[name].images
                for tag in range(TAGS):
                    digest = digest_of(source, name, str(tag))
                    images.append(
                        Image(account, f"v{tag}", MANIFEST, name, MANIFEST_MEDIA_TYPE, digest)
                    )
        ecr_backends[source][SOURCE_REGION].put_replication_configuration(
            {
                "rules": [
                    {
                        "destinations": [
                            {"region": region, "registryId": account}
                            for account, region in world.destinations_of(index)
                        ],
                        "repositoryFilters": [{"filter": PREFIX, "filterType": "PREFIX_MATCH"}],
                    }
                ]
            }
        )
        _ = ec2_backends[source]["us-east-1"]  # moto builds an account's EC2 on first use: slow
    for destination in topology.destination_registries():
        registry = destination.registry
        ecr_backends[registry.account][registry.region].put_registry_policy(
            compact_json(registry_policy_document(destination))
        )
    return topology


@dataclass(frozen=True, kw_only=True, slots=True)
class Measure:
    """One run of one command."""

    seconds: float
    cpu: float  # process CPU time, every thread
    moto: float  # CPU time inside moto's request handling
    clients: float  # CPU time creating botocore clients
    gc: float  # wall time in the cyclic garbage collector
    calls: Counter[str]


@dataclass(kw_only=True, slots=True)
class _Tally:
    calls: Counter[str] = field(default_factory=Counter)
    moto: float = 0.0
    clients: float = 0.0
    gc: float = 0.0


DEPLOYED_AT = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def _members(params: Any) -> dict[str, Any]:
    """A ``before-call`` hook's request members (botocore passes the serialized request: the
    JSON body of an ECR call)."""
    body = params.get("body") if isinstance(params, dict) else None
    if isinstance(body, bytes | str) and body:
        try:
            found = json.loads(body)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}
    return {}


class Instrument:
    """Counts and delays every AWS call of the clients the commands create; measures CPU.

    Wraps :meth:`ecr_replication.ops.aws.RegistryAccess.new_client` (the one place the commands
    make clients: assumed-role clients and STS included) and registers a ``before-call`` hook
    on each that counts ``service:Operation``, sleeps ``latency`` seconds, and answers what
    moto lacks (``DescribeRepositoryCreationTemplates``; CloudFormation
    ``DescribeStackResources`` of the destination stack, owning the templates) from the
    topology. A hook that returns a response short-circuits the request. It also tallies the
    CPU time spent inside moto and creating clients, and the time the garbage collector takes.

    Every answer moto gives is recorded (status, headers, body) by account, URL and request
    body. With ``replay`` set, a ``before-send`` hook ahead of moto's returns the recorded
    answer instead: botocore still builds, signs and parses every request, but moto does no
    work. That shows what the commands' own code achieves, without moto's CPU under the GIL.
    """

    def __init__(self) -> None:
        self.latency = LATENCY
        self.replay = False
        self.templates: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._tally = _Tally()
        self._lock = threading.Lock()
        self._gc_started = 0.0
        self._answers: dict[tuple[str, str, str, bytes], tuple[int, Any, Any]] = {}
        self._sending = threading.local()

    def learn(self, topology: Any) -> None:
        """The templates the destination stacks of ``topology`` deployed."""
        for destination in topology.destination_registries():
            if destination.needs_template:
                mutability = destination.settings.repository_template.tag_mutability
                self.templates[(destination.registry.account, destination.registry.region)] = [
                    {
                        "prefix": p,
                        "appliedFor": ["REPLICATION"],
                        "imageTagMutability": mutability,
                        "createdAt": DEPLOYED_AT,
                        "updatedAt": DEPLOYED_AT,
                    }
                    for p in destination.template_prefixes
                ]

    def _answer(
        self, operation: str, account: str, region: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """What moto lacks, as botocore's model of the call has it (tests/ops/test_fakes.py
        checks): templates filtered by ``prefixes``, at most ``maxResults`` (default 100) in a
        page, with ``nextToken`` for the rest."""
        params = params or {}
        if (answer := answer_2026(operation, params)) is not None:
            return answer
        templates = self.templates.get((account, region), [])
        if operation == "DescribeRepositoryCreationTemplates":
            wanted = params.get("prefixes")
            chosen = [t for t in templates if not wanted or t["prefix"] in wanted]
            start = int(params.get("nextToken") or 0)
            size = int(params.get("maxResults") or 100)
            page: dict[str, Any] = {
                "registryId": account,
                "repositoryCreationTemplates": chosen[start : start + size],
            }
            if start + size < len(chosen):
                page["nextToken"] = str(start + size)
            return page
        if operation == "DescribeStackResources":
            return {
                "StackResources": [
                    {
                        "LogicalResourceId": f"Template{index}",
                        "PhysicalResourceId": template["prefix"],
                        "ResourceType": TEMPLATE_RESOURCE_TYPE,
                        "Timestamp": "2025-01-01T00:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for index, template in enumerate(templates)
                ]
            }
        return None

    def _hook(self, account: str, region: str) -> Callable[..., Any]:
        def before_call(model: Any, params: Any = None, **_: Any) -> Any:
            with self._lock:
                self._tally.calls[f"{model.service_model.service_name}:{model.name}"] += 1
            if self.latency:
                time.sleep(self.latency)
            parsed = self._answer(model.name, account, region, _members(params))
            if parsed is None:
                return None
            from botocore.awsrequest import AWSResponse, HTTPHeaders

            return AWSResponse("", 200, HTTPHeaders(), None), parsed

        return before_call

    def _send_hook(self, account: str) -> Callable[..., Any]:
        def before_send(request: Any, **_: Any) -> Any:
            body = request.body or b""
            key = (
                account,
                request.method,
                request.url,
                body.encode() if isinstance(body, str) else body,
            )
            # botocore calls every before-send handler (moto's next, on this thread) and takes
            # the first answer: moto is told whether to answer or to step aside.
            self._sending.key = None if self.replay else key
            if not self.replay:
                return None
            from botocore.awsrequest import AWSResponse
            from moto.core.botocore_stubber import MockRawResponse

            status, headers, answer = self._answers[key]
            return AWSResponse(request.url, status, headers, MockRawResponse(answer))

        return before_send

    def _moto(self, process: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(stubber: Any, request: Any) -> Any:
            if self.replay:
                return None  # answered from the recording
            answer = process(stubber, request)
            key = getattr(self._sending, "key", None)
            if answer is not None and key is not None:
                with self._lock:
                    self._answers[key] = answer
            self._sending.key = None
            return answer

        return self._cpu("moto", recorded)

    def _cpu(self, kind: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return work(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    setattr(self._tally, kind, getattr(self._tally, kind) + spent)

        return timed

    def _on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._tally.gc += time.perf_counter() - self._gc_started

    @contextlib.contextmanager
    def installed(self) -> Iterator[Instrument]:
        from moto.core.botocore_stubber import BotocoreStubber

        from ecr_replication.ops import aws

        create = aws.RegistryAccess.new_client

        def new_client(access: aws.RegistryAccess, session: Any, key: aws.ClientKey) -> Any:
            client = create(access, session, key)
            account = key.account or OPERATIONS_ACCOUNT
            client.meta.events.register("before-call.*.*", self._hook(account, key.region))
            client.meta.events.register_first("before-send.*.*", self._send_hook(account))
            return client

        gc.callbacks.append(self._on_gc)
        try:
            with (
                mock.patch.object(
                    aws.RegistryAccess, "new_client", self._cpu("clients", new_client)
                ),
                mock.patch.object(
                    BotocoreStubber,
                    "process_request",
                    self._moto(BotocoreStubber.process_request),
                ),
            ):
                yield self
        finally:
            gc.callbacks.remove(self._on_gc)

    def measure(self, command: str, config: Path, world: World) -> Measure:
        """One in-process ``ecr-replication <command> --json``: complete, all OK, exit 0."""
        from ecr_replication.cli import main

        # The heap moto, the seeded worlds and earlier runs left is not the command's: collect
        # the garbage of earlier runs and move the rest out of the collector's way.
        gc.collect()
        gc.freeze()
        self._tally = _Tally()
        out = io.StringIO()
        cpu, started = time.process_time(), time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = main([*command.split(), "--json", "--config", str(config)])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        report = json.loads(out.getvalue())
        assert report["unchecked"] == [], f"{command} could not check: {report['unchecked']}"
        assert code == 0, f"{command} exited {code}: {out.getvalue()[:3000]}"
        lines = report["checks" if command == "preflight" else "results"]
        assert len(lines) == world.expected_results(command), (
            f"{command} reported {len(lines)} lines, expected {world.expected_results(command)}"
        )
        assert all(line["status"] == "ok" for line in lines), f"{command}: not every line OK"
        tally = self._tally
        if command == REFERRERS:
            listed = tally.calls["ecr:ListImageReferrers"]
            assert listed == world.referrer_listings, (
                f"{command}: {listed} ListImageReferrers calls, expected {world.referrer_listings}"
            )
        return Measure(
            seconds=seconds,
            cpu=cpu,
            moto=tally.moto,
            clients=tally.clients,
            gc=tally.gc,
            calls=Counter(tally.calls),
        )


# ---------------------------------------------------------------------------------------------
# Linearity


@dataclass(frozen=True, kw_only=True, slots=True)
class Growth:
    """Calls at three sizes: the line through the two smaller ones predicts the largest."""

    dimension: str
    command: str
    units: tuple[int, int, int]
    calls: tuple[int, int, int]

    @property
    def per_unit(self) -> float:
        return (self.calls[1] - self.calls[0]) / (self.units[1] - self.units[0])

    @property
    def fixed(self) -> float:
        return self.calls[0] - self.per_unit * self.units[0]

    @property
    def factor(self) -> float:
        return self.units[2] / self.units[1]

    @property
    def growth(self) -> float | None:
        """calls(full)/calls(half), the fixed calls taken out of both; None when constant."""
        if self.calls[2] == self.calls[1]:
            return None
        return (self.calls[2] - self.fixed) / (self.calls[1] - self.fixed)

    @property
    def linear(self) -> bool:
        if self.per_unit == 0:
            return self.calls[2] == self.calls[1]
        growth = self.growth
        return growth is not None and abs(growth / self.factor - 1) <= LINEAR_TOLERANCE

    def describe(self) -> str:
        full, half = self.calls[2], self.calls[1]
        head = (
            f"{self.command} by {self.dimension}: calls {full} at {self.units[2]} / {half} at "
            f"{self.units[1]} = {full / half:.3f} raw"
        )
        if self.per_unit == 0:
            sizes = ", ".join(f"{c} at {u}" for u, c in zip(self.units, self.calls, strict=True))
            return f"{head}; no call depends on {self.dimension} ({sizes})"
        return (
            f"{head}; line through {self.units[0]} and {self.units[1]}: "
            f"{self.fixed:g} fixed + {self.per_unit:g} per {SINGULAR[self.dimension]}, "
            f"(calls - fixed) grow {self.growth:.3f}x for {self.factor:g}x {self.dimension}"
        )


# ---------------------------------------------------------------------------------------------
# The figure


def ideal(calls: int, workers: int) -> float:
    return calls * LATENCY / workers


@dataclass(frozen=True, kw_only=True, slots=True)
class Variant:
    """How a series of runs is made: latency per call, moto answering or its answers replayed."""

    latency: float
    replay: bool = False

    @property
    def label(self) -> str:
        answers = "moto's answers replayed" if self.replay else "moto"
        return f"{self.latency * 1000:.0f} ms, {answers}"


MEASURED = Variant(latency=LATENCY)
REPLAYED = Variant(latency=LATENCY, replay=True)
CPU_ONLY = Variant(latency=0.0)
CPU_ONLY_REPLAYED = Variant(latency=0.0, replay=True)
Series = dict[tuple[World, str, Variant], list[Measure]]


def run(runs: int) -> list[Row]:
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # AMIs: slow, never needed
    _aws_environment()
    from moto import mock_aws

    from ecr_replication.ops import aws

    workers = aws.DEFAULT_MAX_WORKERS
    worlds = (FULL, *BY_REGISTRIES, *BY_REPOSITORIES)
    instrument = Instrument()
    counted: dict[tuple[World, str], Counter[str]] = {}
    series: Series = {}
    with (
        tempfile.TemporaryDirectory(prefix="ecr-bench-scale-") as tmp,
        mock_aws(),
        paginate_moto_ecr(),
    ):
        configs: dict[World, Path] = {}
        started = time.perf_counter()
        for world in worlds:
            configs[world] = Path(tmp) / f"topology-{world.block}.json"
            configs[world].write_text(json.dumps(world.topology()))
            instrument.learn(seed(world))
        print(
            f"  scale worlds: {'; '.join(w.label for w in worlds)}; {TAGS} tags per repository, "
            f"replicated identically; seeded in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        def contender(world: World, command: str, variant: Variant) -> Callable[[int], float]:
            def once(_: int) -> float:
                instrument.latency, instrument.replay = variant.latency, variant.replay
                measured = instrument.measure(command, configs[world], world)
                assert measured.calls == counted[world, command], (
                    f"{command} on {world.label} ({variant.label}): other calls than counted"
                )
                series.setdefault((world, command, variant), []).append(measured)
                return measured.seconds

            return once

        try:
            with instrument.installed():
                # Calls are deterministic: one run without latency counts them, warms moto up
                # and records its answers.
                instrument.latency = 0.0
                for world in worlds:
                    for command in (*COMMANDS, REFERRERS):
                        counted[world, command] = instrument.measure(
                            command, configs[world], world
                        ).calls
                alternate(
                    {
                        f"{command} {world.label}": contender(world, command, MEASURED)
                        for world in TIMED
                        for command in COMMANDS
                    }
                    | {f"{REFERRERS} {FULL.label}": contender(FULL, REFERRERS, MEASURED)},
                    runs,
                )
                alternate(
                    {
                        f"{command} {variant.label}": contender(FULL, command, variant)
                        for variant in (REPLAYED, CPU_ONLY, CPU_ONLY_REPLAYED)
                        for command in COMMANDS
                    },
                    runs,
                )
        finally:
            gc.unfreeze()
    return _report(runs, workers, counted, series)


def _wall(runs: list[Measure]) -> float:
    return median([r.seconds for r in runs])


def _breakdown(runs: list[Measure]) -> str:
    return (
        f"wall {_wall(runs):.2f} s, CPU {median([r.cpu for r in runs]):.2f} s (inside moto "
        f"{median([r.moto for r in runs]):.2f}, creating clients "
        f"{median([r.clients for r in runs]):.2f}, GC pauses {median([r.gc for r in runs]):.2f})"
    )


def _referrers_row(
    runs: int, workers: int, counted: dict[tuple[World, str], Counter[str]], series: Series
) -> Row:
    """What ``--referrers`` costs: its calls and wall time beside plain ``verify``'s."""
    plain = sum(counted[FULL, "verify"].values())
    calls = sum(counted[FULL, REFERRERS].values())
    listed = counted[FULL, REFERRERS]["ecr:ListImageReferrers"]
    wall = _wall(series[FULL, REFERRERS, MEASURED])
    plain_wall = _wall(series[FULL, "verify", MEASURED])
    by_size = ", ".join(
        f"{counted[w, REFERRERS]['ecr:ListImageReferrers']} at {w.label}"
        for w in (*BY_REGISTRIES, *BY_REPOSITORIES)
    )
    print(
        f"  {REFERRERS}: {calls} calls ({listed} ListImageReferrers = images x (1 + "
        f"{len(DESTINATION_REGIONS)} destinations)) against {plain} for verify; wall "
        f"{wall:.2f} s against {plain_wall:.2f} s; ideal {ideal(calls, workers):.2f} s; "
        f"ListImageReferrers {by_size}",
        flush=True,
    )
    return Row(
        figure=f"scale: {REFERRERS}, {FULL.label} x {TAGS} tags, {LATENCY * 1000:.0f} ms a call, "
        f"median of {runs}: its cost in calls (one ListImageReferrers per image and registry)",
        ours=f"{calls} calls, {wall:.2f} s",
        baseline=f"verify: {plain} calls, {plain_wall:.2f} s",
        ratio=f"{calls / plain:.2f} (calls)",
        target="(informational)",
        passed=None,
    )


def _growths(counted: dict[tuple[World, str], Counter[str]]) -> list[Growth]:
    def growth(dimension: str, command: str) -> Growth:
        small, half = BY_REGISTRIES if dimension == "registries" else BY_REPOSITORIES
        sizes = (small, half, FULL)

        def unit(world: World) -> int:
            return world.registries if dimension == "registries" else world.repositories

        def calls(world: World) -> int:
            return sum(counted[world, command].values())

        return Growth(
            dimension=dimension,
            command=command,
            units=(unit(sizes[0]), unit(sizes[1]), unit(sizes[2])),
            calls=(calls(sizes[0]), calls(sizes[1]), calls(sizes[2])),
        )

    return [growth(d, c) for d in ("registries", "repositories") for c in COMMANDS]


def _report(
    runs: int, workers: int, counted: dict[tuple[World, str], Counter[str]], series: Series
) -> list[Row]:
    rows: list[Row] = []
    lines = [
        f"| command | world | answers | calls | wall, median of {runs} | ideal: calls x "
        f"{LATENCY * 1000:.0f} ms / {workers} | ratio | target | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    shown = [(world, MEASURED) for world in TIMED] + [(FULL, REPLAYED)]
    for world, variant in shown:
        for command in COMMANDS:
            calls = sum(counted[world, command].values())
            wall = _wall(series[world, command, variant])
            best = ideal(calls, workers)
            # Judged without moto's CPU: in-process moto shares the GIL with the command,
            # which real AWS endpoints do not; the moto rows show what it adds.
            judged = world == FULL and variant == REPLAYED
            passed = wall / best <= TARGET_RATIO if judged else None
            target = f"≤ {TARGET_RATIO:.2f}" if judged else "(informational)"
            answers = "replayed (no moto CPU)" if variant.replay else "moto"
            lines.append(
                f"| {command} | {world.label} | {answers} | {calls} | {wall:.2f} s | "
                f"{best:.2f} s | {wall / best:.2f} | {target} | "
                f"{ {True: 'pass', False: '**FAIL**', None: 'info'}[passed] } |"
            )
            replayed = ", moto's answers replayed" if variant.replay else ""
            rows.append(
                Row(
                    figure=f"scale: {command} from the operations account, {world.label} x "
                    f"{TAGS} tags, {LATENCY * 1000:.0f} ms a call{replayed}, median of {runs}",
                    ours=f"{wall:.2f} s",
                    baseline=f"{best:.2f} s ideal ({calls} calls x {LATENCY * 1000:.0f} ms "
                    f"÷ {workers})",
                    ratio=f"{wall / best:.2f}",
                    target=target,
                    passed=passed,
                )
            )
    print("\n".join(f"  {line}" for line in lines), flush=True)

    for command in COMMANDS:
        calls = sum(counted[FULL, command].values())
        print(
            f"  {command} calls by operation ({FULL.label}): "
            f"{dict(sorted(counted[FULL, command].items()))}",
            flush=True,
        )
        for variant in (MEASURED, REPLAYED, CPU_ONLY, CPU_ONLY_REPLAYED):
            measured = series[FULL, command, variant]
            print(
                f"    {variant.label}: {_breakdown(measured)}; "
                f"{_wall(measured) / ideal(calls, workers):.2f}x the ideal",
                flush=True,
            )
        floor = _wall(series[FULL, command, CPU_ONLY])
        own = _wall(series[FULL, command, CPU_ONLY_REPLAYED])
        rows.append(
            Row(
                figure=f"scale: {command}, {FULL.label}, no latency: CPU alone (with moto / "
                "moto's answers replayed)",
                ours=f"{floor:.2f} s / {own:.2f} s",
                baseline=f"{ideal(calls, workers):.2f} s ideal at {LATENCY * 1000:.0f} ms",
                ratio=f"{floor / ideal(calls, workers):.2f} / {own / ideal(calls, workers):.2f}",
                target="(informational)",
                passed=None,
            )
        )

    rows.append(_referrers_row(runs, workers, counted, series))
    growths = _growths(counted)
    for growth in growths:
        print(f"  linear: {growth.describe()}: {'yes' if growth.linear else 'NO'}", flush=True)
    rows.append(
        Row(
            figure="scale: calls grow linearly with registries (16, 20, 40) and with repositories "
            "(2, 3, 6 per source); fixed calls from the line through the two smaller sizes",
            ours="; ".join(
                f"{g.command} x{g.growth:.3f}" if g.growth is not None else f"{g.command} constant"
                for g in growths[:2]
            )
            + " per 2x registries; "
            + "; ".join(
                f"{g.command} x{g.growth:.3f}" if g.growth is not None else f"{g.command} constant"
                for g in growths[2:]
            )
            + " per 2x repositories",
            baseline="2x",
            ratio="",
            target=f"within ±{LINEAR_TOLERANCE:.0%} (or constant)",
            passed=all(g.linear for g in growths),
        )
    )
    return rows


if __name__ == "__main__":
    from .run import table

    print(table(run(3)))
