"""Migration accounts on real servers: a task runs end to end with nothing but them, and
revoke-write and drop take them away again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pymysql
import pytest

from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.shop import build_shop, write_shop_changes
from tests.integration.test_mysql import _connect, my_execute
from turnout import accounts, api, engines
from turnout.errors import BadInput, NotFound, Unsupported
from turnout.spec import TaskSpec
from turnout.store import Store

MY_SHOP = """
CREATE TABLE item (id int PRIMARY KEY, name varchar(40) NOT NULL, price decimal(10,2));
CREATE TABLE line (o int, n int, item int, PRIMARY KEY (o, n),
    FOREIGN KEY (item) REFERENCES item (id));
INSERT INTO item VALUES (1, 'apple', 1.50), (2, 'pear', 2.25), (3, 'plum', 3);
INSERT INTO line VALUES (1, 1, 1), (1, 2, 3)
"""
MY_CHANGES = """
INSERT INTO item VALUES (4, 'fig', 4.75);
UPDATE item SET price = 9.99 WHERE id = 1;
DELETE FROM line WHERE o = 1 AND n = 2;
DELETE FROM item WHERE id = 3;
INSERT INTO line VALUES (2, 1, 4)
"""


def name(prefix: str) -> str:
    """Account names are server-wide: one of its own per test."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def superuser(url: str) -> bool:
    engine = engines.connect(url)
    try:
        assert engine.accounts is not None
        return engine.accounts.is_superuser()
    finally:
        engine.close()


