"""Rich renderings of the API's dicts for the terminal. No logic, only looks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from turnout.cli.rates import Rate, rate_text
from turnout.model import Session

STATE_STYLE = {
    "Migrating": "bold cyan",
    "Completed": "bold green",
    "Stopped": "yellow",
    "Failed": "bold red",
    "Prechecking": "cyan",
    "NotStarted": "dim",
    "Paused": "magenta",
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
    if status.get("detail"):
        text.append(f"\n{status['detail']}", style="yellow")
    if status["error"]:
        text.append(f"\n{status['error']}", style="red")
    return text


def status_view(status: dict[str, Any],
                rates: dict[str, Rate] | None = None) -> RenderableType:
    """The task's headline and a bar per table; with `rates` (a live view's, rates.py) each
    table still copying shows its rows per second and the time left."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column()
    grid.add_column(width=30)
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    for t in status["tables"]:
        total = max(t["rows_total"], t["rows_copied"], 1)
        name = t["source"] if t["source"] == t["dest"] else f"{t['source']} → {t['dest']}"
        bar = ProgressBar(total=total, completed=t["rows_copied"] if not t["done"] else total,
                          width=30)
        grid.add_row(name, bar, f"{t['rows_copied']:,} / {t['rows_total']:,}",
                     rate_text((rates or {}).get(t["source"])))
    leftovers = [
        Text(f"replication slot {slot} on the source belongs to no task and keeps WAL: drop "
             f"it with SELECT pg_drop_replication_slot('{slot}')", style="yellow")
        for slot in status.get("leftover_slots") or []
    ]
    return Group(headline(status), grid, *leftovers)


def tasks_table(tasks: list[dict[str, Any]]) -> Table:
    """One row per task; each side as its host and database, which fit a terminal where
    whole URLs were cut (`task status` and `--json` keep the whole, password-free URL)."""
    table = Table("name", "state", "phase", "delay", "source", "destination", box=None)
    for t in tasks:
        table.add_row(
            t["name"],
            Text(t["state"], style=STATE_STYLE.get(t["state"], "")),
            t["phase_title"] or "",
            delay_text(t["delay_s"]),
            place(t["source"]),
            place(t["dest"]),
        )
    return table


def place(url: str) -> str:
    """Where a database is, in short: `postgresql db1:5433/shop`, `sqlite data/app.db` (the
    file and its folder). No user and no password: only the scheme, host, port and name."""
    scheme, _, rest = url.partition(":")
    scheme = scheme.split("+", 1)[0]
    if not rest.startswith("//") or rest.startswith("///"):  # no host: a file's path
        path = PurePosixPath(rest.lstrip("/").split("?", 1)[0])
        return f"{scheme} {PurePosixPath(*path.parts[-2:]) if path.parts else path}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return scheme
    host = f"[{host}]" if ":" in host else host
    database = parts.path.lstrip("/")
    return f"{scheme} {host}{port}/{database}" if database else f"{scheme} {host}{port}"


def sessions_table(sessions: list[Session]) -> Table:
    table = Table("id", "user", "program", "client", "state", "writing", "turnout", box=None)
    for s in sessions:
        table.add_row(
            s.id, s.user, s.program, s.client, s.state,
            Text("yes", style="bold red") if s.writing else "no",
            "yes" if s.own else "",
        )
    return table


SHOWN_KEYS = 10  # per kind and table; --json lists them all


def verify_view(report: dict[str, Any]) -> RenderableType:
    """The verification report: a line per table, then the differing keys."""
    table = Table(title="Verification", title_justify="left")
    table.add_column("table")
    for column in ("rows source", "rows dest", "missing", "extra", "different"):
        table.add_column(column, justify="right")
    table.add_column("result")
    details: list[RenderableType] = []
    for t in report["tables"]:
        ok = t["consistent"]
        name = t["source"] if t["source"] == t["dest"] else f"{t['source']} → {t['dest'] or '?'}"
        table.add_row(name, str(t["rows_source"]), str(t["rows_dest"]),
                      str(len(t["missing"])), str(len(t["extra"])), str(len(t["different"])),
                      Text("same" if ok else "DIFFERENT", style="green" if ok else "bold red"))
        details += _table_details(t)
    verdict = (Text("consistent", style="bold green") if report["consistent"]
               else Text("differences found", style="bold red"))
    parts: list[RenderableType] = [table, *details, verdict]
    if report.get("recheck"):
        parts.append(_recheck_line(report["recheck"]))
    if "repair" in report:
        fix = report["repair"]
        done = f", {fix['applied']} applied" if fix["applied"] else " (review it, then --apply)"
        parts.append(Text(f"repair of the {fix['target']}: {fix['rows']} rows in "
                          f"{fix['file']}{done}"))
    return Group(*parts)


def _recheck_line(r: dict[str, Any]) -> Text:
    """What reading the differing rows again found (verify/settle.py)."""
    line = (f"re-checked {r['rows']} differing row(s) in {r['rounds']} round(s): "
            f"{r['settled']} were in flight, {r['persisting']} persist")
    if r["changing"]:
        line += f", {r['changing']} still changing (reported as they stand)"
    return Text(line + (f"; {r['note']}" if r["note"] else ""), style="dim")


def _table_details(t: dict[str, Any]) -> list[RenderableType]:
    lines: list[RenderableType] = [Text(f"{t['source']}: {p}", style="red") for p in t["problems"]]
    for kind, keys in (("missing on the destination", t["missing"]),
                       ("extra on the destination", t["extra"])):
        if keys:
            lines.append(Text(f"{t['source']}: {kind}: {_keys(keys)}"))
    if t["different"]:
        shown = [f"{k} ({', '.join(c)})"
                 for k, c in zip(t["different"][:SHOWN_KEYS], t["different_columns"], strict=False)]
        more = len(t["different"]) - SHOWN_KEYS
        lines.append(Text(f"{t['source']}: different: {', '.join(shown)}"
                          + (f" and {more} more" if more > 0 else "")))
    return lines


def _keys(keys: list[Any]) -> str:
    text = ", ".join(str(k) for k in keys[:SHOWN_KEYS])
    return text + (f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else "")


@contextmanager
def verify_progress(console: Console, enabled: bool = True,
                    ) -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A bar per table for long comparisons, on the terminal only."""
    if not enabled or not console.is_terminal:
        yield None
        return
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)
    ids: dict[str, Any] = {}

    def update(table: str, done: int, total: int | None) -> None:
        if table not in ids:
            ids[table] = bars.add_task(table, total=total)
        bars.update(ids[table], completed=done, total=total)

    with bars:
        yield update
