"""The ``ecr-replication`` console command: review, preflight, verify, cost, backfill.

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
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

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
}


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name][0])


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the ``selected`` subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="ecr-replication",
        description="Operate Amazon ECR cross-account and cross-region replication.",
        epilog="Exit codes: 0 all good, 1 problems found, 2 bad usage or invalid topology, "
        "3 a registry could not be checked.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            _command_module(name).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(selected)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as error:  # argparse already printed the usage line
        return EXIT_USAGE if error.code else EXIT_OK
    try:
        code: int = _command_module(args.command).run(args)
    except (ReplicationConfigError, UsageError) as error:
        lines = str(error).splitlines() or ["invalid input"]
        print(f"ecr-replication {args.command}: {lines[0]}", file=sys.stderr)
        for line in lines[1:]:
            print(f"  {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ecr-replication: interrupted", file=sys.stderr)
        return 130
    return code


def console() -> None:
    """Console-script entry point."""
    sys.exit(main())
