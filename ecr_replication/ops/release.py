"""``ecr-replication release``: after ``cdk destroy``, take out of a destination's registry
policy exactly what the stacks put there, and keep the rest.

CloudFormation can delete a registry policy only whole. A destination whose policy keeps
statements the stack did not create (``additionalPolicyStatements``: another team's grant, a
pull-through-cache permission) therefore has its ``AWS::ECR::RegistryPolicy`` retained when the
stack is deleted; this command then removes from the live policy the statements the topology
generates for that destination (:func:`ecr_replication.model.policies.generated_statements`,
matched by Sid *and* content), keeps every other statement (the kept ones, and any added live
since), writes the rest back (``PutRegistryPolicy``), or deletes the policy when nothing
remains (``DeleteRegistryPolicy``), and prints what it removed.

It refuses while the destination's stack still exists (``DescribeStackResources`` of
``EcrReplicationDestination-<account>-<region>``): the next deploy or destroy would put the
statements back or remove the policy itself. ``--force`` releases anyway.

Credentials: the destination role is read-only and goes with the stack, so run it with the
destination account's own credentials: ``--no-assume-role`` with ``--profile`` (or the default
credential chain). It needs ``ecr:GetRegistryPolicy``, ``ecr:PutRegistryPolicy``,
``ecr:DeleteRegistryPolicy`` and ``cloudformation:DescribeStackResources`` there.

Exit codes: 0 released (or nothing to release); 1 a destination's stack still exists (named),
or a live statement with a generated Sid differs from what the topology generates (kept, and
named); 2 bad usage (a destination not in the topology); 3 a registry could not be read or
written. ``--json`` prints the ``ecr-replication/release/v1`` document.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..model import DestinationRegistry, ReplicationTopology, iam
from ..model.adoption import Release, release_statements
from ..model.policies import compact_json, generated_statements, policy_document
from ..naming import destination_stack_name
from . import report
from .aws import (
    AccessError,
    RegistryAccess,
    access_for,
    destination_stack_resources,
    guarded,
    registry_policy_text,
    run_concurrently,
)
from .config import add_common_arguments, load_topology, registry_argument

if TYPE_CHECKING:
    from rich.console import Console

COMMAND = "release"
CHECK = "registry-policy"


@dataclass(kw_only=True)
class Released:
    """What release did (or, with ``--dry-run``, would do) to one destination's policy."""

    destination: DestinationRegistry
    action: str = "none"
    """``put`` (the kept statements written back), ``delete`` (nothing remains), ``none``."""
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    stack: str | None = None
    """The destination stack's name while it still exists (release refused)."""
    note: str = ""
    unchecked: str | None = None

    @property
    def key(self) -> str:
        return self.destination.registry.key

    @property
    def problem(self) -> bool:
        return self.stack is not None or bool(self.changed)

    def to_json(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "destination": self.key,
            "action": self.action,
            "dryRun": dry_run,
            "removed": self.removed,
            "kept": self.kept,
            "changed": self.changed,
            "stack": self.stack,
            "note": self.note or None,
        }


def _sids(statements: Sequence[iam.Statement]) -> list[str]:
    return [str(s.get("Sid") or "(no Sid)") for s in statements]


def release_destination(
    access: RegistryAccess, destination: DestinationRegistry, *, dry_run: bool, force: bool
) -> Released:
    """Release one destination's registry policy (see the module's description)."""
    registry = destination.registry
    done = Released(destination=destination)
    try:
        if destination_stack_resources(access, registry) is not None and not force:
            done.stack = destination_stack_name(registry)
            done.note = (
                f"its stack {done.stack} still exists: run cdk destroy first (sources first), "
                "or --force"
            )
            return done
        ecr = access.ecr(registry, side="destination", own_account=True)
        text = registry_policy_text(ecr)
        if text is None:
            done.note = "no registry policy is live; nothing to release"
            return done
        plan: Release = release_statements(
            iam.statements_of(json.loads(text)), generated_statements(destination)
        )
        done.removed, done.kept = _sids(plan.removed), _sids(plan.kept)
        done.changed = list(plan.changed)
        if not plan.removed:
            done.note = "no statement the topology generates is live; nothing to release"
            return done
        done.action = "put" if plan.kept else "delete"
        if not dry_run:
            with guarded():
                if plan.kept:
                    ecr.put_registry_policy(
                        policyText=compact_json(policy_document([dict(s) for s in plan.kept]))
                    )
                else:
                    ecr.delete_registry_policy()
    except json.JSONDecodeError:
        done.unchecked = "the live registry policy is not JSON"
    except AccessError as failure:
        done.unchecked = failure.reason + (
            "; the destination role goes with the stack: run with the destination account's "
            "credentials (--no-assume-role, --profile)"
            if failure.credentials and access.assume_role
            else ""
        )
    return done


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--destination",
        metavar="ACCOUNT/REGION",
        type=registry_argument,
        default=None,
        help="release only this destination registry (default: every destination of the "
        "topology whose stack writes a registry policy)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be removed and kept; change nothing",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="release even while the destination's stack still exists",
    )
    add_common_arguments(parser)


def destinations_to_release(
    topology: ReplicationTopology, only: Any | None
) -> list[DestinationRegistry]:
    """The destinations whose stacks write a registry policy (or the one asked for)."""
    destinations = topology.destination_registries()
    if only is not None:
        chosen = [d for d in destinations if d.registry == only]
        if not chosen:
            known = ", ".join(d.registry.key for d in destinations)
            raise UsageError(
                f"--destination {only.key}: not a destination of the topology "
                f"(destinations: {known})"
            )
        return chosen
    return [d for d in destinations if d.needs_registry_policy]


def _render(console: Console, results: Sequence[Released], *, dry_run: bool) -> None:
    verb = "would remove" if dry_run else "removed"
    for done in results:
        if done.unchecked is not None:
            continue
        if done.removed:
            action = (
                "and delete the policy (nothing else is in it)"
                if done.action == "delete"
                else f"kept: {', '.join(done.kept)}"
            )
            console.print(report.cell(f"{done.key}: {verb} {', '.join(done.removed)}; {action}"))
        if done.note:
            console.print(
                report.cell(f"{done.key}: {done.note}", "bold red" if done.problem else "")
            )
        for sid in done.changed:
            console.print(
                report.cell(
                    f"{done.key}: kept {sid}: it has the Sid of a generated statement but other "
                    "content than the topology generates (changed since it was deployed?); "
                    "remove it by hand if it is no longer wanted",
                    "bold red",
                )
            )


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    destinations = destinations_to_release(topology, args.destination)
    access = access_for(topology, args)
    results = run_concurrently(
        destinations,
        lambda d: release_destination(access, d, dry_run=args.dry_run, force=args.force),
    )
    outcome = report.Outcome(
        problems=sum(1 for r in results if r.problem),
        unchecked=tuple(
            report.Unchecked(registry=r.key, check=CHECK, reason=r.unchecked)
            for r in results
            if r.unchecked is not None
        ),
    )
    return report.finish(
        command=COMMAND,
        as_json=args.json,
        outcome=outcome,
        body={"destinations": [r.to_json(dry_run=args.dry_run) for r in results]},
        render=lambda console: _render(console, results, dry_run=args.dry_run),
        ok_message="Dry run: nothing was changed." if args.dry_run else "Released.",
    )
