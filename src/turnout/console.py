"""Rich renderings of the API's dicts for the terminal. No logic, only looks."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from turnout.model import Session

STATE_STYLE = {
    "Migrating": "bold cyan",
    "Completed": "bold green",
    "Stopped": "yellow",
    "Failed": "bold red",
    "Prechecking": "cyan",
    "NotStarted": "dim",
}


def delay_text(delay_s: float | None) -> str:
    if delay_s is None:
        return ""
    if delay_s < 1:
        return "not delayed"
    return f"delayed {delay_s:.0f} s"


def headline(status: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"{status['name']}  ", style="bold")
    text.append(status["state"], style=STATE_STYLE.get(status["state"], ""))
    if status["phase_title"] and status["state"] in ("Migrating", "Prechecking", "Stopped"):
        text.append(f" · {status['phase_title']}")
        if status["phase"] == "incremental" and status["state"] == "Migrating":
            delay = delay_text(status["delay_s"])
            text.append(f" — {delay}", style="green" if delay == "not delayed" else "yellow")
            text.append(f" · {status['changes_applied']:,} changes applied", style="dim")
    if status["error"]:
        text.append(f"\n{status['error']}", style="red")
    return text


def status_view(status: dict[str, Any]) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column()
    grid.add_column(width=30)
    grid.add_column(justify="right")
    for t in status["tables"]:
        total = max(t["rows_total"], t["rows_copied"], 1)
        name = t["source"] if t["source"] == t["dest"] else f"{t['source']} → {t['dest']}"
        bar = ProgressBar(total=total, completed=t["rows_copied"] if not t["done"] else total,
                          width=30)
        grid.add_row(name, bar, f"{t['rows_copied']:,} / {t['rows_total']:,}")
    leftovers = [
        Text(f"replication slot {slot} on the source belongs to no task and keeps WAL: drop "
             f"it with SELECT pg_drop_replication_slot('{slot}')", style="yellow")
        for slot in status.get("leftover_slots") or []
    ]
    return Group(headline(status), grid, *leftovers)


def tasks_table(tasks: list[dict[str, Any]]) -> Table:
    table = Table("name", "state", "phase", "delay", "source", "destination", box=None)
    for t in tasks:
        table.add_row(
            t["name"],
            Text(t["state"], style=STATE_STYLE.get(t["state"], "")),
            t["phase_title"] or "",
            delay_text(t["delay_s"]),
            t["source"],
            t["dest"],
        )
    return table


def sessions_table(sessions: list[Session]) -> Table:
    table = Table("id", "user", "program", "client", "state", "writing", "turnout", box=None)
    for s in sessions:
        table.add_row(
            s.id, s.user, s.program, s.client, s.state,
            Text("yes", style="bold red") if s.writing else "no",
            "yes" if s.own else "",
        )
    return table
