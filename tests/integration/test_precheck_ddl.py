"""Precheck says, before a task starts, what will become of DDL on its source: carried in
order with the rows, or a stop with the change to make (a PostgreSQL account that may not
make the event trigger, a MySQL account that may not make the scratch table)."""

from __future__ import annotations

from pathlib import Path

from turnout import api
from turnout.model import Phase
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.mariadb import MariaDbServer
from turnout.testing.postgres import PgServer


def _ddl_line(store: Store, name: str) -> str:
    report = api.precheck(name, store)
    assert report["ok"], report
    assert "\n" not in report["ddl"]
    return str(report["ddl"])


def test_postgres_precheck_says_whether_ddl_is_carried(store: Store, pg_server: PgServer,
                                                       pg_url: str, tmp_path: Path) -> None:
    database = pg_url.rsplit("/", 1)[1]
    pg_server.psql("CREATE TABLE item (id int PRIMARY KEY, name text)", db=database)
    api.create_task(TaskSpec("sup", pg_url, f"sqlite:///{tmp_path / 'a.db'}"), store)
    assert "captured by the event trigger" in _ddl_line(store, "sup")

    pg_server.psql("CREATE ROLE mover LOGIN REPLICATION; "
                   f"GRANT ALL ON DATABASE {database} TO mover; "
                   "ALTER TABLE item OWNER TO mover", db=database)
    mover = pg_url.replace("postgres@", "mover@", 1)
    assert mover != pg_url
    api.create_task(TaskSpec("plain", mover, f"sqlite:///{tmp_path / 'b.db'}"), store)
    line = _ddl_line(store, "plain")
    assert "stops the task" in line and "superuser" in line, line

    api.create_task(TaskSpec("once", mover, f"sqlite:///{tmp_path / 'c.db'}",
                             types=(Phase.SCHEMA, Phase.FULL)), store)
    assert api.precheck("once", store)["ddl"] is None  # no incremental step: nothing to say


def test_mysql_precheck_names_the_grant_that_lets_ddl_be_carried(
        store: Store, mariadb_server: MariaDbServer, mysql_url: str, tmp_path: Path) -> None:
    database = mysql_url.rsplit("/", 1)[1]
    mariadb_server.sql(f"CREATE TABLE `{database}`.item (id int PRIMARY KEY, name text)")
    api.create_task(TaskSpec("root", mysql_url, f"sqlite:///{tmp_path / 'a.db'}"), store)
    assert "read from the binlog" in _ddl_line(store, "root")

    mariadb_server.sql("CREATE USER 'follower'@'%' IDENTIFIED BY 'pw';\n"
                       "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'follower'@'%';\n"
                       f"GRANT SELECT ON `{database}`.* TO 'follower'@'%'")
    limited = mysql_url.replace("mysql://root@", "mysql://follower:pw@")
    api.create_task(TaskSpec("lim", limited, f"sqlite:///{tmp_path / 'b.db'}"), store)
    line = _ddl_line(store, "lim")
    assert "will stop the task" in line and f"GRANT CREATE, DROP ON `{database}`.*" in line, line
    assert "pw" not in line
