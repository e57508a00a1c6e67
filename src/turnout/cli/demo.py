"""`turnout demo`: Chinook moves to a new SQLite file while a simulated shop keeps selling.

The demo uses only the public API, so it shows exactly what a user gets:
schema → full → incremental under writes, "not delayed", then the whole
switch: switchover (the shop moves to the new file and its sales flow back
through the reverse task), rollback, switchover again, finish, and a
verification of every table.
"""

from __future__ import annotations

import random
import shlex
import shutil
import signal
import sqlite3
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live

from turnout import api
from turnout.cli.render import status_view, verify_view
from turnout.errors import NotFound
from turnout.spec import TaskSpec
from turnout.store import Store

TASK = "demo"


def create_chinook(path: Path) -> None:
    """Build the Chinook sample database (MIT licence, see data/CHINOOK_LICENSE.md)."""
    script = resources.files("turnout.data").joinpath("chinook_sqlite.sql").read_text("utf-8")
    db = sqlite3.connect(path)
    db.executescript(script)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


class Shop(threading.Thread):
    """A business writing to its database: new invoices, price changes, refunds, new artists.

    It behaves like a web application: it writes to the file its config (`side`, rewritten
    by `--on-switch`) names, and a write refused by a switchover's fence is retried on a new
    connection a moment later. Each commit is logged with the file it went to."""

    def __init__(self, source: Path, side: Path | None = None, dest: Path | None = None,
                 ) -> None:
        """Without a `side` file the shop writes to `source` only."""
        super().__init__(name="shop", daemon=True)
        self.side_file = side
        self.paths = {"source": source, "dest": dest or source}
        self.halt = threading.Event()
        self.transactions = 0
        self.refused = 0
        self.sides: list[str] = []  # each run of commits to one side, once
        self.rng = random.Random(7)

    def run(self) -> None:
        while not self.halt.is_set():
            side = self.side()
            db = sqlite3.connect(self.paths[side], timeout=30, isolation_level=None)
            try:
                self._sell(db, side)
            except sqlite3.DatabaseError as exc:
                if "frozen" not in str(exc):
                    raise
                self.refused += 1
                self.halt.wait(0.02)  # and try again, as a web request would
            finally:
                db.close()

    def side(self) -> str:
        return self.side_file.read_text().strip() if self.side_file else "source"

    def _commit(self, side: str) -> None:
        self.transactions += 1
        if self.sides[-1:] != [side]:
            self.sides.append(side)

    def _sell(self, db: sqlite3.Connection, side: str) -> None:
        while not self.halt.wait(self.rng.uniform(0.005, 0.03)):
            if self.side() != side:
                return  # repointed: a new connection to the other side
            db.execute("BEGIN IMMEDIATE")
            try:
                self._one_transaction(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self._commit(side)

    def _one_transaction(self, db: sqlite3.Connection) -> None:
        pick = self.rng.random()
        if pick < 0.6:  # a sale: one invoice with a few lines
            customer = self.rng.randint(1, 59)
            cur = db.execute(
                "INSERT INTO Invoice (CustomerId, InvoiceDate, BillingCountry, Total) "
                "VALUES (?, datetime('now'), 'Demo', 0)",
                (customer,),
            )
            invoice = cur.lastrowid
            total = 0.0
            for _ in range(self.rng.randint(1, 4)):
                track = self.rng.randint(1, 3503)
                db.execute(
                    "INSERT INTO InvoiceLine (InvoiceId, TrackId, UnitPrice, Quantity) "
                    "VALUES (?, ?, 0.99, 1)",
                    (invoice, track),
                )
                total += 0.99
            db.execute(
                "UPDATE Invoice SET Total = ? WHERE InvoiceId = ?", (round(total, 2), invoice)
            )
        elif pick < 0.85:  # a price change
            db.execute(
                "UPDATE Track SET UnitPrice = ? WHERE TrackId = ?",
                (self.rng.choice([0.99, 1.29, 1.99]), self.rng.randint(1, 3503)),
            )
        elif pick < 0.95:  # a refund: the newest invoice line goes away
            db.execute(
                "DELETE FROM InvoiceLine WHERE InvoiceLineId = (SELECT max(InvoiceLineId) "
                "FROM InvoiceLine)"
            )
        else:  # a new artist signs
            name = f"Demo Artist {self.rng.random():.6f}"
            db.execute("INSERT INTO Artist (Name) VALUES (?)", (name,))


def run_demo(console: Console, workdir: str | None, seconds: float) -> bool:
    store = Store()
    where = Path(workdir) if workdir else store.home / "demo"
    source, dest = where / "chinook.db", where / "chinook-copy.db"
    _fresh(store, where)
    console.print(f"[bold]1.[/] building the Chinook sample database at {source}")
    create_chinook(source)
    spec = TaskSpec(name=TASK, source=f"sqlite:///{source}", dest=f"sqlite:///{dest}")
    api.create_task(spec, store)
    console.print(f"[bold]2.[/] task [bold]{TASK}[/]: {source.name} → {dest.name} "
                  "(schema, full, incremental); a simulated shop starts selling")
    side = where / "shop-side"  # the shop's config: which file it writes to
    side.write_text("source")
    shop = Shop(source, side, dest)
    shop.start()
    stop = threading.Event()
    outcome: list[str] = []
    runner = threading.Thread(target=lambda: outcome.append(api.run_task(TASK, stop, store)))
    interrupted = threading.Event()

    def on_ctrl_c(*_: object) -> None:  # stop everything cleanly instead of raising mid-join
        interrupted.set()
        shop.halt.set()
        stop.set()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    runner.start()
    started = time.time()
    try:
        with Live(status_view(api.task_status(TASK, store)), console=console,
                  refresh_per_second=8) as live:
            def show() -> dict:
                status = api.task_status(TASK, store)
                live.update(status_view(status))
                return status

            # the shop keeps selling until the task is incremental and has run a while
            reached: float | None = None
            while runner.is_alive():
                status = show()
                delay = status["delay_s"]
                if reached is None and status["phase"] == "incremental" and delay is not None \
                        and delay < 1:  # what the progress bar calls "not delayed"
                    reached = time.time()
                    live.console.print(
                        f"   reached [bold]Incremental Data Migration — [green]not delayed[/][/] "
                        f"after {reached - started:.1f} s, while the shop keeps selling"
                    )
                if reached is not None and time.time() - started > seconds:
                    break
                time.sleep(0.12)
            show()
        console.print()
        if not interrupted.is_set():
            _switch_story(console, store, shop, source, dest, side)
    finally:
        shop.halt.set()
        stop.set()
        runner.join()
        signal.signal(signal.SIGINT, previous)
    if interrupted.is_set():
        console.print("interrupted: the task is stopped; `turnout task run demo` resumes it")
        return False
    same = _summary(console, f"sqlite:///{source}", f"sqlite:///{dest}")
    api.finish(TASK, store, say=lambda message: console.print(f"   • {message}"))
    return same


def _switch_story(console: Console, store: Store, shop: Shop, source: Path, dest: Path,
                  side: Path) -> None:
    """Switchover, the shop on the new file, rollback, switchover again, finish; the shop is
    repointed by --on-switch and keeps retrying whatever the fence refuses."""
    def say(message: str) -> None:
        console.print(f"   • {message}", highlight=False)

    def move(to: str) -> str:  # written aside, then renamed: the shop never reads half of it
        target = shlex.quote(str(side))
        return f"echo {to} > {target}.new && mv {target}.new {target}"

    console.print(f"[bold]3.[/] switchover while the shop sells ({shop.transactions} "
                  "transactions so far): both files fenced for all but turnout, drained to a "
                  "marker, verified while closed, then the new file opens")
    api.switchover(TASK, store, on_switch=move("dest"), say=say)
    time.sleep(2)
    flowed = _count(source, "Invoice") == _count(dest, "Invoice")
    console.print(f"[bold]4.[/] the shop sells on {dest.name}; its sales flow back to "
                  f"{source.name} through task {TASK}-reverse "
                  f"({'invoices match' if flowed else 'still arriving'}); {source.name} stays "
                  "fenced for everyone but turnout")
    console.print("[bold]5.[/] rollback: the shop moves back to the source")
    api.rollback(TASK, store, on_switch=move("source"), say=say)
    api.wait_for(TASK, lambda st: st["state"] == "Migrating" and st["phase"] == "incremental",
                 60, store)
    deadline = time.time() + 60
    while (api.task_status(TASK, store)["delay_s"] or 99) > 2 and time.time() < deadline:
        time.sleep(0.2)  # the forward task replays what the reverse task wrote
    time.sleep(2)
    console.print("[bold]6.[/] switchover again; the new side is trusted, so finish follows")
    api.switchover(TASK, store, on_switch=move("dest"), say=say)
    time.sleep(1)
    shop.halt.set()
    shop.join()
    api.wait_caught_up(f"{TASK}-reverse", 60, store)
    clean = shop.sides == ["source", "dest", "source", "dest"]
    console.print(f"[bold]7.[/] the shop made {shop.transactions} transactions in all and "
                  f"retried {shop.refused} refused by a fence; it wrote to "
                  f"{' → '.join(shop.sides)}: "
                  + ("[green]never to a side it had left[/]" if clean
                     else "[red]to a side it had left[/]"))


def _count(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        db.close()


def _fresh(store: Store, where: Path) -> None:
    try:
        api.delete_task(TASK, store)
    except NotFound:
        pass
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)


def _summary(console: Console, source: str, dest: str) -> bool:
    """`turnout verify` of both files: every table compared by range checksums in each."""
    report = api.verify_urls(source, dest)
    console.print(verify_view(report))
    if report["consistent"]:
        console.print("[bold green]source and destination hold the same rows[/]")
    else:
        console.print("[bold red]source and destination differ[/]")
    return bool(report["consistent"])


@click.command()
@click.option("--dir", "workdir", type=click.Path(), help="Where to put the demo databases.")
@click.option("--seconds", default=8.0, show_default=True, help="How long the business writes.")
def demo(workdir: str | None, seconds: float) -> None:
    """Migrate the Chinook database to a new SQLite file while a simulated business writes."""
    if not run_demo(Console(), workdir, seconds):
        sys.exit(1)
