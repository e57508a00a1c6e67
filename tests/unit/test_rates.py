"""Rows per second and time left per table, from successive statuses of a live view."""

from __future__ import annotations

from rich.console import Console

from turnout.cli.rates import Rate, TableRates, rate_text
from turnout.cli.render import status_view


def status(*tables: tuple[str, int, int, bool]) -> dict:
    return {"name": "t", "state": "Migrating", "phase": "full",
            "phase_title": "Full Data Migration", "delay_s": None, "error": None,
            "detail": None, "changes_applied": 0, "position": None,
            "tables": [{"source": n, "dest": n, "rows_copied": c, "rows_total": total,
                        "done": done} for n, c, total, done in tables]}


def test_rate_and_time_left_from_samples_a_second_or_more_apart() -> None:
    rates = TableRates()
    assert rates.update(status(("a", 0, 10_000, False)), now=100.0) == {}
    assert rates.update(status(("a", 500, 10_000, False)), now=100.5) == {}  # too soon
    found = rates.update(status(("a", 2_000, 10_000, False)), now=102.0)
    assert found == {"a": Rate(1_000.0, 8.0)}
    assert rate_text(found["a"]) == "1,000 rows/s, 0:00:08 left"


def test_old_samples_leave_the_window_so_the_rate_follows_a_change() -> None:
    rates = TableRates()
    for second in range(0, 21):  # 100 rows/s for 20 s, then 1,000 rows/s
        rates.update(status(("a", second * 100, 1_000_000, False)), now=float(second))
    for second in range(21, 41):
        found = rates.update(status(("a", 2_000 + (second - 20) * 1_000, 1_000_000, False)),
                             now=float(second))
    assert round(found["a"].rows_per_s) == 1_000


def test_a_finished_table_has_no_rate_and_a_stalled_one_no_time_left() -> None:
    rates = TableRates()
    rates.update(status(("a", 5, 10, False), ("b", 0, 10, False)), now=0.0)
    found = rates.update(status(("a", 10, 10, True), ("b", 0, 10, False)), now=5.0)
    assert "a" not in found and found["b"] == Rate(0.0, None)
    assert rate_text(found["b"]) == "0 rows/s" and rate_text(None) == ""


def test_the_live_view_shows_the_rate_beside_the_bar() -> None:
    console = Console(width=120, record=True)
    console.print(status_view(status(("item", 2_000, 10_000, False)),
                              {"item": Rate(1_000.0, 8.0)}))
    assert "1,000 rows/s, 0:00:08 left" in console.export_text()
