"""The console in real headless Chromium (Debian's package, driven by Playwright).

A person's path: create a task between two SQLite files from the form, start it, watch the
bar reach "Incremental Data Migration — not delayed", pause and resume it, stop it, verify,
delete; and a switchover whose checklist ticks through to "switched", then finish. The task
page's screenshot lands in TURNOUT_SCREENSHOTS (default: the test's temporary directory);
the README's richer one comes from tests/web/screenshot.py.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import make_db
from tests.web.conftest import SHOP, serve

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=20_000)

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)


@pytest.fixture()
def base_url(home: Path) -> Iterator[str]:
    yield from serve(home)


@pytest.fixture()
def page() -> Iterator[Page]:
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        context.set_default_timeout(20_000)
        tab = context.new_page()
        tab.on("dialog", lambda dialog: dialog.accept())  # the confirmations say yes
        yield tab
        browser.close()


def test_create_run_stop_verify_delete(page: Page, base_url: str, tmp_path: Path) -> None:
    src = make_db(tmp_path / "shop.db", SHOP)
    page.goto(base_url + "/new")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator(".field-error").first).to_have_text("required")

    page.get_by_label("Name", exact=True).fill("shop")
    page.get_by_label("Source URL").fill(f"sqlite:///{tmp_path}/missing.db")
    page.get_by_label("Destination URL").fill(f"sqlite:///{tmp_path}/new.db")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("alert")).to_contain_text("missing.db does not exist")

    page.get_by_label("Source URL").fill(f"sqlite:///{src}")
    page.get_by_role("button", name="Create task").click()
    page.wait_for_url(re.compile(r"/tasks/shop$"))
    expect(page.locator("#state")).to_have_text("NotStarted")

    page.get_by_role("button", name="Start", exact=True).click()
    bar = page.locator("#progress [role=progressbar]")
    expect(bar).to_have_attribute("aria-label", "Incremental Data Migration — not delayed")
    expect(page.locator("#tables tr[data-table=item] td").nth(1)).to_have_text("3 / 3")
    expect(page.locator(".delay-chart polyline")).to_be_attached()
    expect(page.locator("#events")).to_contain_text("Incremental Data Migration started")
    expect(page.locator("#sessions-source")).to_contain_text("turnout")

    page.get_by_role("button", name="Run precheck").click()
    expect(page.locator("#precheck-result")).to_contain_text("No problems: 1 tables would move")

    expect(page.get_by_role("button", name="Resume")).to_be_disabled()
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#state")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#state")).to_have_text("Migrating")
    expect(bar).to_have_attribute("aria-label", "Incremental Data Migration — not delayed")

    page.goto(base_url + "/")
    row = page.locator("tr[data-task=shop]")
    expect(row.get_by_role("progressbar")).to_have_attribute(
        "aria-label", "Incremental Data Migration — not delayed")
    row.get_by_role("link", name="shop").click()

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#state")).to_have_text("Stopped")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".verdict")).to_have_text("Consistent: every table matches.")
    expect(page.locator("table.verify tbody tr").first).to_contain_text("item")
    shots = Path(os.environ.get("TURNOUT_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "console-task.png"), full_page=True)

    page.get_by_role("button", name="Delete…").click()
    page.wait_for_url(base_url + "/")
    expect(page.locator("#empty")).to_be_visible()


def test_token_login(page: Page, home: Path) -> None:
    for base in serve(home, token="s3cret"):
        page.goto(base + "/")
        page.wait_for_url(re.compile(r"/login\?next=%2F$"))
        page.get_by_label("Token").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("not this server's")
        page.get_by_label("Token").fill("s3cret")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/")
        expect(page.locator("#empty")).to_be_visible()


def test_switchover_checklist_then_finish(page: Page, base_url: str, tmp_path: Path) -> None:
    """Switchover from the task page: the checklist highlights the step running (the grace
    period keeps one step long enough to be seen), ticks through to "switched"; then Finish."""
    src = make_db(tmp_path / "shop.db", SHOP)
    made = page.request.post(base_url + "/api/tasks", data={
        "name": "shop", "source": f"sqlite:///{src}", "dest": f"sqlite:///{tmp_path}/new.db"})
    assert made.status == 201, made.text()
    assert page.request.post(base_url + "/api/tasks/shop/start").status == 200
    page.goto(base_url + "/tasks/shop")
    expect(page.locator("#progress [role=progressbar]")).to_have_attribute(
        "aria-label", "Incremental Data Migration — not delayed")
    expect(page.locator("#switch-job")).to_have_text("No switchover yet.")
    expect(page.get_by_role("button", name="Finish…")).to_be_disabled()

    page.get_by_label("Grace (s)").fill("2")
    page.get_by_role("button", name="Switchover…").click()
    expect(page.locator("#checklist li[data-step=drained]")).to_have_class("running")
    expect(page.locator("#checklist li[data-step=switched]")).to_have_class("done")
    expect(page.locator("#checklist li.done")).to_have_count(11)
    expect(page.locator("#switch-job")).to_contain_text("Switchover done in")
    expect(page.locator("#said")).to_contain_text("the workload may now move to")

    page.get_by_role("button", name="Finish…").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Task shop is finished and deleted; its reverse task too.")
    expect(page.locator("#said")).to_contain_text("finished: nothing of turnout is left")
    page.goto(base_url + "/")
    expect(page.locator("#empty")).to_be_visible()


def test_a_table_copying_shows_its_rows_per_second_and_time_left(
        page: Page, base_url: str, tmp_path: Path) -> None:
    src = tmp_path / "big.db"
    with sqlite3.connect(src) as db:
        db.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        db.executemany("INSERT INTO big VALUES (?, ?)",
                       ((i, f"row {i:07d}") for i in range(1, 1_000_001)))
    db.close()
    made = httpx.post(base_url + "/api/tasks", json={
        "name": "big", "source": f"sqlite:///{src}", "dest": f"sqlite:///{tmp_path}/copy.db",
        "types": ["schema", "full"], "options": {"chunk_rows": 20}})
    assert made.status_code == 201, made.text
    page.goto(base_url + "/tasks/big")
    page.get_by_role("button", name="Start", exact=True).click()
    label = page.locator("#tables tr[data-table=big] .label")
    expect(label).to_have_text(re.compile(r"\d+ % · [\d,]+ rows/s · \d+:\d\d:\d\d left"))
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#state")).to_have_text("Stopped")


def test_throttling_and_alerts_from_the_task_page(page: Page, base_url: str,
                                                  tmp_path: Path) -> None:
    """The task page's settings while the task runs: throttling and a webhook set from the
    form reach the task (the API shows them), the webhook is shown as its host only, and
    it can be removed; the new-task form takes both too."""
    src = make_db(tmp_path / "shop.db", SHOP)
    page.goto(base_url + "/new")
    page.get_by_label("Name", exact=True).fill("shop")
    page.get_by_label("Source URL").fill(f"sqlite:///{src}")
    page.get_by_label("Destination URL").fill(f"sqlite:///{tmp_path}/new.db")
    page.get_by_text("Options").click()
    page.locator("input[name=max_rows_per_second]").fill("1000")
    page.get_by_text("Alerts", exact=True).click()
    page.locator("input[name=webhook]").fill("https://hooks.example.com/T0K3N")
    page.get_by_role("button", name="Create task").click()
    page.wait_for_url(re.compile(r"/tasks/shop$"))
    expect(page.get_by_label("Max rows per second")).to_have_value("1000")
    expect(page.locator("#alerts-now")).to_contain_text("Alerts go to https://hooks.example.com/…")
    expect(page.locator("#alerts-now")).not_to_contain_text("T0K3N")

    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#state")).to_have_text("Migrating")
    page.get_by_label("Max rows per second").fill("50")
    page.get_by_label("Max bytes per second").fill("1000000")
    page.get_by_role("button", name="Set throttling").click()
    expect(page.locator("#events")).to_contain_text("options set: max_rows_per_second = 50.0")
    page.get_by_label("Webhook").fill("http://alerts.example.org:9000/x?token=s3")
    page.get_by_label("Alert when delayed more than (s)").fill("30")
    page.get_by_role("button", name="Set alerts").click()
    expect(page.locator("#alerts-now")).to_contain_text(
        "Alerts go to http://alerts.example.org:9000/… on failure, stray writes and "
        "switchover steps that fail, and when delayed more than 30 s for 60 s.")
    settings = httpx.get(base_url + "/api/tasks/shop/settings").json()
    assert settings["options"] == {"max_rows_per_second": 50.0, "max_bytes_per_second": 1e6}
    assert settings["alerts"]["delay_s"] == 30.0
    page.get_by_role("button", name="Remove webhook…").click()
    expect(page.locator("#alerts-now")).to_have_text("No webhook: no alerts are sent.")
    expect(page.get_by_role("button", name="Remove webhook…")).to_be_disabled()
    shots = Path(os.environ.get("TURNOUT_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "console-settings.png"), full_page=True)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#state")).to_have_text("Stopped")
