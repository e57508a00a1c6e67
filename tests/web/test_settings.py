"""The task page's throttling and alerts, through the API it calls: GET /settings shows
them (the webhook as scheme and host only), PATCH /options and /alerts change them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from turnout import api
from turnout.errors import BadInput
from turnout.spec import TaskSpec
from turnout.store import Store


def test_settings_show_and_change_throttling_and_alerts(client: TestClient,
                                                         shop: dict[str, str]) -> None:
    made = client.post("/api/tasks", json={"name": "shop", **shop,
                                           "options": {"max_rows_per_second": 500}})
    assert made.status_code == 201, made.text
    shown = client.get("/api/tasks/shop/settings").json()
    assert shown == {"options": {"max_rows_per_second": 500.0, "max_bytes_per_second": 0.0},
                     "alerts": {"webhook": None, "delay_s": 0.0, "delay_for_s": 60.0}}

    changed = client.patch("/api/tasks/shop/alerts", json={
        "webhook": "https://u:pw@hooks.example.com/T0K3N?k=s3", "delay_s": 30})
    assert changed.status_code == 200, changed.text
    assert changed.json()["alerts"] == {"webhook": "https://hooks.example.com/…",
                                        "delay_s": 30.0, "delay_for_s": 60.0}
    rules = client.app.state.store.get("shop").spec.alerts  # type: ignore[attr-defined]
    assert rules.webhook == "https://u:pw@hooks.example.com/T0K3N?k=s3"
    events = str(client.get("/api/tasks/shop/events").json())
    assert "alerts.webhook = https://hooks.example.com/…" in events
    assert "pw" not in events and "T0K3N" not in events

    kept = client.patch("/api/tasks/shop/alerts", json={"delay_for_s": 5}).json()["alerts"]
    assert kept == {"webhook": "https://hooks.example.com/…", "delay_s": 30.0,
                    "delay_for_s": 5.0}
    removed = client.patch("/api/tasks/shop/alerts", json={"webhook": ""}).json()["alerts"]
    assert removed["webhook"] is None and removed["delay_s"] == 30.0

    bad = client.patch("/api/tasks/shop/alerts", json={"webhook": "ftp://x/"})
    assert bad.status_code == 400 and "http(s)" in bad.json()["message"]
    negative = client.patch("/api/tasks/shop/alerts", json={"delay_s": -1})
    assert negative.status_code == 400 and "delay_s" in negative.json()["message"]
    assert client.get("/api/tasks/nope/settings").status_code == 404
    assert client.patch("/api/tasks/nope/alerts", json={}).status_code == 404
    assert client.delete("/api/tasks/shop").status_code == 200


def test_task_set_takes_alert_settings(store: Store, shop: dict[str, str]) -> None:
    """`turnout task set` and the console share one path: alerts.* keys set [alerts]."""
    api.create_task(TaskSpec("shop", shop["source"], shop["dest"]), store)
    said = api.set_options("shop", {"alerts.webhook": "http://h:1/x", "alerts.delay_s": "2",
                                    "max_rows_per_second": "9"}, store)
    assert said == {"alerts.webhook": "http://h:1/…", "alerts.delay_s": 2.0,
                    "max_rows_per_second": 9.0}
    assert store.get("shop").spec.alerts.webhook == "http://h:1/x"
    with pytest.raises(BadInput, match="alerts.delay_s takes a float"):
        api.set_options("shop", {"alerts.delay_s": "soon"}, store)
    with pytest.raises(BadInput, match="alerts.webhook"):
        api.set_options("shop", {"alerts.hook": "x"}, store)
