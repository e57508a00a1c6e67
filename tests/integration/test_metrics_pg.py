"""GET /metrics while a task from a PostgreSQL source runs: the series carry its name."""

from __future__ import annotations

from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from tests.web.conftest import wait_for
from tests.web.test_metrics import scrape
from turnout.web import create_app


def test_metrics_of_a_postgres_source(pg_url: str, tmp_path: Path, home: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE item (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO item SELECT i, 'n' || i FROM generate_series(1, 3) i")
    task = {"name": "pgm", "source": pg_url, "dest": f"sqlite:///{tmp_path / 'new.db'}"}
    with TestClient(create_app(home=home)) as client:
        assert client.post("/api/tasks", json=task).status_code == 201
        try:
            assert client.post("/api/tasks/pgm/start").status_code == 200
            wait_for(client, "/api/tasks/pgm", lambda s: s["phase"] == "incremental", 60)
            with psycopg.connect(pg_url, autocommit=True) as conn:
                for n in range(4, 9):
                    conn.execute("INSERT INTO item VALUES (%s, 'x')", (n,))
            wait_for(client, "/api/tasks/pgm", lambda s: s["changes_applied"] >= 5, 60)
            samples = scrape(client)
            labels = (("task", "pgm"),)
            assert samples[("turnout_task_changes_applied_total", labels)] >= 5
            copied = {dict(labelled)["table"]: value for (name, labelled), value
                      in samples.items() if name == "turnout_task_rows_copied_total"}
            assert list(copied.values()) == [3] and "item" in next(iter(copied))
            assert samples[("turnout_task_state", (("state", "Migrating"), ("task", "pgm")))] == 1
            assert ("turnout_task_delay_seconds", labels) in samples
            assert ("turnout_task_apply_batch_duration_seconds_count", labels) in samples
            assert samples[("turnout_task_reconnects_total", labels)] == 0
        finally:
            client.post("/api/tasks/pgm/stop")
            client.delete("/api/tasks/pgm")
