"""Fixtures of the review tests: each test topology synthesized once, hand-made assemblies."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.topologies import synth_topology, topologies


class MarkdownSnapshotExtension(SingleFileSnapshotExtension):
    """One readable ``.md`` file per snapshot: the report exactly as GitHub would render it."""

    file_extension = "md"
    _write_mode = WriteMode.TEXT


@pytest.fixture
def snapshot_markdown(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(MarkdownSnapshotExtension)


@pytest.fixture
def snapshot_json_report(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test topology synthesized into its own cloud assembly, by topology name."""
    root = tmp_path_factory.mktemp("assemblies")
    return {name: synth_topology(context, root / name) for name, context in topologies().items()}


Template = Mapping[str, Any]


@pytest.fixture
def write_assembly(tmp_path: Path) -> Callable[..., Path]:
    """Writes a minimal hand-made cloud assembly: ``{stack name: (environment, template)}``.

    For what no topology produces (a missing grant, a role open to anyone), the way a hand
    edit or another tool would put it into an assembly. ``metadata`` goes inline into the
    manifest artifact, as older CDK versions wrote it.
    """

    def write(
        stacks: Mapping[str, tuple[str, Template]],
        *,
        metadata: Mapping[str, Any] | None = None,
        name: str = "cdk.out",
    ) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        artifacts: dict[str, Any] = {}
        for stack, (environment, template) in stacks.items():
            (folder / f"{stack}.template.json").write_text(json.dumps(template))
            artifacts[stack] = {
                "type": "aws:cloudformation:stack",
                "environment": environment,
                "properties": {"templateFile": f"{stack}.template.json"},
                "metadata": dict((metadata or {}).get(stack, {})),
            }
        manifest = {"version": "55.0.0", "artifacts": artifacts}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return folder

    return write
