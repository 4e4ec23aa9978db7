"""The README's examples run as written, so the shortest example cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_shortest_example_synthesizes_a_registry_policy_and_a_rule(tmp_path: Path) -> None:
    example = python_blocks()[0]
    assert "app = cdk.App()" in example
    # The jsii kernel is shared by the test session, so the output folder is given explicitly.
    example = example.replace("app = cdk.App()", f"app = cdk.App(outdir={str(tmp_path)!r})")
    exec(example, {})
    templates = {p.name: p.read_text() for p in tmp_path.glob("*.template.json")}
    assert set(templates) == {"Build.template.json", "Prod.template.json"}
    assert "AWS::ECR::ReplicationConfiguration" in templates["Build.template.json"]
    assert "arn:aws:ecr:eu-west-1:123456789012:repository/prod/*" in templates["Prod.template.json"]
