"""Loading the topology for the operations commands, and their shared options."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import parse_topology
from ecr_replication.ops.config import add_common_arguments, load_topology

from .opshelp import DEST_A, CliResult, topology_document

Run = Callable[..., CliResult]


def test_a_cdk_json_context_and_a_bare_topology_file_give_the_same_topology(
    tmp_path: Path,
) -> None:
    document = topology_document()
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(
        json.dumps({"app": "python3 app.py", "context": {"ecrReplication": document}})
    )
    bare = tmp_path / "topology.json"
    bare.write_text(json.dumps(document))

    assert load_topology(cdk_json) == load_topology(str(bare)) == parse_topology(document)


def test_a_context_value_given_as_a_json_string_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"ecrReplication": json.dumps(topology_document())}}))

    assert load_topology(path) == parse_topology(topology_document())


def test_the_default_config_is_cdk_json_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cdk.json").write_text(
        json.dumps({"context": {"ecrReplication": topology_document()}})
    )
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)

    args = parser.parse_args([])

    assert load_topology(args.config).sources[0].destinations[0] == DEST_A
    assert (args.json, args.assume_role, args.role_name) == (False, True, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist; pass --config PATH"),
        (
            "{not json",
            "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (json.dumps({"app": "python3 app.py"}), "context.ecrReplication is not set"),
        ('"prod"', "'prod' must be a JSON object (the topology)"),
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON: nested too deeply"),
    ],
    ids=["missing", "not-json", "no-context-key", "a-json-string", "nested-too-deeply"],
)
def test_an_unusable_file_is_one_error_naming_the_file(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "cdk.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(ReplicationConfigError) as raised:
        load_topology(path)

    assert str(raised.value).startswith(f"{path}: {message}")
    assert len(raised.value.problems) == 1


def test_topology_problems_keep_their_field_paths_under_the_file(tmp_path: Path) -> None:
    document = topology_document()
    document["sources"][0]["region"] = "mars-1"
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"ecrReplication": document}}))

    with pytest.raises(ReplicationConfigError) as raised:
        load_topology(path)

    assert str(raised.value).startswith(
        f"{path}: context.ecrReplication.sources[0].region: 'mars-1' is not a known AWS region"
    )


def test_an_invalid_topology_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, run_cli: Run
) -> None:
    missing = tmp_path / "nowhere.json"

    for command in ("preflight", "verify", "cost"):
        result = run_cli(command, "--config", str(missing))
        assert result.code == 2
        assert result.err == (
            f"ecr-replication {command}: {missing}: does not exist; pass --config PATH: a "
            "cdk.json whose context holds ecrReplication, or a topology JSON file\n"
        )
        assert result.out == ""


def test_a_bad_role_name_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("preflight", "--role-name", "no spaces allowed")

    assert result.code == 2
    assert "'no spaces allowed' is not an IAM role name" in result.err
