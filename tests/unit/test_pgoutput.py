"""pgoutput decoding, from messages a real PostgreSQL 15 server sent (recorded once, kept as hex).

The bytes were taken with ``pg_logical_slot_peek_binary_changes(slot, NULL, NULL,
'proto_version', '1', 'publication_names', 'pub', 'messages', 'true')`` from a throwaway
server (turnout.testing.servers) after::

    CREATE TABLE items (id int PRIMARY KEY, name text, note text, big text);  -- oid 16385
    ALTER TABLE items ALTER big SET STORAGE EXTERNAL;    -- big values TOASTed, uncompressed
    CREATE TABLE log (n int, body text);                                      -- oid 16392
    ALTER TABLE log REPLICA IDENTITY FULL;
    CREATE TABLE blobs (n int, big text);                                     -- oid 16397
    ALTER TABLE blobs ALTER big SET STORAGE EXTERNAL;
    ALTER TABLE blobs REPLICA IDENTITY FULL;
    INSERT INTO items VALUES (1, 'one', 'first', repeat('x', 4000));  -- consumed, not kept
    INSERT INTO blobs VALUES (1, repeat('y', 2100));                   -- consumed, not kept

then, each line one transaction: INSERT INTO items VALUES (2, 'two', NULL, 'small'); UPDATE
items SET name = 'uno' WHERE id = 1 (big not resent); UPDATE items SET id = 3 WHERE id = 2;
DELETE FROM items WHERE id = 3 / INSERT INTO log VALUES (7, 'seven'); UPDATE log SET body =
NULL; DELETE FROM log; UPDATE blobs SET n = 2 / TRUNCATE items, log /
pg_logical_emit_message(true, 'turnout', 'marker'). The 2,100 'y' bytes of the blob's old row
are written ``{y}`` below. Values are loaded with psycopg's own loaders, without a server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from psycopg.adapt import AdaptersMap

from turnout.engines.postgres.pgoutput import UNCHANGED, ChangeDecoder, Message, Relation, decode
from turnout.engines.postgres.positions import PgPosition
from turnout.errors import OperationFailed
from turnout.model import Column, Op, Table
from turnout.types import CanonicalType, Kind

Y = "y" * 2100
RECORDED = {
    "begin": "420000000001951808000304fe0b9fe7bc000002d8",
    "relation_items": (
        "52000040017075626c6963006974656d73006400040169640000000017ffffffff006e616d6500000000"
        "19ffffffff006e6f74650000000019ffffffff006269670000000019ffffffff"
    ),
    "insert_item": "49000040014e0004740000000132740000000374776f6e7400000005736d616c6c",
    "update_toast_unchanged": "55000040014e00047400000001317400000003756e6f7400000005666972737475",
    "update_key_moved": (
        "55000040014b00047400000001326e6e6e4e0004740000000133740000000374776f6e7400000005736d"
        "616c6c"
    ),
    "delete_item": "44000040014b00047400000001336e6e6e",
    "commit": "430000000000019518080000000001951838000304fe0b9fe7bc",
    "relation_log": (
        "52000040087075626c6963006c6f6700660002016e0000000017ffffffff01626f64790000000019ffff"
        "ffff"
    ),
    "insert_log": "49000040084e00027400000001377400000005736576656e",
    "update_log": "55000040084f00027400000001377400000005736576656e4e00027400000001376e",
    "delete_log": "44000040084f00027400000001376e",
    "relation_blobs": (
        "520000400d7075626c696300626c6f627300660002016e0000000017ffffffff016269670000000019ff"
        "ffffff"
    ),
    "update_blob_unchanged": "550000400d4f00027400000001317400000834{y}4e000274000000013275",
    "truncate": "5400000002000000400100004008",
    "message": "4d0100000000019538687475726e6f757400000000066d61726b6572",
}
ITEMS, LOG, BLOBS = 16385, 16392, 16397
INT, TEXT = CanonicalType(Kind.INT32), CanonicalType(Kind.TEXT)
TABLES = {
    "items": Table("items", (Column("id", INT), Column("name", TEXT), Column("note", TEXT),
                             Column("big", TEXT)), primary_key=("id",)),
    "log": Table("log", (Column("n", INT), Column("body", TEXT))),
    "blobs": Table("blobs", (Column("n", INT), Column("big", TEXT))),
}
AT = PgPosition(0x1951838)


def message(name: str) -> Message:
    return decode(bytes.fromhex(RECORDED[name].replace("{y}", "79" * 2100)))


class Offline:
    """What ChangeDecoder asks of its connection to load values: psycopg's own loaders.

    Only a TOASTed value of a keyed table makes it query (it reads the current row), and no
    test here feeds it one: the integration tests cover that against a server.
    """

    def __init__(self) -> None:
        self.adapters = AdaptersMap(psycopg.adapters)
        self.connection = None

    def cursor(self) -> Offline:
        return self


def decoder(tables: dict[str, Table] | None = None) -> ChangeDecoder:
    """A decoder that has seen the three relations, as a stream shows them first."""
    out = ChangeDecoder(Offline(), "public", TABLES if tables is None else tables)
    for name in ("relation_items", "relation_log", "relation_blobs"):
        relation = message(name).relation
        assert relation is not None
        out.relation(relation)
    return out


def changes(name: str, tables: dict[str, Table] | None = None) -> list[Any]:
    return decoder(tables).changes(message(name), 1.0, AT)


# --------------------------------------------------------------------------- messages


def test_begin_and_commit_name_the_same_commit_record_and_time() -> None:
    begin, commit = message("begin"), message("commit")
    assert (begin.kind, commit.kind) == ("B", "C")
    assert begin.lsn == commit.lsn == 0x1951808 and commit.end_lsn == 0x1951838
    assert begin.xid == 0x2D8
    assert begin.commit_ts == commit.commit_ts
    when = dt.datetime.fromtimestamp(commit.commit_ts, dt.UTC)
    assert when.date() == dt.date(2026, 12, 6)


def test_relation_names_columns_types_and_the_replica_identity() -> None:
    items, log = message("relation_items").relation, message("relation_log").relation
    assert items == Relation(ITEMS, "public", "items", [
        ("id", 23, True), ("name", 25, False), ("note", 25, False), ("big", 25, False)])
    assert log == Relation(LOG, "public", "log", [("n", 23, True), ("body", 25, True)])


def test_insert_sends_text_values_and_null_as_none() -> None:
    insert = message("insert_item")
    assert (insert.kind, insert.oid, insert.old) == ("I", ITEMS, None)
    assert insert.new == ["2", "two", None, "small"]


def test_an_unchanged_toasted_value_is_marked_not_sent() -> None:
    update = message("update_toast_unchanged")
    assert update.kind == "U" and update.old is None
    assert update.new == ["1", "uno", "first", UNCHANGED]


def test_an_update_that_moves_the_key_sends_the_old_key_only() -> None:
    update = message("update_key_moved")
    assert update.old == ["2", None, None, None]
    assert update.new == ["3", "two", None, "small"]
    assert message("delete_item").old == ["3", None, None, None]


def test_replica_identity_full_sends_the_whole_old_row() -> None:
    assert message("update_log").old == ["7", "seven"]
    assert message("update_log").new == ["7", None]
    assert message("delete_log").old == ["7", None]
    blob = message("update_blob_unchanged")
    assert blob.old == ["1", Y] and blob.new == ["2", UNCHANGED]


def test_truncate_names_every_table_it_empties() -> None:
    truncate = message("truncate")
    assert truncate.kind == "T" and truncate.oids == (ITEMS, LOG)


def test_logical_message_keeps_prefix_content_and_place() -> None:
    marker = message("message")
    assert (marker.kind, marker.prefix, marker.content) == ("M", "turnout", b"marker")
    assert marker.lsn == 0x1953868


def test_a_kind_turnout_ignores_decodes_to_its_letter() -> None:
    assert decode(b"Y\x00\x00\x00\x01").kind == "Y"  # a type message, say


# --------------------------------------------------------------------------- changes


def test_keyed_changes_carry_loaded_values_and_the_moved_key() -> None:
    (insert,) = changes("insert_item")
    assert (insert.table, insert.op, insert.key) == ("items", Op.INSERT, (2,))
    assert insert.after == {"id": 2, "name": "two", "note": None, "big": "small"}
    (moved,) = changes("update_key_moved")
    assert (moved.op, moved.key, moved.old_key) == (Op.UPDATE, (3,), (2,))
    (delete,) = changes("delete_item")
    assert (delete.op, delete.key, delete.after) == (Op.DELETE, (3,), None)
    assert delete.position == AT and delete.commit_ts == 1.0


def test_keyless_changes_carry_the_old_row() -> None:
    (insert,) = changes("insert_log")
    assert (insert.op, insert.key, insert.before) == (Op.INSERT, (), None)
    assert insert.after == {"n": 7, "body": "seven"}
    (update,) = changes("update_log")
    assert update.before == {"n": 7, "body": "seven"} and update.after == {"n": 7, "body": None}
    (delete,) = changes("delete_log")
    assert delete.before == {"n": 7, "body": None} and delete.after is None


def test_a_keyless_unchanged_toasted_value_is_the_old_rows() -> None:
    (update,) = changes("update_blob_unchanged")
    assert update.before == {"n": 1, "big": Y}
    assert update.after == {"n": 2, "big": Y}


def test_truncate_empties_only_the_tasks_tables() -> None:
    assert [c.table for c in changes("truncate")] == ["items", "log"]
    only_items = {"items": TABLES["items"]}
    assert [(c.table, c.op) for c in changes("truncate", only_items)] == [
        ("items", Op.TRUNCATE)]


def test_changes_of_other_tables_and_schemas_are_left_out() -> None:
    assert changes("insert_log", {"items": TABLES["items"]}) == []
    # a table of the same name in another schema: a stream that never showed the task's own
    # `items` under this oid (the same oid under another name is a rename, which stops)
    other = ChangeDecoder(Offline(), "public", TABLES)
    other.relation(Relation(ITEMS, "elsewhere", "items", [("id", 23, True)]))
    assert other.changes(message("insert_item"), 1.0, AT) == []


def test_a_column_added_on_the_source_stops_the_task() -> None:
    wider = dict(TABLES, items=Table("items", TABLES["items"].columns + (Column("price", INT),),
                                     primary_key=("id",)))
    with pytest.raises(OperationFailed, match="added nothing; removed price"):
        changes("insert_item", wider)


def test_a_keyless_change_without_its_old_row_stops_the_task() -> None:
    lost = Message("U", oid=LOG, new=["7", "eight"], old=None)
    with pytest.raises(OperationFailed, match="REPLICA IDENTITY FULL"):
        decoder().changes(lost, 1.0, AT)
