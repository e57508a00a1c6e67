"""Make the README's screenshot of the task page: `.venv/bin/python -m tests.web.screenshot`.

A small shop database under live writes, migrated to a new SQLite file through the console;
someone edits a row on the destination behind turnout's back, and the verification report
shows it. Everything lives in a temporary directory; only the PNG is written out.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.conftest import make_db
from tests.web.conftest import serve

SHOP = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE invoice (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer(id),
                      total REAL NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO customer SELECT i, 'customer ' || i, 'city ' || (i % 40) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO invoice SELECT i, 1 + i % 500, round(i * 1.37 % 400, 2) FROM n;
"""


def shop_writes(path: Path, stop: threading.Event) -> None:
    """Sell: new invoices and corrected totals, a few dozen transactions a second, and every
    few seconds a price change touching every invoice (which shows as a bump of delay)."""
    db = sqlite3.connect(path, timeout=30)
    next_id, beat = 20_001, 0
    while not stop.wait(0.02):
        with db:
            db.execute("INSERT INTO invoice VALUES (?, ?, ?)",
                       (next_id, random.randint(1, 500), round(random.uniform(1, 400), 2)))
            db.execute("UPDATE invoice SET total = total + 1 WHERE id = ?",
                       (random.randint(1, next_id),))
            beat += 1
            if beat % 150 == 0:
                db.execute("UPDATE invoice SET total = round(total * 1.01, 2)")
        next_id += 1
    db.close()


def post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).close()


def main(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="turnout-shot-"))
    src, dst = make_db(work / "shop.db", SHOP), work / "shop-new.db"
    stop = threading.Event()
    for base in serve(work / "home"):
        post(base + "/api/tasks", {"name": "shop", "source": f"sqlite:///{src}",
                                   "dest": f"sqlite:///{dst}"})
        writer = threading.Thread(target=shop_writes, args=(src, stop))
        writer.start()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(base + "/tasks/shop")
            page.get_by_role("button", name="Run precheck").click()
            page.get_by_role("button", name="Start", exact=True).click()
            expect(page.locator("#progress [role=progressbar]")).to_have_attribute(
                "aria-label", "Incremental Data Migration — not delayed", timeout=30_000)
            time.sleep(12)  # the delay chart fills while the shop sells
            stop.set()
            writer.join()
            time.sleep(2)  # the last sales are applied
            with sqlite3.connect(dst) as db:  # an edit on the new database behind turnout's back
                db.execute("UPDATE customer SET city = 'Nowhere' WHERE id = 7")
            page.get_by_role("button", name="Verify").click()
            expect(page.locator(".verdict")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
        post(base + "/api/tasks/shop/stop", {})
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console-task.png"))