def pg_owns_app_tables(pg_url: str) -> None:
    """The shop's tables belong to an application role, as on a real server."""
    app = name("app")
    build_shop(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {app}")
        conn.execute(f"ALTER TABLE item OWNER TO {app}")
        conn.execute(f"ALTER TABLE line OWNER TO {app}")


def pg_write_fails(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM item").fetchone()[0] > 0  # still reads
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO item (id, name) VALUES (1000, 'late')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE late (id int)")


def my_write_fails(url: str) -> None:
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM item")
        assert cur.fetchone()[0] > 0  # still reads
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cur.execute("INSERT INTO item (id, name) VALUES (1000, 'late')")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cur.execute("CREATE TABLE late (id int)")


def drop_twice(url: str, user: str) -> None:
    """drop removes the account: the server no longer knows it."""
    assert accounts.drop(url, user)["statements"]
    with pytest.raises(NotFound, match=f"no account .*{user}"):
        accounts.drop(url, user)


def test_postgres_to_mysql_with_migration_accounts_only(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    pg_owns_app_tables(pg_url)
    made = accounts.create(pg_url, "source", name("src"))
    assert "LOGIN REPLICATION PASSWORD '***'" in made["grants"]
    assert made["password"] not in json.dumps(made["statements"])
    assert made["url"].startswith(f"postgresql://{made['user']}:***@")
    source = accounts.account_url(pg_url, made["user"], made["password"])
    mine = accounts.create(mysql_url, "dest", name("dst"))
    dest = accounts.account_url(mysql_url, mine["user"], mine["password"])
    assert superuser(pg_url) and superuser(mysql_url)
    assert not superuser(source) and not superuser(dest)
    assert "superuser" in (accounts.superuser_warning(pg_url) or "")
    assert accounts.superuser_warning(source) is None

    api.create_task(TaskSpec("accpgmy", source, dest), store)
    with running(store, "accpgmy"):
        wait_caught_up(store, "accpgmy")
        write_shop_changes(pg_url)  # the application writes
        wait_caught_up(store, "accpgmy")
    same_rows(pg_url, mysql_url, ["item", "line"])
    warnings = [e["message"] for e in api.events("accpgmy", store=store)
                if e["level"] == "warning"]
    assert not [w for w in warnings if "superuser" in w], warnings
    api.delete_task("accpgmy", store)  # drops slot and publication as the source account

    api.create_task(TaskSpec("mighty", pg_url, mysql_url), store)  # the tables are full
    assert api.run_task("mighty", None, store) == "Failed"
    warned = [e["message"] for e in api.events("mighty", store=store) if e["level"] == "warning"]
    assert len([w for w in warned if "connects as a superuser" in w]) == 2, warned

    assert accounts.revoke_write(mysql_url, mine["user"])["statements"]
    my_write_fails(dest)
    assert accounts.revoke_write(pg_url, made["user"])["statements"]
    pg_write_fails(source)
    drop_twice(mysql_url, mine["user"])
    drop_twice(pg_url, made["user"])


def test_mysql_to_postgres_with_migration_accounts_only(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, MY_SHOP)
    secret = "s3cret 'quoted' %s \\ pass@x"  # hostile, on purpose
    made = accounts.create(mysql_url, "source", name("src"), secret)
    assert "password" not in made and "s3cret" not in json.dumps(made)
    source = accounts.account_url(mysql_url, made["user"], secret)
    mine = accounts.create(pg_url, "dest", name("dst"))
    dest = accounts.account_url(pg_url, mine["user"], mine["password"])
    assert not superuser(source) and not superuser(dest)
    with pytest.raises(BadInput, match="cannot connect"):  # MariaDB checks passwords
        engines.connect(accounts.account_url(mysql_url, made["user"], "wrong"))

    api.create_task(TaskSpec("accmypg", source, dest), store)
    with running(store, "accmypg"):
        wait_caught_up(store, "accmypg")
        my_execute(mysql_url, MY_CHANGES)
        wait_caught_up(store, "accmypg")
    same_rows(mysql_url, pg_url, ["item", "line"])
    api.delete_task("accmypg", store)

    assert any("REASSIGN OWNED" in s for s in accounts.revoke_write(pg_url, mine["user"])
               ["statements"])
    pg_write_fails(dest)
    # the source account could write for the way back (the reverse task); no longer
    assert accounts.revoke_write(mysql_url, made["user"])["statements"]
    my_write_fails(source)
    drop_twice(pg_url, mine["user"])
    drop_twice(mysql_url, made["user"])


@pytest.mark.parametrize("user", ["x; DROP TABLE item", "a'b", "Robert\"", "", "é", "1abc",
                                  "x" * 64])
def test_hostile_account_names_are_refused(pg_url: str, mysql_url: str, user: str) -> None:
    for url in (pg_url, mysql_url):
        with pytest.raises(BadInput, match="account name .* is not allowed"):
            accounts.create(url, "source", user)
    with pytest.raises(BadInput, match="at most 32"):
        accounts.create(mysql_url, "dest", "x" * 33)


def test_refusals(pg_url: str, mysql_url: str, tmp_path: Path) -> None:
    with pytest.raises(Unsupported, match="SQLite has no accounts"):
        accounts.create(f"sqlite:///{tmp_path / 'a.db'}", "source", "mig")
    assert accounts.superuser_warning(f"sqlite:///{tmp_path / 'a.db'}") is None
    with pytest.raises(BadInput, match="use source or dest"):
        accounts.create(pg_url, "both", "mig")
    with pytest.raises(BadInput, match="reserves"):
        accounts.create(pg_url, "dest", "pg_mine")
    with pytest.raises(BadInput, match="superuser"):
        accounts.drop(pg_url, "postgres")
    with pytest.raises(BadInput, match="SUPER or ALL|no account"):  # root@'%' or none
        accounts.revoke_write(mysql_url, "root")
    user = name("twice")
    accounts.create(pg_url, "dest", user)
    with pytest.raises(BadInput, match="exists already"):
        accounts.create(pg_url, "source", user)
    accounts.drop(pg_url, user)


def turnout(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", **(env or {})}  # one line per error, unwrapped
    return subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli(mysql_url: str, tmp_path: Path) -> None:
    user = name("cli")
    made = turnout("accounts", "create", mysql_url, "--for", "dest", "--user", user, "--json")
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert len(result["password"]) >= 32 and "GRANT SELECT, INSERT" in result["grants"]
    again = turnout("accounts", "create", mysql_url, "--for", "source", "--user", name("cli"),
                    "--password-env", "TURNOUT_TEST_PW", env={"TURNOUT_TEST_PW": "given-pw"})
    assert again.returncode == 0 and "given-pw" not in again.stdout + again.stderr
    assert "REPLICATION SLAVE, REPLICATION CLIENT" in again.stdout
    revoked = turnout("accounts", "revoke-write", mysql_url, "--user", user)
    assert revoked.returncode == 0 and "REVOKE INSERT" in revoked.stdout, revoked.stderr
    assert turnout("accounts", "drop", mysql_url, "--user", user).returncode == 0
    gone = turnout("accounts", "drop", mysql_url, "--user", user)
    assert gone.returncode == 2 and gone.stderr.count("\n") == 1 and "no account" in gone.stderr
    bad = turnout("accounts", "create", mysql_url, "--for", "dest", "--user", "a;b")
    assert bad.returncode == 2 and "not allowed" in bad.stderr
    lite = turnout("accounts", "create", f"sqlite:///{tmp_path / 'x.db'}", "--for", "source",
                   "--user", "mig")
    assert lite.returncode == 2 and "SQLite has no accounts" in lite.stderr
    unset = turnout("accounts", "create", mysql_url, "--for", "dest", "--user", name("cli"),
                    "--password-env", "TURNOUT_TEST_UNSET")
    assert unset.returncode == 2 and "TURNOUT_TEST_UNSET is not set" in unset.stderr
