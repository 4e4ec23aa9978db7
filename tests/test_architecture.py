"""The package's shape: no import cycle, the command table imported by nothing, a pure model.

Imports are read from the source (every ``import`` statement, function-level ones included;
those under ``if TYPE_CHECKING:`` are left out, since they never run), so a cycle held together
by a function-level import is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ecr_replication"
THIRD_PARTY_BANNED_IN_MODEL = ("aws_cdk", "constructs", "jsii", "boto3", "botocore", "rich")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def imports_of(name: str) -> set[str]:
    """Every module (of this package or not) that ``name`` imports at run time."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in MODULES else base)
    return targets


GRAPH = {name: {t for t in imports_of(name) if t in MODULES and t != name} for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            connect(node)
    return found


def test_the_import_reader_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    # source.py imports the backfill construct inside __init__ and under TYPE_CHECKING.
    assert "ecr_replication.constructs.backfill" in GRAPH["ecr_replication.constructs.source"]
    assert "ecr_replication.constructs.source" not in GRAPH["ecr_replication.constructs.backfill"]


def test_no_module_of_the_package_is_part_of_an_import_cycle() -> None:
    assert _cycles() == []


def test_nothing_imports_the_command_table_but_main() -> None:
    importers = sorted(name for name, targets in GRAPH.items() if "ecr_replication.cli" in targets)
    assert importers == ["ecr_replication.__main__"]


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if n.startswith("ecr_replication.model"))
)
def test_the_model_imports_no_cdk_aws_sdk_or_terminal_library(name: str) -> None:
    third_party = {t.split(".")[0] for t in imports_of(name) if not t.startswith("ecr_replication")}
    assert not third_party & set(THIRD_PARTY_BANNED_IN_MODEL)


def test_only_the_constructs_import_the_cdk() -> None:
    importing = sorted(
        name
        for name in MODULES
        if any(t.split(".")[0] in ("aws_cdk", "constructs", "jsii") for t in imports_of(name))
    )
    assert importing
    assert all(name.startswith("ecr_replication.constructs.") for name in importing), importing


def test_loading_the_model_loads_no_cdk_aws_sdk_or_terminal_library() -> None:
    script = (
        "import sys, ecr_replication.model, ecr_replication.model.iam\n"
        "from ecr_replication.model import parse_topology\n"
        "parse_topology({'sources': [{'account': '555444333222', 'region': 'us-east-1', "
        "'rules': [{'destinations': [{'account': '123456789012', 'region': 'eu-west-1'}]}]}]})\n"
        f"banned = {THIRD_PARTY_BANNED_IN_MODEL!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_stack_snapshots_carry_nothing_the_cdk_synthesizer_adds() -> None:
    snapshots = list((PACKAGE.parent / "tests").rglob("__snapshots__/test_*/*.json"))
    stack_snapshots = [p for p in snapshots if "review" not in p.parts]
    assert stack_snapshots
    for path in stack_snapshots:
        text = path.read_text()
        assert "BootstrapVersion" not in text, path


def test_help_and_dir_of_the_package_list_the_constructs_while_import_stays_light() -> None:
    script = (
        "import sys, pydoc, ecr_replication\n"
        "light = not any(m.split('.')[0] == 'aws_cdk' for m in sys.modules)\n"
        "names = dir(ecr_replication)\n"
        "text = pydoc.render_doc(ecr_replication)\n"
        "wanted = ['SourceRegistryReplication', 'DestinationRegistryPolicy',\n"
        "          'ReplicationDestinationRole', 'ReplicationRepositoryTemplate',\n"
        "          'ReplicationBackfillOnDeploy', 'add_replication_stacks', 'enable_nag']\n"
        "print(light, all(n in names for n in wanted), all(n in text for n in wanted))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["True", "True", "True"]
