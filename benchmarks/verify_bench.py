"""Figures 3 and 4: ``verify`` on a large moto-backed world, against a naive checker.

Figure 3 counts AWS API calls by operation and wall time, ``verify`` vs a checker that asks
``DescribeImages`` per image and destination, alternating the two. Figure 4 runs ``verify``
in a child process (``python -m benchmarks.verify_bench memory``) and reads its peak RSS.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import REPO, Row, median, python
from .ecr_world import CallCounter, Drift, World, paginate_moto_ecr, seed

MEMORY_TARGET_MB = 200
PAGE = 1000  # DescribeImages / DescribeRepositories maxResults


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckRun:
    seconds: float
    calls: Counter[str]
    drift: Drift


def _aws_environment() -> None:
    """Fake credentials and a region, so nothing can reach real AWS even outside the mock."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


# ---------------------------------------------------------------------------------------------
# The contenders


def run_ours(world: World, config: Path) -> tuple[Drift, dict[str, Any]]:
    """The real ``ecr-replication verify --json``, in process, through the console entry."""
    from ecr_replication.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["verify", "--config", str(config), "--json"])
    report = json.loads(out.getvalue())
    assert code == 1, f"verify exited {code}; expected 1 (drift found)"
    assert not report["unchecked"], f"verify could not check: {report['unchecked']}"
    drift: Drift = set()
    for result in report["results"]:
        destination, repository = result["destination"], result["repository"]
        drift |= {(destination, "missing", repository, m["tag"]) for m in result["missingTags"]}
        drift |= {
            (destination, "digest mismatch", repository, m["tag"])
            for m in result["digestMismatches"]
        }
    return drift, report


def run_naive(world: World, repositories: int) -> Drift:
    """What a first attempt looks like: one ``DescribeImages`` per image and destination.

    Same credentials path as ``verify`` (the destination role, assumed once per destination);
    only the first ``repositories`` matching repositories are checked.
    """
    import boto3

    session = boto3.Session()
    source = session.client("ecr", region_name=world.source_region)
    sts = session.client("sts", region_name="us-east-1")
    destinations = []
    for d in world.destinations:
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{d.account}:role/ecr-replication-destination-{d.region}",
            RoleSessionName="naive-check",
        )["Credentials"]
        assumed = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        destinations.append((d.key, assumed.client("ecr", region_name=d.region)))
    names = [
        r["repositoryName"]
        for page in source.get_paginator("describe_repositories").paginate()
        for r in page["repositories"]
        if r["repositoryName"].startswith(world.prefix)
    ][:repositories]
    drift: Drift = set()
    for name in names:
        for page in source.get_paginator("describe_images").paginate(repositoryName=name):
            for image in page["imageDetails"]:
                for tag in image.get("imageTags", []):
                    for key, client in destinations:
                        try:
                            found = client.describe_images(
                                repositoryName=name, imageIds=[{"imageTag": tag}]
                            )["imageDetails"]
                        except client.exceptions.ImageNotFoundException:
                            drift.add((key, "missing", name, tag))
                            continue
                        if found[0]["imageDigest"] != image["imageDigest"]:
                            drift.add((key, "digest mismatch", name, tag))
    return drift


# ---------------------------------------------------------------------------------------------
# Figure 3


def call_allowance(world: World) -> dict[str, int]:
    """The issue's call budget for ``verify`` on ``world``, term by term."""
    registries = 1 + len(world.destinations)
    pages = math.ceil(world.images_per_repository / PAGE)
    return {
        "image listings: (1 + destinations) x Σ⌈images/1000⌉": registries
        * world.repositories
        * pages,
        "repository listings: ⌈repositories/1000⌉ per registry": registries
        * math.ceil(world.repositories / PAGE),
        "one call per mismatch": len(world.drift()),
        "session set-up: caller identity + one AssumeRole per destination": registries,
    }


def _timed_check(counter: CallCounter, work: Any) -> CheckRun:
    counter.calls.clear()
    started = time.perf_counter()
    drift = work()
    return CheckRun(
        seconds=time.perf_counter() - started, calls=Counter(counter.calls), drift=drift
    )


