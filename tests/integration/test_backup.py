"""`turnout backup` / `turnout restore` on real servers, with both methods.

Each test fills a source with awkward values (NULLs, long decimals, bytes, timestamps,
a foreign key), backs up the tables a task selects, changes and deletes rows, restores,
and proves every selected table holds exactly its old rows again (content digests)
while the table the task leaves out keeps its changes.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from turnout import api, backup, engines
from turnout.cli import cli
from turnout.endpoint import Endpoint
from turnout.engines.mysql import dump as mysql_dump
from turnout.engines.postgres import dump as pg_dump
from turnout.errors import BadInput, OperationFailed
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store
from turnout.verify.digest import table_digest

from .helpers import execute, insert_sql

DDL = {
    "postgresql": [
        "CREATE TABLE parent (id int PRIMARY KEY, name text, price numeric(30,10), "
        "data bytea, at timestamptz, plain timestamp(6), ok boolean, doc jsonb)",
        "CREATE TABLE child (id bigserial PRIMARY KEY, parent_id int REFERENCES parent(id), "
        "qty int NOT NULL DEFAULT 1)",
        "CREATE INDEX child_parent ON child (parent_id)",
        "CREATE TABLE other (id int PRIMARY KEY, v text)",
    ],
    "mysql": [
        "CREATE TABLE parent (id int PRIMARY KEY, name text, price decimal(30,10), "
        "data varbinary(64), at timestamp(6) NULL, plain datetime(6), ok tinyint, doc text)",
        "CREATE TABLE child (id bigint AUTO_INCREMENT PRIMARY KEY, parent_id int, "
        "qty int NOT NULL DEFAULT 1, KEY child_parent (parent_id), "
        "FOREIGN KEY (parent_id) REFERENCES parent(id))",
        "CREATE TABLE other (id int PRIMARY KEY, v text)",
    ],
    "sqlite": [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(30,10), "
        "data BLOB, at TIMESTAMPTZ, plain DATETIME, ok BOOLEAN, doc JSON)",
        "CREATE TABLE child (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "parent_id INTEGER REFERENCES parent(id), qty INTEGER NOT NULL DEFAULT 1)",
        "CREATE INDEX child_parent ON child (parent_id)",
        "CREATE TABLE other (id INTEGER PRIMARY KEY, v TEXT)",
    ],
}
UTC = dt.UTC
PARENTS: list[tuple[Any, ...]] = [
    (1, "first", Decimal("12345678901234567890.1234567890"), b"\x00\xff\x10",
     dt.datetime(2024, 2, 29, 13, 5, 0, 123456, tzinfo=UTC),
     dt.datetime(1999, 12, 31, 23, 59, 59, 999999), True, '{"a": [1, 2.50]}'),
    (2, None, None, None, None, None, None, None),
    (3, "naïve ✓ 'quoted'", Decimal("-0.0000000001"), b"", dt.datetime(1970, 1, 2, tzinfo=UTC),
     dt.datetime(2000, 1, 1), False, "1.50"),
] + [(i, f"row {i}", Decimal(i) / 8, bytes([i % 256]) * 3,
      dt.datetime(2020, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=i),
      dt.datetime(2020, 1, 1) + dt.timedelta(seconds=i), i % 2 == 0, f'{{"i": {i}}}')
     for i in range(4, 400)]
SELECTED = ["child", "parent"]


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of each engine holding parent, child and other, with rows."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
        (tmp_path / "source.db").touch()
    else:
        url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "mysql_url")
    rows = {"postgresql": PARENTS, "sqlite": [_sqlite_row(r) for r in PARENTS],
            "mysql": [_mysql_row(r) for r in PARENTS]}[request.param]
    execute(url, *DDL[request.param], insert_sql(url, "parent", rows),
            "INSERT INTO child (parent_id, qty) VALUES (1, 5), (1, 6), (3, 7), (NULL, 8)",
            "INSERT INTO other VALUES (1, 'kept')")
    return url


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQLite keeps decimals as text (its NUMERIC columns decide) and booleans as 0 / 1."""
    return tuple(str(v) if isinstance(v, Decimal) else v for v in row)


def _mysql_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """MySQL's TIMESTAMP takes no offset: the sessions run in UTC."""
    return tuple(v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in row)


