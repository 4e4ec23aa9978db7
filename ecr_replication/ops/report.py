"""Output shared by the operations commands: tables, progress bars, ``--json``, exit codes.

Public names, reused by every operations command (``backfill`` too):

* :class:`Unchecked` — a registry (or one check of it) that could not be checked, and why.
* :class:`Outcome` — how many problems were found and what could not be checked;
  ``exit_code`` applies :func:`ecr_replication.cli.exit_code` (0 all good, 1 problems, 3 a
  registry could not be checked; problems *and* unchecked registries give 1, and the unchecked
  registries are still named). Exit code 2 (bad usage, invalid topology) comes from the CLI.
* :func:`make_console` — a rich console on stdout; :func:`progress` — a progress tracker that
  draws bars only when stdout is a terminal and ``--json`` is off (``rich.progress`` with
  ``disable=True`` otherwise), so pipes and CI logs get no control characters.
* :func:`cell`, :func:`status_cell`, :func:`new_table` — table helpers. Cells are ``Text``, so
  values such as ``[prod/]`` are never read as rich markup.
* :func:`finish` — print the JSON document, or the human summary, and return the exit code.

JSON output (``--json``): one object on stdout and nothing else there. Every command's document
has this envelope, with the command's own fields next to it::

    {
      "schema": "ecr-replication/<command>/v1",   # changes only with an incompatible change
      "command": "preflight" | "verify" | "cost" | "import",
      "exitCode": 0 | 1 | 3,
      "problems": <int>,                          # findings with status "problem"
      "unchecked": [                              # empty when everything could be checked
        {"registry": "ACCOUNT/REGION", "check": "<what>", "reason": "<one line>"}
      ],
      ...
    }

``ecr-replication/preflight/v1`` adds ``"checks"``: one object per check of a registry::

    {"registry": "ACCOUNT/REGION", "side": "source" | "destination",
     "check": "region-enabled" | "replication-configuration" | "registry-policy"
              | "registry-policy-scope" | "repository-templates",
     "status": "ok" | "problem" | "unchecked" | "skipped",
     "message": "<one line>", "details": ["<line>", ...]}

``ecr-replication/verify/v1`` adds ``"repositoryFilter"`` (the ``--repository`` value or null),
``"referrers"`` (whether ``--referrers`` was given) and ``"results"``: one object per source
repository and destination::

    {"source": "ACCOUNT/REGION", "repository": "<name>", "destination": "ACCOUNT/REGION",
     "status": "ok" | "problem" | "unchecked", "sourceTags": <int>, "missingRepository": <bool>,
     "missingTags": [{"tag", "digest", "replicationStatus", "sourceStatus"}],
     "digestMismatches": [{"tag", "sourceDigest", "destinationDigest", "replicationStatus",
                           "sourceStatus", "destinationStatus"}],
     "archivedTags": [{"tag", "digest", "sourceStatus", "destinationStatus"}],
     "missingReferrers": [{"subjectDigest", "subjectTags": [...], "digest", "artifactType"}],
     "reason": "<why unchecked>" | null}

where a status is an image's ``imageStatus`` (``ACTIVE``, ``ARCHIVED``, ``ACTIVATING``);
``archivedTags`` are tags present on both sides whose image is not ``ACTIVE`` on one or both
(present: no problem); ``missingReferrers`` is filled with ``--referrers`` only. A referrer
listing that failed is under ``unchecked`` with ``check`` ``list referrers``.

where ``replicationStatus`` is null (not looked up) or ``{"status": "IN_PROGRESS" | "COMPLETE"
| "FAILED" | null, "failureCode": str | null, "error": str | null}`` (``error`` set when
``DescribeImageReplicationStatus`` did not answer; the verdict is the same either way).

``ecr-replication/cost/v1`` adds the prices used and ``"destinations"`` and ``"total"``::

    {"currency": "USD", "bytesPerGigabyte": 1073741824, "storagePricePerGbMonth": <float>,
     "transferPricePerGb": <float>, "transferPriceIsAssumption": true,
     "archivePricePerGbMonth": <float>, "archivePriceIsAssumption": true,
     "destinations": [{"destination": "ACCOUNT/REGION", "complete": <bool>,
                       "sources": ["ACCOUNT/REGION", ...],
                       "repositories": <int>, "images": <int>, "bytes": <int>,
                       "storageCostPerMonth": <float>, "archivedImages": <int>,
                       "archivedBytes": <int>, "archiveStorageCostPerMonth": <float>,
                       "transferBytes": <int>, "transferCost": <float>}],
     "total": {"bytes": <int>, "storageCostPerMonth": <float>, "archivedBytes": <int>,
               "archiveStorageCostPerMonth": <float>, "transferCost": <float>}}

``images`` and ``bytes`` are the active images (``ACTIVE`` or ``ACTIVATING``); the archived
ones (archived in the source) are apart, and not in the transfer.

``complete`` is false when a source replicating into the destination could not be read (it is
named under ``unchecked``): that destination's figures, and the total, are then a lower bound.

``ecr-replication/import/v1`` adds what was written and what was not read or carried::

    {"topology": {<the topology written>} | null,   # null: no source could be read
     "output": "<the --output file>" | null,
     "cannotCarry": ["<line>", ...],                # counted by "problems" (exit 1)
     "notes": ["<line>", ...]}

where ``unchecked`` names each part that could not be read, ``check`` being the ``preflight``
check that reads it (``replication-configuration``, ``registry-policy``,
``repository-templates``) and ``reason`` why and what the topology makes of it.

A usage or input error (exit code 2) under ``--json`` prints ``{"schema":
"ecr-replication/error/v1", "command", "exitCode": 2, "error": "<first line>", "problems":
["<line>", ...]}`` on stdout (and the same lines on stderr).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import exit_code

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from rich.text import Text

Status = Literal["ok", "problem", "unchecked", "skipped"]
STATUS_STYLES: Mapping[str, str] = {
    "ok": "green",
    "problem": "bold red",
    "unchecked": "yellow",
    "skipped": "dim",
}
SCHEMA_VERSION = "v1"
# Pipes and CI logs have no width; rich would fold tables at 80 columns.
NON_TERMINAL_WIDTH = 160


def schema_id(command: str) -> str:
    return f"ecr-replication/{command}/{SCHEMA_VERSION}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Unchecked:
    """A registry, or one check of it, that could not be checked."""

    registry: str
    check: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"registry": self.registry, "check": self.check, "reason": self.reason}


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What a command found: the number of problems and what it could not check."""

    problems: int
    unchecked: tuple[Unchecked, ...] = ()

    @property
    def exit_code(self) -> int:
        return exit_code(problems=self.problems > 0, unchecked=bool(self.unchecked))

    @property
    def unchecked_registries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u.registry for u in self.unchecked))


