"""The console's new-task form sends --where and --mask as `where` and `mask` lines."""

from __future__ import annotations

from fastapi.testclient import TestClient

from turnout.filters.masks import parse_mask


def test_where_and_mask_from_the_form_reach_the_task(client: TestClient,
                                                     shop: dict[str, str]) -> None:
    made = client.post("/api/tasks", json={"name": "shop", **shop, "types": ["schema", "full"],
                                           "where": ["item=name <> 'pear'"],
                                           "mask": ["item.name=hash"]})
    assert made.status_code == 201, made.text
    checked = client.post("/api/tasks/shop/precheck").json()
    assert checked["ok"], checked
    # the task runs, but no reverse task can: precheck says so before anyone depends on it
    assert any("--where on item" in p and "--mask on item.name" in p
               for p in checked["switchover"]), checked


def test_a_bad_filter_or_column_is_one_line(client: TestClient, shop: dict[str, str]) -> None:
    bad = client.post("/api/tasks", json={"name": "bad", **shop, "where": ["item=name = "]})
    assert bad.status_code == 400 and "filter" in bad.text
    made = client.post("/api/tasks", json={"name": "typo", **shop, "where": ["item=nme = 'x'"],
                                           "mask": ["item.id=redact"]})
    assert made.status_code == 201, made.text
    checked = client.post("/api/tasks/typo/precheck").json()
    assert not checked["ok"]
    assert any("item.nme" in p for p in checked["problems"]), checked
    assert all("\n" not in p for p in checked["problems"])
    assert parse_mask("hash").apply("apple") != "apple"
