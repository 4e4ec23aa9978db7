"""``ecr-replication review``: what a synthesized cloud assembly would deploy, on one page.

Reads the cloud assembly folder that ``cdk synth`` writes (default ``cdk.out``): its
``manifest.json``, every stack template it names and the stacks' metadata. It reads the
templates, not the topology, so the report shows what would really be deployed, including
hand edits, escape hatches and subclassed constructs. The account and region of each stack
come from the manifest artifact's ``environment`` (``aws://ACCOUNT/REGION``). Never imports
``aws_cdk``.

The report (Markdown by default, or JSON) has:

* a Mermaid flowchart of source registries to destination registries, edges labelled with the
  repository prefixes of the replication rules;
* per destination registry: who may replicate which repositories into it (its registry
  policy) and whether they may create repositories; the IAM roles in it, exactly who may
  assume each (principals and conditions) and what each may do; the repository creation
  templates (tag mutability, encryption, lifecycle policy, pull-only access, tags);
* warnings for a reviewer, plus every ``aws:cdk:warning`` recorded in the assembly;
* whether the stacks pass AWS Control Tower's proactive controls, when they ran at synth
  (``-c ecrReplication:guard=true``; read from ``validation-report.json``);
* with ``--baseline OTHER_CDK_OUT``: the grants added and removed compared with that earlier
  synth.

Exit codes: 0 when the report was made; 2 with a one-line error when a folder is not a cloud
assembly (missing, no ``manifest.json``, unreadable) or the output file cannot be written.

The JSON document (schema ``ecr-replication/review/v1``) is described in
:mod:`ecr_replication.review.render`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ..errors import EXIT_OK, UsageError
from .analysis import build_review
from .assembly import read_assembly, read_plugin_reports
from .baseline import compare
from .render import SCHEMA, review_json, review_markdown
from .report import Review


def review_assembly(folder: Path, baseline: Path | None = None) -> Review:
    """Read an assembly (and optionally a baseline assembly) and build its review."""
    review = build_review(read_assembly(folder), read_plugin_reports(folder))
    if baseline is None:
        return review
    earlier = build_review(read_assembly(baseline))
    return dataclasses.replace(review, baseline=compare(review, earlier))


def render(review: Review, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(review_json(review), indent=2) + "\n"
    return review_markdown(review)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "assembly",
        nargs="?",
        default="cdk.out",
        metavar="CDK_OUT",
        help="the cloud assembly folder written by cdk synth (default: cdk.out)",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help=f"markdown (default; renders in pull requests) or json (schema {SCHEMA})",
    )
    parser.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    parser.add_argument(
        "--baseline",
        metavar="OTHER_CDK_OUT",
        help="an earlier cloud assembly: also report the grants added and removed since",
    )


def run(args: argparse.Namespace) -> int:
    review = review_assembly(
        Path(args.assembly), Path(args.baseline) if args.baseline is not None else None
    )
    text = render(review, args.format)
    if args.output is None:
        print(text, end="")
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--output {args.output}: cannot write it ({error.strerror})") from None
    return EXIT_OK
