"""Shared output: the exit-code rule, the JSON envelope, progress only on a terminal."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from ecr_replication.ops import report

UNCHECKED = report.Unchecked(
    registry="111111111111/eu-west-1", check="registry-policy", reason="access denied"
)


@pytest.mark.parametrize(
    ("problems", "unchecked", "code"),
    [(0, (), 0), (2, (), 1), (0, (UNCHECKED,), 3), (1, (UNCHECKED,), 1)],
)
def test_the_exit_code_rule_lets_problems_win_over_unchecked_registries(
    problems: int, unchecked: tuple[report.Unchecked, ...], code: int
) -> None:
    assert report.Outcome(problems=problems, unchecked=unchecked).exit_code == code


def test_the_summary_names_an_unchecked_registry_even_when_problems_were_found() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)

    report.print_summary(
        console, report.Outcome(problems=1, unchecked=(UNCHECKED,)), ok_message="all good"
    )

    assert out.getvalue().splitlines() == [
        "1 problem found.",
        "Could not check 111111111111/eu-west-1: registry-policy: access denied",
    ]


def test_a_reason_shared_by_every_unchecked_check_is_one_line_and_different_ones_are_not() -> None:
    def summary(*unchecked: report.Unchecked) -> list[str]:
        out = io.StringIO()
        report.print_summary(
            Console(file=out, width=300),
            report.Outcome(problems=0, unchecked=unchecked),
            ok_message="all good",
        )
        return out.getvalue().splitlines()

    other = report.Unchecked(registry="222222222222/us-east-1", check="region-enabled", reason="")
    expired = "the session has expired"
    assert summary(
        report.Unchecked(registry=UNCHECKED.registry, check="registry-policy", reason=expired),
        report.Unchecked(registry=other.registry, check="region-enabled", reason=expired),
    ) == [f"Could not check 111111111111/eu-west-1, 222222222222/us-east-1: {expired}"]
    assert summary(
        UNCHECKED,
        report.Unchecked(registry=other.registry, check="region-enabled", reason=expired),
    ) == [
        "Could not check 111111111111/eu-west-1: registry-policy: access denied",
        f"Could not check 222222222222/us-east-1: region-enabled: {expired}",
    ]


def test_json_output_is_the_envelope_then_the_commands_fields_and_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = report.finish(
        command="preflight",
        as_json=True,
        outcome=report.Outcome(problems=0, unchecked=(UNCHECKED,)),
        body={"checks": []},
        render=lambda console: console.print("a table"),
        ok_message="all good",
    )

    out = capsys.readouterr().out
    assert code == 3
    assert json.loads(out) == {
        "schema": "ecr-replication/preflight/v1",
        "command": "preflight",
        "exitCode": 3,
        "problems": 0,
        "unchecked": [
            {
                "registry": "111111111111/eu-west-1",
                "check": "registry-policy",
                "reason": "access denied",
            }
        ],
        "checks": [],
    }


def test_progress_bars_are_drawn_only_on_a_terminal() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    piped = Console(file=io.StringIO(), force_terminal=False)

    with report.progress(terminal, "Checking", enabled=True) as drawn:
        assert drawn.enabled
    with report.progress(piped, "Checking", enabled=True) as hidden:
        assert not hidden.enabled
    with report.progress(terminal, "Checking", enabled=False) as json_mode:
        assert not json_mode.enabled
    assert piped.file.getvalue() == ""  # type: ignore[attr-defined]


def test_table_cells_are_never_read_as_markup() -> None:
    out = io.StringIO()
    table = report.new_table("t", ["Details"])
    table.add_row(report.cell("prefixes [prod/] -> [bold]x"))

    Console(file=out, width=200).print(table)

    assert "prefixes [prod/] -> [bold]x" in out.getvalue()
