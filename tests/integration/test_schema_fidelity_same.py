"""Same-engine schema fidelity: the destination's schema reads back as the source's.

PostgreSQL → PostgreSQL is compared with `pg_dump -s`, MariaDB → MariaDB with SHOW CREATE
TABLE, on schemas holding the objects applications (Django among them) rely on. Each task
also runs its full and incremental steps over those tables.
"""

from __future__ import annotations

import re
import subprocess
import time

import psycopg
import pytest

from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute
from turnout import api
from turnout.spec import Options, TaskSpec, parse_types
from turnout.store import Store

PG_SCHEMA = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer DEFAULT 1 NOT NULL CONSTRAINT positive CHECK (VALUE > 0);
CREATE DOMAIN short_code AS varchar(12) COLLATE "C" CHECK (VALUE ~ '^[a-z0-9]+$');
COMMENT ON TYPE mood IS 'how it feels';
CREATE TYPE address AS (street text COLLATE "C", zip varchar(10), feeling mood);
CREATE TABLE author (
    id integer GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5),
    email varchar(254) NOT NULL,
    name text COLLATE "C" NOT NULL DEFAULT 'anon',
    handle short_code,
    joined timestamptz NOT NULL DEFAULT now(),
    score positive_int,
    moods mood[] DEFAULT '{ok}',
    home address,
    CONSTRAINT author_pk PRIMARY KEY (id),
    CONSTRAINT author_email_uniq UNIQUE (email),
    CONSTRAINT author_name_len CHECK (char_length(name) < 200)
);
ALTER TABLE author REPLICA IDENTITY FULL;
CREATE INDEX author_email_like ON author (email varchar_pattern_ops);
CREATE INDEX author_lower_name ON author (lower(name));
CREATE UNIQUE INDEX author_handle_live ON author (handle) WHERE handle IS NOT NULL;
CREATE INDEX author_joined_incl ON author (joined DESC NULLS LAST) INCLUDE (name);
COMMENT ON TABLE author IS 'people who write';
COMMENT ON COLUMN author.email IS 'where to write them';
COMMENT ON INDEX author_email_like IS 'for LIKE ''x%''';
COMMENT ON CONSTRAINT author_name_len ON author IS 'names stay short';
CREATE TABLE post (
    id bigserial PRIMARY KEY,
    author_id integer NOT NULL,
    editor_id integer,
    title varchar(200) NOT NULL,
    slug varchar(50) NOT NULL,
    body text NOT NULL DEFAULT '',
    words integer GENERATED ALWAYS AS (length(body) / 5) STORED,
    feeling mood NOT NULL DEFAULT 'ok',
    during tstzrange,
    price numeric(8,2) DEFAULT 0.00 CHECK (price >= 0),
    CONSTRAINT post_author_fk FOREIGN KEY (author_id) REFERENCES author (id)
        DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT post_editor_fk FOREIGN KEY (editor_id) REFERENCES author (id)
        MATCH FULL ON DELETE SET NULL,
    CONSTRAINT post_author_slug UNIQUE NULLS NOT DISTINCT (author_id, slug),
    CONSTRAINT post_no_overlap EXCLUDE USING gist (during WITH &&)
);
CREATE INDEX post_slug_like ON post (slug varchar_pattern_ops);
COMMENT ON CONSTRAINT post_author_fk ON post IS 'who wrote it';
CREATE TABLE tag (
    post_id bigint REFERENCES post (id) ON DELETE CASCADE ON UPDATE CASCADE,
    label text NOT NULL,
    PRIMARY KEY (post_id, label)
);
INSERT INTO author (email, name, handle, home)
VALUES ('a@x.org', 'Ann', 'ann', '("1 Main St",12345,happy)'), ('b@x.org', 'Bob', NULL, NULL);
INSERT INTO post (author_id, title, slug, body) VALUES (10, 'One', 'one', 'hello world');
INSERT INTO tag VALUES (1, 'intro');
"""


def pg_dump_schema(pg_server, url: str) -> str:
    """`pg_dump -s` without turnout's own objects, owners, grants and comment lines."""
    out = subprocess.run(
        [str(pg_server.bindir / "pg_dump"), "-s", "--no-owner", "--no-privileges",
         "--no-publications", "--no-subscriptions", "-T", "_turnout*", "-d", url],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    lines = [line for line in out.splitlines()  # \restrict carries a random key per run
             if not line.startswith(("--", "\\restrict", "\\unrestrict"))]
    # -T leaves out tables only: the DDL capture's event trigger and its functions are
    # statements of their own (pg_dump parts statements with blank lines)
    statements = "\n".join(lines).split("\n\n")
    return "\n\n".join(part.strip("\n") for part in statements
                       if part.strip() and "_turnout" not in part)


@pytest.mark.parametrize("direct", [True, False], ids=["streamed-copy", "row-path"])
def test_postgres_to_postgres_builds_what_pg_dump_shows(
    store: Store, pg_server, pg_url: str, direct: bool
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
    name = f"pgsame_{'direct' if direct else 'rows'}"  # slot names are server-wide
    dest = pg_server.create_database(f"fidelity_dest_{int(time.time() * 1000)}")
    api.create_task(TaskSpec(name, pg_url, dest, options=Options(direct_copy=direct)),
                    store)
    with running(store, name):
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO author (email, name, handle) VALUES ('c@x.org', 'Cy', 'cy')")
            conn.execute("INSERT INTO post (author_id, title, slug, body, feeling) "
                         "VALUES (20, 'Two', 'two', 'more words here', 'happy')")
            conn.execute("UPDATE author SET name = 'Ann B' WHERE email = 'a@x.org'")
            conn.execute("DELETE FROM tag")
        wait_caught_up(store, name)
    same_rows(pg_url, dest)
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT words FROM post WHERE slug = 'two'").fetchone() == (3,)
    source, copied = pg_dump_schema(pg_server, pg_url), pg_dump_schema(pg_server, dest)
    for shown in ("DEFERRABLE INITIALLY DEFERRED", "varchar_pattern_ops", "EXCLUDE USING gist",
                  "UNIQUE NULLS NOT DISTINCT", "GENERATED ALWAYS AS IDENTITY",
                  'COLLATE pg_catalog."C"', "INCLUDE (name)", "WHERE (handle IS NOT NULL)",
                  "CREATE DOMAIN", "REPLICA IDENTITY FULL", "MATCH FULL", "AS (\n",
                  "GENERATED ALWAYS AS ((length(body)"):
        assert shown in source, shown  # the schema holds what the comparison is about
    assert copied == source, "\n".join(_diff(source, copied))


def _diff(a: str, b: str) -> list[str]:
    import difflib

    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), "source", "destination",
                                     lineterm=""))


