"""GET /metrics scraped while a task runs: every series, labelled with the task."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import wait_for


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def test_metrics_of_a_running_task(client: TestClient, shop: dict[str, str],
                                   tmp_path: Path) -> None:
    assert client.post("/api/tasks", json={"name": "shop", **shop}).status_code == 201
    assert client.post("/api/tasks/shop/start").status_code == 200
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental")
    db = sqlite3.connect(tmp_path / "shop.db")
    for n in range(4, 14):
        db.execute("INSERT INTO item VALUES (?, 'fig')", (n,))
        db.commit()
    db.close()
    wait_for(client, "/api/tasks/shop", lambda s: s["changes_applied"] >= 10)
    deadline = time.time() + 10
    while True:  # the batch histogram is saved with the progress written after it
        samples = scrape(client)
        batches = samples.get(("turnout_task_apply_batch_duration_seconds_count",
                               (("task", "shop"),)), 0)
        if batches > 0 or time.time() > deadline:
            break
        time.sleep(0.1)
    task = (("task", "shop"),)
    assert samples[("turnout_task_delay_seconds", task)] >= 0
    assert samples[("turnout_task_rows_copied_total", (("table", "item"), ("task", "shop")))] == 3
    assert samples[("turnout_task_changes_applied_total", task)] >= 10
    assert samples[("turnout_task_state", (("state", "Migrating"), ("task", "shop")))] == 1
    assert samples[("turnout_task_state", (("state", "Failed"), ("task", "shop")))] == 0
    assert batches > 0
    assert samples[("turnout_task_apply_batch_duration_seconds_bucket",
                    (("le", "+Inf"), ("task", "shop")))] == batches
    assert samples[("turnout_task_reconnects_total", task)] == 0
    assert samples[("turnout_task_verify_differences", task)] == 0
    client.post("/api/tasks/shop/stop")
    stopped = scrape(client)
    assert stopped[("turnout_task_state", (("state", "Stopped"), ("task", "shop")))] == 1
    assert ("turnout_task_delay_seconds", task) not in stopped  # no delay while not running
    assert client.delete("/api/tasks/shop").status_code == 200
    assert not any(labels for _, labels in scrape(client))


def test_metrics_need_the_token(home: Path) -> None:
    from turnout.web import create_app

    with TestClient(create_app("s3cret", home=home)) as guarded:
        assert guarded.get("/metrics").status_code == 401
        shown = guarded.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert shown.status_code == 200


def test_the_grafana_dashboard_asks_for_series_that_exist(client: TestClient,
                                                          shop: dict[str, str]) -> None:
    import json
    import re

    assert client.post("/api/tasks", json={"name": "shop", **shop}).status_code == 201
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",)}
    served = {family.name + suffix  # every family, those without samples yet too
              for family in text_string_to_metric_families(client.get("/metrics").text)
              for suffix in suffixes[family.type]}
    dashboard = (Path(__file__).parents[2] / "docs" / "grafana-turnout.json").read_text()
    asked = set(re.findall(r"turnout_task_[a-z_]+", json.dumps(json.loads(dashboard))))
    assert asked and asked <= served, asked - served
    assert client.delete("/api/tasks/shop").status_code == 200


def test_options_and_alerts_through_the_api(client: TestClient, shop: dict[str, str]) -> None:
    made = client.post("/api/tasks", json={
        "name": "shop", **shop, "options": {"max_rows_per_second": 500},
        "alerts": {"webhook": "https://u:pw@hooks.example.com/x", "delay_s": 30}})
    assert made.status_code == 201, made.text
    changed = client.patch("/api/tasks/shop/options", json={"max_rows_per_second": 50})
    assert changed.status_code == 200 and changed.json()["name"] == "shop"
    events = [e["message"] for e in client.get("/api/tasks/shop/events").json()]
    assert "options set: max_rows_per_second = 50.0" in events
    assert "pw" not in str(events)
    bad = client.patch("/api/tasks/shop/options", json={"chunk_rows": 0})
    assert bad.status_code == 400 and "chunk_rows" in bad.json()["message"]
    assert client.patch("/api/tasks/nope/options", json={}).status_code == 404
    wrong = client.post("/api/tasks", json={"name": "hook", **shop,
                                            "alerts": {"webhook": "ftp://x/"}})
    assert wrong.status_code == 400 and "http(s)" in wrong.json()["message"]
    assert client.delete("/api/tasks/shop").status_code == 200