# ---------------------------------------------------------------------------------------------
# Human output


def make_console() -> Console:
    """A console on the current ``sys.stdout`` (so tests capturing stdout see its output)."""
    from rich.console import Console

    terminal = sys.stdout.isatty()
    width = None if terminal or os.environ.get("COLUMNS") else NON_TERMINAL_WIDTH
    return Console(file=sys.stdout, highlight=False, width=width)


def cell(value: object, style: str = "") -> Text:
    from rich.text import Text

    return Text(str(value), style=style)


def status_cell(status: str) -> Text:
    from rich.text import Text

    return Text(status, style=STATUS_STYLES.get(status, ""))


def new_table(title: str, columns: Sequence[str]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


class ProgressTracker:
    """Advances one progress bar from worker threads; the total can grow as work is found."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress = progress
        self._task = task
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._progress is not None and not self._progress.disable

    def add(self, count: int) -> None:
        if self._progress is not None:
            with self._lock:
                current = next(t for t in self._progress.tasks if t.id == self._task)
                self._progress.update(self._task, total=(current.total or 0) + count)

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)


@contextmanager
def progress(console: Console, description: str, *, enabled: bool) -> Iterator[ProgressTracker]:
    """A progress bar for ``description``, drawn only when ``enabled`` and ``console`` is a TTY.

    The bar is transient: it disappears when the work is done, leaving only the report.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )
    with bar:
        task = bar.add_task(description, total=0)
        yield ProgressTracker(bar, task)


_ABOUT_REPOSITORY = re.compile(r"^repository (?P<name>\S+): (?P<reason>.*)$")


def shared_reason(unchecked: Sequence[Unchecked]) -> str | None:
    """The one reason why several checks could not be made (no credentials, an expired
    session), to be said once instead of on every row; None when the reasons differ."""
    reasons = {u.reason for u in unchecked}
    if len(reasons) == 1 and len({(u.registry, u.check) for u in unchecked}) > 1:
        return reasons.pop()
    return None


def print_unchecked(console: Console, outcome: Outcome) -> None:
    """One line per registry that could not be checked, each reason named once.

    The same failure of several repositories (one answer per repository) is one reason with
    the repositories listed, not a repetition per repository; a reason shared by every check
    that could not be made is one line naming the registries.
    """
    if (reason := shared_reason(outcome.unchecked)) is not None:
        registries = ", ".join(outcome.unchecked_registries)
        console.print(cell(f"Could not check {registries}: {reason}", "yellow"))
        return
    for registry in outcome.unchecked_registries:
        grouped: dict[tuple[str, str], list[str]] = {}
        for u in outcome.unchecked:
            if u.registry != registry:
                continue
            match = _ABOUT_REPOSITORY.match(u.reason)
            reason, subject = (match["reason"], match["name"]) if match else (u.reason, "")
            grouped.setdefault((u.check, reason), []).append(subject)
        reasons = [
            f"{check} ({', '.join(dict.fromkeys(s for s in subjects if s))}): {reason}"
            if any(subjects)
            else f"{check}: {reason}"
            for (check, reason), subjects in grouped.items()
        ]
        console.print(cell(f"Could not check {registry}: " + "; ".join(reasons), "yellow"))


def print_summary(console: Console, outcome: Outcome, *, ok_message: str) -> None:
    """The closing lines: problems, unchecked registries (always named), or all good."""
    if outcome.problems:
        noun = "problem" if outcome.problems == 1 else "problems"
        console.print(cell(f"{outcome.problems} {noun} found.", "bold red"))
    print_unchecked(console, outcome)
    if not outcome.problems and not outcome.unchecked:
        console.print(cell(ok_message, "green"))


# ---------------------------------------------------------------------------------------------
# JSON output and the end of a command


def json_document(command: str, outcome: Outcome, body: Mapping[str, Any]) -> dict[str, Any]:
    """The command's JSON document: the shared envelope, then the command's own fields."""
    return {
        "schema": schema_id(command),
        "command": command,
        "exitCode": outcome.exit_code,
        "problems": outcome.problems,
        "unchecked": [u.to_json() for u in outcome.unchecked],
        **body,
    }


def finish(
    *,
    command: str,
    as_json: bool,
    outcome: Outcome,
    body: Mapping[str, Any],
    render: Callable[[Console], None],
    ok_message: str,
    console: Console | None = None,
) -> int:
    """Print the report (JSON document, or ``render`` plus the summary) and return the exit code."""
    if as_json:
        sys.stdout.write(json.dumps(json_document(command, outcome, body), indent=2) + "\n")
    else:
        console = console or make_console()
        render(console)
        print_summary(console, outcome, ok_message=ok_message)
    return outcome.exit_code
