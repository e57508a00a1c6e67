"""Same-engine schema fidelity: the destination's schema reads back as the source's.

PostgreSQL → PostgreSQL is compared with `pg_dump -s`, MariaDB → MariaDB with SHOW CREATE
TABLE, on schemas holding the objects applications (Django among them) rely on. Each task
also runs its full and incremental steps over those tables.
"""

from __future__ import annotations

import subprocess
import time

import psycopg

from tests.integration.helpers import running, same_rows, wait_caught_up
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store

PG_SCHEMA = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer DEFAULT 1 NOT NULL CONSTRAINT positive CHECK (VALUE > 0);
CREATE DOMAIN short_code AS varchar(12) COLLATE "C" CHECK (VALUE ~ '^[a-z0-9]+$');
COMMENT ON TYPE mood IS 'how it feels';
CREATE TABLE author (
    id integer GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5),
    email varchar(254) NOT NULL,
    name text COLLATE "C" NOT NULL DEFAULT 'anon',
    handle short_code,
    joined timestamptz NOT NULL DEFAULT now(),
    score positive_int,
    moods mood[] DEFAULT '{ok}',
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
INSERT INTO author (email, name, handle) VALUES ('a@x.org', 'Ann', 'ann'), ('b@x.org', 'Bob', NULL);
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
    return "\n".join(lines)


def test_postgres_to_postgres_builds_what_pg_dump_shows(
    store: Store, pg_server, pg_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
    dest = pg_server.create_database(f"fidelity_dest_{int(time.time() * 1000)}")
    api.create_task(TaskSpec("pgsame", pg_url, dest), store)
    with running(store, "pgsame"):
        api.wait_for("pgsame", lambda s: s["phase"] == "incremental", 60, store)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO author (email, name, handle) VALUES ('c@x.org', 'Cy', 'cy')")
            conn.execute("INSERT INTO post (author_id, title, slug, body, feeling) "
                         "VALUES (20, 'Two', 'two', 'more words here', 'happy')")
            conn.execute("UPDATE author SET name = 'Ann B' WHERE email = 'a@x.org'")
            conn.execute("DELETE FROM tag")
        wait_caught_up(store, "pgsame")
    same_rows(pg_url, dest)
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT words FROM post WHERE slug = 'two'").fetchone() == (3,)
    source, copied = pg_dump_schema(pg_server, pg_url), pg_dump_schema(pg_server, dest)
    for shown in ("DEFERRABLE INITIALLY DEFERRED", "varchar_pattern_ops", "EXCLUDE USING gist",
                  "UNIQUE NULLS NOT DISTINCT", "GENERATED ALWAYS AS IDENTITY",
                  'COLLATE pg_catalog."C"', "INCLUDE (name)", "WHERE (handle IS NOT NULL)",
                  "CREATE DOMAIN", "REPLICA IDENTITY FULL", "MATCH FULL",
                  "GENERATED ALWAYS AS ((length(body)"):
        assert shown in source, shown  # the schema holds what the comparison is about
    assert copied == source, "\n".join(_diff(source, copied))


def _diff(a: str, b: str) -> list[str]:
    import difflib

    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), "source", "destination",
                                     lineterm=""))
