"""The store under concurrent use: the CLI reading while workers write, from several processes,
on both backends (the SQLite file and a PostgreSQL store)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store

WRITER = """
import sys
from turnout.store import Store
store = Store()
for i in range(300):
    store.add_event("t", "info", f"{sys.argv[1]} {i}")
    store.update("t", delay_s=float(i), heartbeat=float(i))
    store.set_checkpoint("t", sys.argv[1], str(i))
"""


def test_processes_writing_and_reading_at_once_lose_nothing(backend: str, home: Path,
                                                             tmp_path: Path) -> None:
    store = Store(home)
    src = tmp_path / "a.db"
    src.write_bytes(b"")
    store.create_task(TaskSpec("t", f"sqlite:///{src}", f"sqlite:///{tmp_path / 'b.db'}"))
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}"]) for n in range(3)
    ]
    reads = 0
    while any(w.poll() is None for w in writers):
        api.task_status("t", store)
        api.events("t", store=store)
        reads += 1
    assert [w.returncode for w in writers] == [0, 0, 0]
    messages = {e.message for e in store.events("t", limit=10_000)}
    assert all(f"w{n} {i}" in messages for n in range(3) for i in range(300))
    assert [store.checkpoint("t", f"w{n}") for n in range(3)] == ["299"] * 3
    assert reads > 0
