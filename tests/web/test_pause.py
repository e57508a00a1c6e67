"""Pause and resume through the REST API: the task started in the server stops keeping its
place, and resumes in the server's process with the rows written meanwhile."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import wait_for


def test_pause_and_resume_a_task_the_server_runs(client: TestClient, shop: dict[str, str],
                                                 tmp_path: Path) -> None:
    assert client.post("/api/tasks", json={"name": "shop", **shop}).status_code == 201
    refused = client.post("/api/tasks/shop/pause")
    assert refused.status_code == 400 and "not running" in refused.json()["message"]
    assert client.post("/api/tasks/shop/start").status_code == 200
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental"
             and s["delay_s"] == 0)

    paused = client.post("/api/tasks/shop/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["state"] == "Paused" and paused.json()["pid"] is None
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute("INSERT INTO item (id, name) VALUES (99, 'written while paused')")
    db.commit()
    db.close()
    resumed = client.post("/api/tasks/shop/resume")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["state"] in ("Prechecking", "Migrating")
    wait_for(client, "/api/tasks/shop", lambda s: s["changes_applied"] >= 1
             and s["delay_s"] == 0)
    db = sqlite3.connect(tmp_path / "new.db")
    assert db.execute("SELECT name FROM item WHERE id = 99").fetchone() == (
        "written while paused",)
    db.close()
    again = client.post("/api/tasks/shop/resume")
    assert again.status_code == 400 and "not Paused" in again.json()["message"]
    assert client.post("/api/tasks/nope/pause").status_code == 404
    client.post("/api/tasks/shop/stop")