MYSQL_SCHEMA = """
CREATE TABLE author (
  id int unsigned NOT NULL AUTO_INCREMENT,
  email varchar(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
    COMMENT 'login, it''s unique',
  name varchar(100) NOT NULL DEFAULT 'anon',
  latin varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
  created datetime(3) NOT NULL DEFAULT current_timestamp(3),
  updated timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  day date DEFAULT '2000-01-01',
  plan enum('free','pro') NOT NULL DEFAULT 'free',
  flags set('a','b') DEFAULT 'a',
  score decimal(8,2) unsigned zerofill DEFAULT NULL,
  ratio float(7,3) DEFAULT 1.5,
  active tinyint(1) NOT NULL DEFAULT 1,
  bio text,
  meta json,
  name_upper varchar(100) AS (upper(name)) VIRTUAL,
  slug varchar(100) AS (lower(name)) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY author_email (email),
  KEY author_name_prefix (name(10)),
  FULLTEXT KEY author_bio (bio),
  KEY author_created_desc (created DESC, name),
  KEY author_upper (name_upper),
  CONSTRAINT author_score CHECK (score < 1000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='people who write';
CREATE TABLE post (
  id bigint NOT NULL AUTO_INCREMENT,
  author_id int unsigned NOT NULL,
  editor_id int unsigned,
  title varchar(200) NOT NULL,
  body mediumtext,
  PRIMARY KEY (id),
  KEY post_author (author_id),
  CONSTRAINT post_author_fk FOREIGN KEY (author_id) REFERENCES author (id)
      ON DELETE CASCADE ON UPDATE NO ACTION,
  CONSTRAINT post_editor_fk FOREIGN KEY (editor_id) REFERENCES author (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 ROW_FORMAT=DYNAMIC;
CREATE TABLE ticket (
  code char(4) NOT NULL,
  seq int NOT NULL AUTO_INCREMENT,
  note varchar(10) DEFAULT NULL,
  PRIMARY KEY (code),
  KEY ticket_seq (seq)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO author (email, name, bio, meta, score) VALUES
  ('a@x.org', 'Ann', 'writes a lot', '{"a": 1}', 12.5), ('b@x.org', 'Bob', NULL, NULL, NULL);
INSERT INTO post (author_id, title, body) VALUES (1, 'One', 'hello');
CREATE TABLE reading (
  id int NOT NULL,
  at date NOT NULL,
  value double DEFAULT NULL,
  PRIMARY KEY (id, at)
) ENGINE=InnoDB PARTITION BY RANGE (year(at))
  (PARTITION p_old VALUES LESS THAN (2000), PARTITION p_new VALUES LESS THAN MAXVALUE);
INSERT INTO reading VALUES (1, '1999-05-01', 1.5), (2, '2024-02-29', NULL);
CREATE TRIGGER post_touch BEFORE UPDATE ON post FOR EACH ROW SET NEW.title = NEW.title;
INSERT INTO ticket (code, note) VALUES ('AAAA', 'first')
"""


