"""Where the operations commands get their topology, and the options every command shares.

Public names, reused by every operations command (``preflight``, ``verify``, ``cost``,
``backfill``):

* :func:`load_topology` — read a ``cdk.json`` whose ``context`` holds ``ecrReplication``, or a
  bare topology JSON file, and validate it with :func:`ecr_replication.topology.parse_topology`
  (the same model and validation as the CDK app). Any problem raises
  :class:`~ecr_replication.errors.ReplicationConfigError` whose first line names the file, so
  the console command prints one line and exits 2.
* :func:`add_common_arguments` — ``--config PATH``, ``--json``, ``--no-assume-role``
  (``args.assume_role`` becomes False) and ``--role-name NAME`` (``args.role_name``; None means
  the per-region default :func:`ecr_replication.naming.destination_role_name`).

Nothing here talks to AWS or imports boto3.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import Problem, ReplicationConfigError
from ..model import CONTEXT_KEY, Registry, ReplicationTopology, parse_topology, region_partitions
from ..model.limits import ACCOUNT_PATTERN, IAM_ROLE_NAME_PATTERN
from ..naming import DESTINATION_ROLE_NAME_PREFIX, SOURCE_ROLE_NAME_PREFIX

DEFAULT_CONFIG = "cdk.json"


def _config_error(path: Path, message: str) -> ReplicationConfigError:
    return ReplicationConfigError([Problem(str(path), message)])


def load_topology(path: str | Path = DEFAULT_CONFIG) -> ReplicationTopology:
    """The topology from ``path``: a ``cdk.json`` (``context.ecrReplication``) or a bare topology.

    A file is read as a ``cdk.json`` when its top-level object has a ``context`` or ``app`` key;
    otherwise the whole file is the topology. The context value may also be a JSON string (the
    form ``cdk -c ecrReplication='{...}'`` produces). Problems of the topology keep their field
    paths, prefixed with the file and, for a ``cdk.json``, ``context.ecrReplication``.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _config_error(
            file,
            "does not exist; pass --config PATH: a cdk.json whose context holds "
            f"{CONTEXT_KEY}, or a topology JSON file",
        ) from None
    except IsADirectoryError:
        raise _config_error(file, "is a directory, not a JSON file") from None
    except UnicodeDecodeError:
        raise _config_error(file, "is not UTF-8 text") from None
    except OSError as error:
        raise _config_error(file, f"cannot be read: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _config_error(
            file, f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise _config_error(file, "is not valid JSON: nested too deeply") from None

    field_prefix = ""
    raw: object = document
    if isinstance(document, dict) and ("context" in document or "app" in document):
        context = document.get("context")
        if not isinstance(context, dict) or CONTEXT_KEY not in context:
            raise _config_error(
                file,
                f"context.{CONTEXT_KEY} is not set; put the replication topology under "
                f'"context": {{"{CONTEXT_KEY}": {{...}}}}',
            )
        raw = context[CONTEXT_KEY]
        field_prefix = f"context.{CONTEXT_KEY}"
    elif isinstance(document, str):
        # Only a context value may be a JSON string holding the topology (the form of
        # ``cdk -c``); parse_topology would read this one again and call valid JSON invalid.
        raise _config_error(file, f"{document[:60]!r} must be a JSON object (the topology)")
    try:
        return parse_topology(raw)
    except ReplicationConfigError as error:
        located = (p.under(field_prefix) for p in error.problems)
        raise ReplicationConfigError(
            Problem(f"{file}: {p.path}" if p.path else str(file), p.message) for p in located
        ) from None


def _role_name(value: str) -> str:
    if not IAM_ROLE_NAME_PATTERN.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an IAM role name: 1 to 64 letters, digits and + = , . @ _ -"
        )
    return value


def registry_argument(value: str) -> Registry:
    """An ``ACCOUNT/REGION`` argument, as a registry."""
    account, _, region = value.partition("/")
    if not ACCOUNT_PATTERN.match(account) or region not in region_partitions():
        raise argparse.ArgumentTypeError(
            f"{value!r} is not ACCOUNT/REGION, e.g. 123456789012/eu-west-1"
        )
    return Registry(account=account, region=region)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config``, ``--json``, ``--profile``, ``--no-assume-role`` and ``--role-name``."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=DEFAULT_CONFIG,
        help=f"a cdk.json whose context holds {CONTEXT_KEY}, or a bare topology JSON file "
        f"(default: ./{DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a machine-readable report (stable schema, see the documentation) on stdout",
    )
    add_access_arguments(parser)


def add_access_arguments(parser: argparse.ArgumentParser) -> None:
    """Add how AWS is reached: ``--profile``, ``--no-assume-role``, ``--role-name`` and
    ``--source-role-name``."""
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=None,
        help="the AWS profile whose credentials the command uses (default: the AWS SDK's "
        "default credential chain, e.g. AWS_PROFILE or the instance role)",
    )
    parser.add_argument(
        "--no-assume-role",
        dest="assume_role",
        action="store_false",
        help="use the caller's credentials for every registry, instead of assuming the "
        "destination roles (and, from the operations account, the source roles)",
    )
    parser.add_argument(
        "--role-name",
        metavar="NAME",
        type=_role_name,
        default=None,
        help="name of the destination role to assume in each destination account "
        f"(default: {DESTINATION_ROLE_NAME_PREFIX}<region>, the role the constructs create)",
    )
    parser.add_argument(
        "--source-role-name",
        metavar="NAME",
        type=_role_name,
        default=None,
        help="name of the source role to assume in each source account when the topology "
        "names an operations account and the caller is in it "
        f"(default: {SOURCE_ROLE_NAME_PREFIX}<region>, the role the constructs create)",
    )