def make_task(store: Store, source: str, tmp_path: Path) -> None:
    spec = TaskSpec("bk", source, f"sqlite:///{tmp_path / 'dest.db'}",
                    types=parse_types("schema,full"), exclude=("other",))
    api.create_task(spec, store)


def digests(url: str, names: list[str]) -> dict[str, Any]:
    engine = engines.connect(url)
    try:
        return {t.name: table_digest(engine, t) for t in engine.reflect(names)}
    finally:
        engine.close()


def damage(url: str) -> None:
    """Writes after the backup: changed, deleted and new rows in every table."""
    execute(url, "UPDATE parent SET name = 'changed', price = 1 WHERE id IN (1, 5)",
            "DELETE FROM child WHERE qty = 6", "DELETE FROM parent WHERE id = 7",
            "INSERT INTO parent (id, name) VALUES (1000, 'new')",
            "INSERT INTO child (parent_id, qty) VALUES (1000, 9)",
            "INSERT INTO other VALUES (2, 'after')")


@pytest.mark.parametrize("tool", ["native", "turnout"])
def test_backup_then_restore_brings_the_rows_back(
    source: str, tool: str, store: Store, tmp_path: Path
) -> None:
    make_task(store, source, tmp_path)
    before = digests(source, SELECTED)
    made = backup.backup("bk", str(tmp_path / "bk"), store, tool=tool)
    assert made["method"] == tool
    assert {t["name"]: t["rows"] for t in made["tables"]} == {"child": 4, "parent": len(PARENTS)}
    manifest = json.loads((tmp_path / "bk" / backup.MANIFEST).read_text())
    assert manifest["engine"] == Endpoint.parse(source).scheme and manifest["task"] == "bk"
    assert all((tmp_path / "bk" / f).exists() for f in manifest["files"])

    damage(source)
    assert digests(source, SELECTED) != before
    done = backup.restore(str(tmp_path / "bk"), store=store)
    assert digests(source, SELECTED) == before
    assert [(t["name"], t["rows"]) for t in done["tables"]] == [
        (t["name"], t["rows"]) for t in made["tables"]]
    assert digests(source, ["other"])["other"].rows == 2  # not selected: left alone
    execute(source, "INSERT INTO child (parent_id, qty) VALUES (2, 10)")  # ids move on


