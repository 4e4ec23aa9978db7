"""The ``ecr-replication`` console command: review, preflight, verify, cost, backfill,
import, release.

Never imports ``aws_cdk`` (fast start, no Node.js). Each subcommand lives in its own module,
imported only when that subcommand runs; the module provides ``add_arguments(parser)`` and
``run(args) -> int``. This module is the top of the package: nothing imports it but
``__main__``; errors and exit codes live in :mod:`ecr_replication.errors`.

Exit codes, the same for every command (:mod:`ecr_replication.errors`):

* 0 — all good;
* 1 — a problem was found (drift, missing grant, disabled region, missing images);
* 2 — bad usage or invalid input (one-line error, no traceback);
* 3 — a registry could not be checked (access denied, throttled, expired credentials, an API
  the endpoint does not offer). When problems were found *and* a registry could not be
  checked, the exit code is 1 and the unchecked registry is still named.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.metadata
import json
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import NoReturn

from .errors import EXIT_OK, EXIT_USAGE, ReplicationConfigError, UsageError

# name -> (module, one-line help). Modules are imported lazily so `--help` stays fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "review": (
        "ecr_replication.review.command",
        "report what a synthesized cloud assembly (cdk.out) would deploy",
    ),
    "preflight": (
        "ecr_replication.ops.preflight",
        "check that replication will work: regions, configuration, grants, templates",
    ),
    "verify": (
        "ecr_replication.ops.verify",
        "check that every source tag exists in every destination with the same digest",
    ),
    "cost": ("ecr_replication.ops.cost", "estimate the storage and transfer cost of replicas"),
    "backfill": (
        "ecr_replication.ops.backfill",
        "replicate images that existed before replication was configured",
    ),
    "import": (
        "ecr_replication.ops.adopt",
        "write the topology of registries that already replicate, to adopt them",
    ),
    "release": (
        "ecr_replication.ops.release",
        "after cdk destroy, remove the generated grants from registry policies kept on delete",
    ),
}


ERROR_SCHEMA = "ecr-replication/error/v1"
"""The ``--json`` document of a usage or input error (exit code 2)."""


class _ArgumentError(Exception):
    """An argument error, raised instead of argparse's printing and exiting."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(self, message)


def version() -> str:
    """The installed package's version."""
    try:
        return importlib.metadata.version("ecr-replication")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "unknown"


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name][0])


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``selected`` subcommand's module is imported."""
    parser = _Parser(
        prog="ecr-replication",
        description="Operate Amazon ECR cross-account and cross-region replication.",
        epilog="Exit codes: 0 all good, 1 problems found, 2 bad usage or invalid topology, "
        "3 a registry could not be checked.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            _command_module(name).add_arguments(sub)
    return parser


def _usage_error(command: str | None, lines: list[str], *, as_json: bool) -> int:
    """Report bad usage or input: one line (and one per further problem) on stderr; under
    ``--json`` also a JSON document on stdout, so a pipeline step reading stdout never breaks."""
    where = f"ecr-replication {command}" if command else "ecr-replication"
    print(f"{where}: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line}", file=sys.stderr)
    if as_json:
        document = {
            "schema": ERROR_SCHEMA,
            "command": command,
            "exitCode": EXIT_USAGE,
            "error": lines[0],
            "problems": lines,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    return EXIT_USAGE


GC_THRESHOLD = (50_000, 20, 20)
"""Collector thresholds while a command runs (CPython's default is ``(700, 10, 10)``)."""


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often while a command runs, then restore the thresholds.

    Every botocore client makes thousands of short-lived objects (a copy of the session's event
    hooks, a class of methods); at the default threshold the collector runs every 700
    allocations and keeps walking the service models loaded so far. Measured by
    ``benchmarks/scale_bench.py``: about a fifth of ``preflight``'s CPU over 40 registries.
    mypy raises its thresholds for the same reason. Objects freed by reference counting (almost
    all) are freed as before; only cyclic garbage waits longer.
    """
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if a in COMMANDS), None)
    as_json = "--json" in args_list
    parser = build_parser(selected)
    try:
        args = parser.parse_args(args_list)
    except _ArgumentError as error:
        error.parser.print_usage(sys.stderr)
        return _usage_error(selected, [str(error)], as_json=as_json)
    except SystemExit as error:  # --help and --version print and exit 0
        return EXIT_USAGE if error.code else EXIT_OK
    try:
        with fewer_collections():
            code: int = _command_module(args.command).run(args)
    except (ReplicationConfigError, UsageError) as error:
        lines = str(error).splitlines() or ["invalid input"]
        return _usage_error(args.command, lines, as_json=getattr(args, "json", False))
    except KeyboardInterrupt:
        print("ecr-replication: interrupted", file=sys.stderr)
        return 130
    return code


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())