def run(runs: int, naive_repositories: int) -> list[Row]:
    from moto import mock_aws

    _aws_environment()
    world = World()
    with tempfile.TemporaryDirectory(prefix="ecr-bench-verify-") as tmp:
        config = Path(tmp) / "topology.json"
        config.write_text(json.dumps(world.topology()))
        with mock_aws(), paginate_moto_ecr():
            started = time.perf_counter()
            seed(world)
            seeding = time.perf_counter() - started
            print(
                f"  verify world: {world.repositories} repositories x "
                f"{world.images_per_repository} images in 1 source + "
                f"{len(world.destinations)} destinations ({world.total_images * 4:,} images), "
                f"seeded in {seeding:.1f} s by appending Image objects to moto's ECR backends "
                "directly (PutImage through the API is quadratic per repository); "
                f"{len(world.drift())} problems injected",
                flush=True,
            )
            counter = CallCounter(world)
            ours: list[CheckRun] = []
            naive: list[CheckRun] = []
            with counter.installed():
                naive_expected = {
                    d
                    for d in world.drift()
                    if d[2] in world.repository_names()[:naive_repositories]
                }
                for index in range(runs):
                    order = ["ours", "naive"] if index % 2 == 0 else ["naive", "ours"]
                    for name in order:
                        if name == "ours":
                            ours.append(_timed_check(counter, lambda: run_ours(world, config)[0]))
                        else:
                            naive.append(
                                _timed_check(counter, lambda: run_naive(world, naive_repositories))
                            )
    for check in ours:
        assert check.drift == world.drift(), (
            f"verify reported {len(check.drift)} problems, {len(check.drift - world.drift())} "
            f"not injected, and missed {len(world.drift() - check.drift)} of the "
            f"{len(world.drift())} injected"
        )
    for check in naive:
        assert check.drift == naive_expected, "the naive checker did not find the injected drift"

    scale = world.repositories / naive_repositories
    ours_seconds = median([c.seconds for c in ours])
    naive_seconds = median([c.seconds for c in naive]) * scale
    ours_calls = ours[0].calls
    naive_calls = naive[0].calls
    # Only the per-repository calls grow with the repositories checked; set-up calls do not.
    naive_total = round(
        sum(n * (scale if op == "ecr:DescribeImages" else 1) for op, n in naive_calls.items())
    )
    allowance = call_allowance(world)
    budget = sum(allowance.values())
    print(f"  verify calls by operation: {dict(sorted(ours_calls.items()))}", flush=True)
    print(f"  naive calls by operation: {dict(sorted(naive_calls.items()))}", flush=True)
    print(
        f"  call budget {budget} = " + " + ".join(f"{v} ({k})" for k, v in allowance.items()),
        flush=True,
    )
    scaled = "" if scale == 1 else f", measured on {naive_repositories} repositories x {scale:g}"
    print(
        f"  verify wall time: ours {ours_seconds:.1f} s (runs {[round(c.seconds, 1) for c in ours]}),"
        f" naive {naive_seconds:.1f} s{scaled}; verify found all {len(world.drift())} injected "
        "problems and nothing else",
        flush=True,
    )
    total = sum(ours_calls.values())
    return [
        Row(
            figure=f"verify API calls ({world.repositories} repos x "
            f"{world.images_per_repository} images, {len(world.destinations)} destinations, "
            f"{len(world.drift())} injected problems, all found)",
            ours=f"{total:,}",
            baseline=f"{naive_total:,} (naive{scaled})",
            ratio=f"{total / naive_total:.3f}",
            target=f"≤ {budget:,}",
            passed=total <= budget,
        ),
        Row(
            figure=f"verify wall time (in-process moto), median of {runs}",
            ours=f"{ours_seconds:.1f} s",
            baseline=f"{naive_seconds:.1f} s (naive{scaled})",
            ratio=f"{ours_seconds / naive_seconds:.3f}",
            target="faster than naive",
            passed=ours_seconds < naive_seconds,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Figure 4


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child() -> None:
    """In a fresh process: seed the world, run verify once, print RSS figures as JSON.

    Three readings: after importing what verify needs (and nothing of moto), after importing
    moto and seeding the world, and the peak. ``peak - seeded`` is what verify itself added;
    ``modules + that`` estimates verify's peak against real AWS, where no fake ECR shares the
    process.
    """
    _aws_environment()
    import boto3  # noqa: F401

    import ecr_replication.cli
    import ecr_replication.ops.verify  # noqa: F401

    modules = _rss_mb()
    from moto import mock_aws

    world = World()
    with tempfile.TemporaryDirectory(prefix="ecr-bench-memory-") as tmp:
        config = Path(tmp) / "topology.json"
        config.write_text(json.dumps(world.topology()))
        with mock_aws(), paginate_moto_ecr():
            seed(world)
            with CallCounter(world).installed():
                seeded = _rss_mb()
                drift, _report = run_ours(world, config)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert drift == world.drift()
    print(json.dumps({"modules": modules, "seeded": seeded, "peak": peak}))


def run_memory() -> list[Row]:
    completed = subprocess.run(
        [python(), "-m", "benchmarks.verify_bench", "memory"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the memory child failed:\n{completed.stderr}")
    mb = json.loads(completed.stdout.strip().splitlines()[-1])
    grown = mb["peak"] - mb["seeded"]
    standalone = mb["modules"] + grown
    print(
        f"  verify memory: process peak {mb['peak']:.0f} MB; {mb['modules']:.0f} MB after "
        f"importing verify's modules, {mb['seeded']:.0f} MB with moto and the seeded world; "
        f"verify added {grown:.0f} MB at its peak, so against real AWS about "
        f"{standalone:.0f} MB",
        flush=True,
    )
    return [
        Row(
            figure="verify peak RSS (modules + what verify added; the moto world subtracted)",
            ours=f"{standalone:.0f} MB",
            baseline=f"{mb['modules']:.0f} MB (verify's modules loaded, before it runs)",
            ratio=f"{standalone / mb['modules']:.2f}",
            target=f"< {MEMORY_TARGET_MB} MB",
            passed=standalone < MEMORY_TARGET_MB,
        ),
        Row(
            figure="verify peak RSS, whole process incl. moto's 100,000-image world",
            ours=f"{mb['peak']:.0f} MB",
            baseline=f"{mb['seeded']:.0f} MB (same process before verify)",
            ratio=f"{mb['peak'] / mb['seeded']:.2f}",
            target="(informational)",
            passed=None,
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["memory"]:
        memory_child()
    else:
        sys.exit("usage: python -m benchmarks.verify_bench memory")
