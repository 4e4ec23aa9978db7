"""``ecr-replication review``: what a synthesized cloud assembly would deploy, on one page.

Reads the assembly, not the topology: what would really be deployed, including hand edits,
escape hatches and subclassed constructs. Never imports ``aws_cdk``.

* :mod:`.assembly` — reading a cloud assembly and template values;
* :mod:`.report` — the review's values;
* :mod:`.analysis` — from stacks to the review;
* :mod:`.warnings` — what a reviewer should be warned about;
* :mod:`.baseline` — grants added and removed since an earlier assembly;
* :mod:`.render` — Markdown and JSON (schema ``ecr-replication/review/v1``);
* :mod:`.command` — the command's arguments and run.
"""

from __future__ import annotations

from .analysis import build_review
from .assembly import read_assembly
from .baseline import accesses, compare, describe_access
from .command import add_arguments, render, review_assembly, run
from .render import SCHEMA, mermaid_flowchart, review_json, review_markdown
from .report import Review, describe_principal

__all__ = [
    "SCHEMA",
    "Review",
    "accesses",
    "add_arguments",
    "build_review",
    "compare",
    "describe_access",
    "describe_principal",
    "mermaid_flowchart",
    "read_assembly",
    "render",
    "review_assembly",
    "review_json",
    "review_markdown",
    "run",
]
