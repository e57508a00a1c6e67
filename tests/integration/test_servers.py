"""Smoke tests: the throwaway servers are private and set up the way the engines need them."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import psycopg2
import psycopg2.extras
import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import WriteRowsEvent

from turnout.testing.servers import MariaDbServer, PgServer


def test_postgres_is_private_with_logical_wal(pg_server: PgServer, pg_url: str) -> None:
    parts = urlsplit(pg_url)
    assert parts.hostname == "127.0.0.1" and parts.port == pg_server.port != 5432
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        assert conn.execute("SELECT current_database()").fetchone() == (parts.path[1:],)
        assert conn.execute("SHOW data_directory").fetchone() == (str(pg_server.data_dir),)
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relkind = 'r' "
                            "AND relnamespace = 'public'::regnamespace").fetchone() == (0,)
        slot = f"smoke_{parts.path[1:]}"[:63]
        row = conn.execute("SELECT slot_name FROM pg_create_logical_replication_slot"
                           "(%s, 'pgoutput')", [slot]).fetchone()
        assert row == (slot,)
        conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])


def test_postgres_allows_replication_connections(pg_url: str) -> None:
    """pg_hba lets a walsender connection in (psycopg2's replication protocol support)."""
    conn = psycopg2.connect(pg_url, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    try:
        cur = conn.cursor()
        cur.execute("IDENTIFY_SYSTEM")
        assert cur.fetchone() is not None
        slot = f"repl_{urlsplit(pg_url).path[1:]}"[:63]
        cur.create_replication_slot(slot, output_plugin="pgoutput")
        cur.drop_replication_slot(slot)
    finally:
        conn.close()


def _connect(url: str, **kwargs: object) -> pymysql.connections.Connection:
    parts = urlsplit(url)
    return pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username,
                           password="", database=parts.path[1:] or None, **kwargs)


def test_mariadb_is_private_with_row_binlog(
    mariadb_server: MariaDbServer, mysql_url: str, tmp_path: Path
) -> None:
    assert urlsplit(mysql_url).port == mariadb_server.port != 3306
    conn = _connect(mysql_url, local_infile=True, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@binlog_format, @@log_bin, @@binlog_row_image, @@local_infile,"
                        " @@port, CURRENT_USER(), DATABASE(), @@character_set_server")
            assert cur.fetchone() == ("ROW", 1, "FULL", 1, mariadb_server.port,
                                      "root@127.0.0.1", urlsplit(mysql_url).path[1:], "utf8mb4")
            cur.execute("SHOW GRANTS")
            assert any("WITH GRANT OPTION" in g for (g,) in cur.fetchall())
            cur.execute("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")
            data = tmp_path / "t.tsv"
            data.write_text("1\tone\n2\ttwo\n")
            cur.execute(f"LOAD DATA LOCAL INFILE '{data}' INTO TABLE t")
            cur.execute("SELECT * FROM t ORDER BY id")
            assert cur.fetchall() == ((1, "one"), (2, "two"))
    finally:
        conn.close()


def test_mariadb_binlog_streams_with_pinned_drivers(mysql_url: str) -> None:
    """mysql-replication's release works against the PyMySQL pin and this server's binlog."""
    parts = urlsplit(mysql_url)
    db = parts.path[1:]
    conn = _connect(mysql_url, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")  # other tests' events come before: skip them
            log_file, log_pos = cur.fetchone()[:2]
            cur.execute("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")
            cur.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    finally:
        conn.close()
    stream = BinLogStreamReader(
        connection_settings={"host": parts.hostname, "port": parts.port, "user": "root",
                             "password": ""},
        server_id=4242, blocking=False, only_events=[WriteRowsEvent],
        only_schemas=[db], resume_stream=True, log_file=log_file, log_pos=log_pos,
    )
    try:
        rows = [row["values"] for event in stream for row in event.rows]
    finally:
        stream.close()
    # Column names come with the rows because the server runs with binlog_row_metadata=FULL.
    assert rows == [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]