def show_create(url: str, table: str) -> str:
    """SHOW CREATE TABLE with the AUTO_INCREMENT counter left out: the destination's follows
    the rows copied (highest + 1), the source's also counts inserts rolled back or deleted."""
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE `{table}`")
        return re.sub(r" AUTO_INCREMENT=\d+", "", cur.fetchone()[1])


def test_mysql_to_mysql_builds_what_show_create_table_shows(
    store: Store, mariadb_server, mysql_url: str
) -> None:
    my_execute(mysql_url, MYSQL_SCHEMA)
    elsewhere = mariadb_server.create_database(f"fidelity_other_{int(time.time() * 1000)}")
    other = elsewhere.rsplit("/", 1)[1]
    my_execute(elsewhere, "CREATE TABLE country (code char(2) PRIMARY KEY)")
    my_execute(mysql_url, "CREATE TABLE place (id int PRIMARY KEY, country char(2), "
               f"CONSTRAINT place_country FOREIGN KEY (country) REFERENCES `{other}`.country "
               "(code))")
    dest = mariadb_server.create_database(f"fidelity_dest_{int(time.time() * 1000)}")
    api.create_task(TaskSpec("mysame", mysql_url, dest), store)
    with running(store, "mysame"):
        api.wait_for("mysame", lambda s: s["phase"] == "incremental", 60, store)
        my_execute(mysql_url, "INSERT INTO author (email, name) VALUES ('c@x.org', 'Cy');\n"
                   "INSERT INTO post (author_id, title) VALUES (3, 'Two');\n"
                   "UPDATE author SET name = 'Ann B' WHERE id = 1;\n"
                   "INSERT INTO ticket (code) VALUES ('BBBB');\n"
                   "INSERT INTO reading VALUES (3, '2001-01-01', 2.5);\n"
                   "DELETE FROM post WHERE id = 1")
        wait_caught_up(store, "mysame")
    same_rows(mysql_url, dest)
    for table in ("author", "post", "ticket", "reading"):
        source, copied = show_create(mysql_url, table), show_create(dest, table)
        assert copied == source, "\n".join(_diff(source, copied))
    author = show_create(mysql_url, "author")
    for shown in ("ON UPDATE current_timestamp()", "DEFAULT current_timestamp(3)",
                  "CHARACTER SET latin1", "COLLATE utf8mb4_bin", "FULLTEXT KEY `author_bio`",
                  "(`name`(10))", "`created` DESC", "AS (lcase(`name`)) STORED",
                  "COMMENT 'login, it''s unique'", "CONSTRAINT `author_score` CHECK",
                  "zerofill", "COMMENT='people who write'"):
        assert shown in author, shown  # the schema holds what the comparison is about
    assert "PARTITION BY RANGE" in show_create(dest, "reading")
    said = [e["message"] for e in api.events("mysame", store=store)]
    assert any("table post: trigger post_touch is not carried" in m for m in said), said
    assert any(f"table place: foreign key place_country (to {other}.country, in another "
               "database) is not carried" in m for m in said), said


