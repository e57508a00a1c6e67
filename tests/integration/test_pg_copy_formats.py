"""Which COPY format the PostgreSQL → PostgreSQL copy uses per table, looked up for many
tables in one query on each server: binary only where both servers read it alike."""

from __future__ import annotations

import psycopg

from turnout import engines
from turnout.engines.postgres.copy import copy_formats

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TYPE place AS (street text, zip int);
CREATE TABLE plain (id int PRIMARY KEY, note text, at timestamptz, n numeric(8, 2));
CREATE TABLE moods (id int PRIMARY KEY, m mood);
CREATE TABLE places (id int PRIMARY KEY, p place);
CREATE TABLE moods_list (id int PRIMARY KEY, ms mood[]);
CREATE TABLE wider (id int PRIMARY KEY, v {v_type});
"""


def test_binary_only_where_every_column_has_one_built_in_type_on_both_sides(pg_server) -> None:
    src_url = pg_server.create_database("formats_src")
    dst_url = pg_server.create_database("formats_dst")
    with psycopg.connect(src_url, autocommit=True) as conn:
        conn.execute(SCHEMA.replace("{v_type}", "integer"))
    with psycopg.connect(dst_url, autocommit=True) as conn:
        conn.execute(SCHEMA.replace("{v_type}", "bigint"))
    src, dst = engines.connect(src_url), engines.connect(dst_url)
    names = ["plain", "moods", "places", "moods_list", "wider"]
    tables = {t.name: t for t in src.reflect(names)}
    theirs = {t.name: t for t in dst.reflect(names)}
    pairs = [(tables[n], theirs[n]) for n in names]
    with dst.conn.cursor() as cur:
        found = copy_formats(src.conn, "public", cur, "public", pairs)
    assert dict(zip(names, found, strict=True)) == {
        "plain": "binary", "moods": "binary", "places": "text", "moods_list": "text",
        "wider": "text"}
