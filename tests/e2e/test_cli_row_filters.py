"""`task create --where/--mask` and a task file's [where] and [mask], through the real CLI:
a SQLite copy holds only the kept rows, masked, and a bad filter is one line, exit 2."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tests.conftest import make_db
from tests.e2e.test_cli import turnout

SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER, card TEXT);
INSERT INTO item VALUES (1, 'apple', 5, '4111111111111111'), (2, 'pear', 12, NULL),
                        (3, 'plum', NULL, '5500000000000004'), (4, 'fig', 30, '3400');
"""


def _copied(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM item ORDER BY id").fetchall()


def test_flags_and_a_task_file_filter_and_mask(tmp_path: Path) -> None:
    src = make_db(tmp_path / "shop.db", SHOP)
    made = turnout(tmp_path, "task", "create", "flags", "--source", f"sqlite:///{src}",
                   "--dest", f"sqlite:///{tmp_path / 'a.db'}", "--types", "schema,full",
                   "--where", "item=price >= 10 OR price IS NULL",
                   "--mask", "item.name=hash", "--mask", "item.card=keep-last:4")
    assert made.returncode == 0, made.stderr
    ran = turnout(tmp_path, "task", "run", "flags", timeout=120)
    assert ran.returncode == 0, ran.stderr
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    assert _copied(tmp_path / "a.db") == [(2, sha("pear"), 12, None),
                                          (3, sha("plum"), None, "************0004"),
                                          (4, sha("fig"), 30, "3400")]
    checked = turnout(tmp_path, "verify", "flags", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    task_file = tmp_path / "task.toml"
    task_file.write_text(f'source = "sqlite:///{src}"\ndest = "sqlite:///{tmp_path / "b.db"}"\n'
                         'types = ["schema", "full"]\n[where]\nitem = "name NOT IN (\'fig\')"\n'
                         '[mask]\n"item.card" = "null"\n')
    assert turnout(tmp_path, "task", "create", "file", "--file", str(task_file)).returncode == 0
    assert turnout(tmp_path, "task", "run", "file", timeout=120).returncode == 0
    assert [r[3] for r in _copied(tmp_path / "b.db")] == [None, None, None]


def test_a_bad_filter_is_one_line(tmp_path: Path) -> None:
    src = make_db(tmp_path / "shop.db", SHOP)
    bad = turnout(tmp_path, "task", "create", "bad", "--source", f"sqlite:///{src}",
                  "--dest", f"sqlite:///{tmp_path / 'a.db'}", "--where", "item=price >")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len((bad.stderr + bad.stdout).strip().splitlines()) == 1, bad.stderr


def test_repair_mends_the_destination_of_a_filtered_table_never_the_source(
        tmp_path: Path) -> None:
    src = make_db(tmp_path / "shop.db", SHOP)
    dest = tmp_path / "a.db"
    assert turnout(tmp_path, "task", "create", "r", "--source", f"sqlite:///{src}",
                   "--dest", f"sqlite:///{dest}", "--types", "schema,full",
                   "--where", "item=price >= 10", "--mask", "item.card=redact").returncode == 0
    assert turnout(tmp_path, "task", "run", "r", timeout=120).returncode == 0
    with sqlite3.connect(dest) as db:
        db.execute("INSERT INTO item VALUES (1, 'apple', 5, NULL)")  # outside the filter
        db.execute("UPDATE item SET card = 'x' WHERE id = 4")
    refused = turnout(tmp_path, "verify", "r", "--repair", "source")
    assert refused.returncode == 2 and "--repair dest" in refused.stderr + refused.stdout
    mended = turnout(tmp_path, "verify", "r", "--repair", "dest", "--apply")
    assert mended.returncode in (0, 1), mended.stderr
    assert _copied(dest) == [(2, "pear", 12, None), (4, "fig", 30, "****")]
    assert turnout(tmp_path, "verify", "r").returncode == 0