MAPPED_SCHEMA = r"""
CREATE SCHEMA app;
CREATE TABLE public.country (code char(2) PRIMARY KEY);
CREATE TYPE app.state AS ENUM ('new', 'done');
CREATE DOMAIN app.label AS text CHECK (VALUE <> '');
CREATE TABLE app.person (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    badge integer GENERATED ALWAYS AS IDENTITY,
    email text NOT NULL UNIQUE
);
CREATE TABLE app.job (
    id serial PRIMARY KEY,
    state app.state NOT NULL DEFAULT 'new',
    name app.label,
    code text,
    owner_id integer CONSTRAINT job_owner REFERENCES app.person (id) DEFERRABLE INITIALLY DEFERRED,
    country char(2) CONSTRAINT job_country REFERENCES public.country
) WITH (fillfactor = 70);
CREATE INDEX job_code_like ON app.job (code text_pattern_ops);
ALTER TABLE app.job ALTER COLUMN code SET STATISTICS 500;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER job_touch BEFORE UPDATE ON app.job FOR EACH ROW EXECUTE FUNCTION app.touch();
INSERT INTO app.person (email) VALUES ('a@x.org');
INSERT INTO app.job (name, code, owner_id) VALUES ('first', 'A1', 1);
"""


def test_postgres_objects_follow_the_schema_mapping_and_renames(
    store: Store, pg_server, pg_url: str
) -> None:
    """Types, sequences and references land in the destination's schema under the task's
    names; what is not built there (a trigger) is an event, and so is an identity column
    made BY DEFAULT so that replayed updates can write it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(MAPPED_SCHEMA)
    dest = pg_server.create_database(f"mapped_dest_{int(time.time() * 1000)}")
    with psycopg.connect(dest, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA copy")
    source, target = f"{pg_url}?schema=app", f"{dest}?schema=copy"
    api.create_task(TaskSpec("pgmap", source, target, table_renames={"job": "task"}), store)
    with running(store, "pgmap"):
        api.wait_for("pgmap", lambda s: s["phase"] == "incremental", 60, store)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO app.person (email) VALUES ('b@x.org')")
            conn.execute("UPDATE app.person SET badge = DEFAULT, email = 'a@y.org' WHERE id = 1")
            conn.execute("INSERT INTO app.job (name, code, owner_id, state) "
                         "VALUES ('second', 'B2', 2, 'done')")
        wait_caught_up(store, "pgmap")
    with psycopg.connect(pg_url) as conn:
        want = [conn.execute("SELECT * FROM app.person ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM app.job ORDER BY id").fetchall()]
    with psycopg.connect(dest) as conn:
        assert [conn.execute("SELECT * FROM copy.person ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM copy.task ORDER BY id").fetchall()] == want
        found = conn.execute(
            "SELECT to_regtype('copy.state') IS NOT NULL, to_regtype('copy.label') IS NOT NULL, "
            "pg_get_serial_sequence('copy.task', 'id'), "
            "(SELECT condeferred FROM pg_constraint WHERE conname = 'job_owner'), "
            "pg_get_indexdef('copy.job_code_like'::regclass), "
            "(SELECT reloptions FROM pg_class WHERE oid = 'copy.task'::regclass), "
            "(SELECT attidentity FROM pg_attribute WHERE attrelid = 'copy.person'::regclass "
            " AND attname = 'badge')").fetchone()
    assert found == (True, True, "copy.job_id_seq", True,
                     "CREATE INDEX job_code_like ON copy.task USING btree (code text_pattern_ops)",
                     ["fillfactor=70"], "d")
    said = [e["message"] for e in api.events("pgmap", store=store)]
    assert any("table task: trigger job_touch is not carried" in m for m in said), said
    assert any("GENERATED ALWAYS of identity column badge" in m for m in said), said
    assert any("table task: statistics target 500 of column code is not carried" in m
               for m in said), said
    assert any("foreign key job_country (to public.country, in another schema)" in m
               for m in said), said


def test_a_type_the_destination_lacks_is_refused_at_precheck(
    store: Store, pg_server, pg_url: str
) -> None:
    """An extension's type (citext) stops the task before anything is written, naming the
    column; with the extension there, the same task runs."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION citext")
        conn.execute("CREATE TABLE login (id int PRIMARY KEY, email citext NOT NULL UNIQUE, "
                     "aliases citext[])")
        conn.execute("INSERT INTO login VALUES (1, 'Ann@X.org', '{a,B}')")
    dest = pg_server.create_database(f"citext_dest_{int(time.time() * 1000)}")
    api.create_task(TaskSpec("pgext", pg_url, dest, types=parse_types("schema,full")), store)
    assert api.run_task("pgext", store=store) == "Failed"
    error = api.task_status("pgext", store)["error"]
    assert "login.email: type citext does not exist" in error, error
    assert "login.aliases: type citext[] does not exist" in error, error
    with psycopg.connect(dest, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('login')").fetchone() == (None,)
        conn.execute("CREATE EXTENSION citext")
    assert api.run_task("pgext", store=store) == "Completed"
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT id FROM login WHERE email = 'ann@x.org'").fetchall() == [(1,)]


def test_an_identity_column_that_refuses_updates_is_refused_at_precheck(
    store: Store, pg_server, pg_url: str
) -> None:
    """A destination table made beforehand (as the reverse task finds the source) whose
    identity column outside the key is GENERATED ALWAYS cannot take replayed updates."""
    table = ("CREATE TABLE badge (id int PRIMARY KEY, "
             "number int GENERATED ALWAYS AS IDENTITY, holder text)")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(table)
    dest = pg_server.create_database(f"always_dest_{int(time.time() * 1000)}")
    with psycopg.connect(dest, autocommit=True) as conn:
        conn.execute(table)
    api.create_task(TaskSpec("pgalways", pg_url, dest, types=parse_types("full,incremental")),
                    store)
    assert api.run_task("pgalways", store=store) == "Failed"
    error = api.task_status("pgalways", store)["error"]
    fix = 'ALTER TABLE "public"."badge" ALTER COLUMN "number" SET GENERATED BY DEFAULT'
    assert "identity column 'number' is GENERATED ALWAYS" in error and fix in error, error
    with psycopg.connect(dest, autocommit=True) as conn:
        conn.execute(fix)
    with running(store, "pgalways"):
        api.wait_for("pgalways", lambda s: s["phase"] == "incremental", 60, store)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO badge (id, holder) VALUES (1, 'ann')")
            conn.execute("UPDATE badge SET number = DEFAULT, holder = 'bob' WHERE id = 1")
        wait_caught_up(store, "pgalways")
    same_rows(pg_url, dest)


def test_column_renames_build_plain_indexes_and_say_what_they_leave_out(
    store: Store, pg_server, pg_url: str
) -> None:
    """The source's own index and check text names the old columns: with a column renamed
    the plain index is built on its columns, the rest is named in events."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE member (id int PRIMARY KEY, email varchar(100) NOT NULL "
            "CONSTRAINT member_email_set CHECK (email <> ''), nick text);"
            "CREATE INDEX member_email_like ON member (email varchar_pattern_ops);"
            "CREATE INDEX member_nick_lower ON member (lower(nick));"
            "INSERT INTO member VALUES (1, 'a@x.org', 'A')")
    dest = pg_server.create_database(f"renamed_dest_{int(time.time() * 1000)}")
    spec = TaskSpec("pgcols", pg_url, dest, types=parse_types("schema,full"),
                    column_renames={"member": {"email": "mail"}})
    api.create_task(spec, store)
    assert api.run_task("pgcols", store=store) == "Completed", api.task_status("pgcols", store)
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT id, mail, nick FROM member").fetchall() == [
            (1, "a@x.org", "A")]
        assert conn.execute("SELECT pg_get_indexdef('member_email_like'::regclass)").fetchone() \
            == ("CREATE INDEX member_email_like ON public.member USING btree (mail)",)
    said = " | ".join(e["message"] for e in api.events("pgcols", store=store))
    for left in ("check constraint member_email_set (renamed columns)",
                 "index member_nick_lower (renamed columns)",
                 "the own definition of index member_email_like"):
        assert f"table member: {left}" in said, said
