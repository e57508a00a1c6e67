"""How the re-check judges one key after a round (verify/settle.py)."""

from __future__ import annotations

from rich.console import Console

from turnout.cli.render import verify_view
from turnout.verify.settle import CHANGING, PERSISTING, SETTLED, Summary, judge

OLD, NEW, NEWER = ("1", "old"), ("1", "new"), ("1", "newer")


def test_a_row_the_destination_caught_up_with_agrees() -> None:
    assert judge(OLD, NEW, NEW) == SETTLED
    assert judge(OLD, None, None) == SETTLED  # deleted on the source, and by the task since


def test_a_source_row_that_held_still_while_the_task_went_past_it_persists() -> None:
    assert judge(OLD, OLD, NEW) == PERSISTING  # changed on the destination behind the task
    assert judge(OLD, OLD, None) == PERSISTING  # missing there
    assert judge(None, None, OLD) == PERSISTING  # extra there


def test_a_row_written_during_the_round_goes_to_the_next() -> None:
    assert judge(OLD, NEWER, NEW) == CHANGING
    assert judge(OLD, NEW, OLD) == CHANGING  # the task had not reached the new value yet
    assert judge(None, NEW, None) == CHANGING  # inserted during the round


def test_the_summary_is_the_json_reports_recheck_object() -> None:
    summary = Summary(rows=3, settled=2, persisting=1, rounds=1, waited_s=0.12345)
    assert summary.to_dict() == {"rows": 3, "settled": 2, "persisting": 1, "changing": 0,
                                 "rounds": 1, "waited_s": 0.123, "note": None}


def test_the_terminal_view_says_what_the_recheck_found() -> None:
    report = {"consistent": False, "seconds": 1.0, "tables": [], "recheck": Summary(
        rows=40, settled=38, persisting=1, changing=1, rounds=5).to_dict()}
    console = Console(record=True, width=200)
    console.print(verify_view(report))
    text = console.export_text()
    assert "re-checked 40 differing row(s) in 5 round(s): 38 were in flight, 1 persist" in text
    assert "1 still changing" in text