def test_turnout_backup_restores_into_an_empty_database_of_another_engine(
    pg_url: str, mysql_url: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(pg_url, *DDL["postgresql"], insert_sql(pg_url, "parent", PARENTS),
            "INSERT INTO child (parent_id, qty) VALUES (1, 5), (3, 7)")
    make_task(store, pg_url, tmp_path)
    backup.backup("bk", str(tmp_path / "bk"), store, tool="turnout")
    target = mysql_url  # empty: the tables come from the backup file and the manifest's types
    monkeypatch.setattr(backup, "GROUP_ROWS", 100)  # a transaction per table
    done = backup.restore(str(tmp_path / "bk"), url=target)
    assert {t["name"]: t["rows"] for t in done["tables"]} == {"child": 2, "parent": len(PARENTS)}
    report = api.verify_urls(pg_url, target, SELECTED)
    assert report["consistent"], report
    with pytest.raises(BadInput, match="holds no table"):
        backup.restore(str(tmp_path / "bk"), url=target, tables=["nope"])


def test_a_failed_restore_leaves_the_tables_as_they_were(
    pg_url: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(pg_url, *DDL["postgresql"], insert_sql(pg_url, "parent", PARENTS))
    make_task(store, pg_url, tmp_path)
    backup.backup("bk", str(tmp_path / "bk"), store, tool="turnout")
    damage(pg_url)
    execute(pg_url, "UPDATE parent SET name = '' WHERE name IS NULL",
            "ALTER TABLE parent ALTER name SET NOT NULL")  # row 2 of the backup cannot go back
    damaged = digests(pg_url, SELECTED)
    monkeypatch.setattr(backup, "GROUP_ROWS", 100)  # parent and child in transactions of their own
    with pytest.raises(OperationFailed, match="restoring parent into .* left them as they were"):
        backup.restore(str(tmp_path / "bk"), store=store)
    assert digests(pg_url, SELECTED) == damaged


def test_a_native_backup_only_goes_back_into_its_own_engine(
    pg_url: str, store: Store, tmp_path: Path
) -> None:
    execute(pg_url, *DDL["postgresql"])
    make_task(store, pg_url, tmp_path)
    backup.backup("bk", str(tmp_path / "bk"), store, tool="native")
    with pytest.raises(BadInput, match="cannot go into sqlite.*--tool turnout"):
        backup.restore(str(tmp_path / "bk"), url=f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(BadInput, match="holds no turnout-backup.json"):
        backup.restore(str(tmp_path))
    with pytest.raises(BadInput, match="not an empty directory"):
        backup.backup("bk", str(tmp_path / "bk"), store)


def test_missing_tools_fail_native_and_auto_falls_back(
    mysql_url: str, pg_url: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (pg_dump, mysql_dump):
        monkeypatch.setattr(module.shutil, "which", lambda name: None)
    for n, url in enumerate((pg_url, mysql_url)):
        execute(url, *DDL["postgresql" if n == 0 else "mysql"])
        name = f"bk{n}"
        api.create_task(TaskSpec(name, url, f"sqlite:///{tmp_path / f'd{n}.db'}",
                                 types=parse_types("schema,full")), store)
        with pytest.raises(BadInput, match="no dump tool installed here.*--tool turnout"):
            backup.backup(name, str(tmp_path / f"native{n}"), store, tool="native")
        assert not any((tmp_path / f"native{n}").iterdir())  # nothing half written
        made = backup.backup(name, str(tmp_path / f"auto{n}"), store)
        assert made["method"] == "turnout" and made["files"] == [backup.DATA]


def test_the_password_goes_through_the_environment(
    pg_url: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(pg_url, *DDL["postgresql"])
    secret_url = pg_url.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    api.create_task(TaskSpec("pw", secret_url, f"sqlite:///{tmp_path / 'd.db'}",
                             types=parse_types("schema,full")), store)
    calls: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.run

    def spy(args: list[str], **kwargs: Any) -> Any:
        calls.append((args, kwargs.get("env") or {}))
        return real(args, **kwargs)

    monkeypatch.setattr(pg_dump.subprocess, "run", spy)
    made = backup.backup("pw", str(tmp_path / "bk"), store, tool="native")
    assert "s3cret" not in json.dumps(made) and ":***@" in made["source"]
    dumps = [(args, env) for args, env in calls if "--snapshot" in args]
    assert dumps and all("s3cret" not in " ".join(a) for a, _ in calls)
    assert dumps[0][1]["PGPASSWORD"] == "s3cret"


def test_cli_backup_and_restore(store: Store, tmp_path: Path, home: Path) -> None:
    from click.testing import CliRunner

    db = tmp_path / "app.db"
    execute_sqlite = f"sqlite:///{db}"
    db.touch()
    execute(execute_sqlite, *DDL["sqlite"], "INSERT INTO parent (id, name) VALUES (1, 'a')")
    make_task(store, execute_sqlite, tmp_path)
    runner = CliRunner()
    made = runner.invoke(cli, ["backup", "bk", "--to", str(tmp_path / "bk"), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["method"] == "native"
    execute(execute_sqlite, "DELETE FROM parent")
    done = runner.invoke(cli, ["restore", str(tmp_path / "bk")])
    assert done.exit_code == 0 and "restored 2 tables (1 rows)" in done.output, done.output
    assert digests(execute_sqlite, ["parent"])["parent"].rows == 1
    bad = runner.invoke(cli, ["backup", "bk", "--to", str(tmp_path / "bk2"), "--tool", "nope"])
    assert bad.exit_code == 2


def test_auto_falls_back_when_the_tool_fails(
    pg_url: str, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(pg_url, *DDL["postgresql"])
    make_task(store, pg_url, tmp_path)
    monkeypatch.setattr(pg_dump.shutil, "which", lambda name: "/bin/false")  # a broken pg_dump
    with pytest.raises(OperationFailed, match="false failed"):
        backup.backup("bk", str(tmp_path / "native"), store, tool="native")
    made = backup.backup("bk", str(tmp_path / "auto"), store)
    assert made["method"] == "turnout" and "native tool failed" in made["note"]
    assert sorted(p.name for p in (tmp_path / "auto").iterdir()) == [backup.DATA, backup.MANIFEST]
