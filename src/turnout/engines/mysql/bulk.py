"""Loading chunks into MySQL: LOAD DATA LOCAL INFILE fed from memory, else multi-row INSERTs.

LOAD DATA takes rows in about 60 % of the server time multi-row INSERTs
need, and its text needs no SQL escaping on this side. Each chunk is written
as tab-separated text into an in-memory file (memfd) that the client library
reads when the server asks for it, so nothing touches a disk.

Exactness. The server cannot stop a LOCAL load mid-file, so it turns every
error (a value out of range, a duplicate key) into a warning and goes on.
A load that warns, or takes fewer rows than were sent, is rolled back to a
savepoint and the chunk goes again as INSERTs, which fail loudly on the same
problem or take the values exactly.

Turns. Where loads of a table would run one at a time on its AUTO-INC lock,
each chunk is parsed into a stage of the connection's own first and moved
with one INSERT … SELECT (see staging.py).

Text. A chunk from a MySQL source whose columns all print as MySQL reads
them (numbers, text, dates) is formatted with one `%` per row, then checked
as a whole instead of value by value: one tab per column gap and one newline
per row (no value held either), no backslash (nothing to escape), no `None`
(no NULL). Any doubt, and every value is escaped on its own. Binary and bit
columns always go as INSERTs: their text would be read differently, and
bytes printed by Python would even be taken without a warning.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

from turnout.engines.mysql.client import unchecked_transaction
from turnout.engines.mysql.dialect import column_list, quote
from turnout.engines.mysql.staging import Stage, takes_turns
from turnout.model import Row, Table
from turnout.types import Kind

PLAIN_KINDS = {Kind.INT16, Kind.INT32, Kind.INT64, Kind.DECIMAL, Kind.FLOAT32, Kind.FLOAT64,
               Kind.CHAR, Kind.VARCHAR, Kind.TEXT, Kind.ENUM, Kind.DATE, Kind.TIMESTAMP,
               Kind.TIME}  # their values from a MySQL source print as MySQL reads them
LOCAL_REFUSED = (1148, 2068, 3948, 4166)  # LOAD DATA LOCAL disabled by the server or client
INSERT_BYTES = 1 << 20  # statement size of the INSERT fallback (mysqlclient's default: 64 KB)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n"})


class _Bytes(Exception):
    """A value that is bytes: LOAD DATA's text cannot be trusted with it."""


class BulkLoader:
    """Loads chunks through one mysqlclient connection opened with LOCAL INFILE allowed."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.file = _MemoryFile()
        self._charsets: dict[str, str] = {}
        self._stages: dict[str, Stage | None] = {}  # by table; None: loads go direct
        self.local = True  # until the server refuses LOAD DATA LOCAL (MySQL 8's default)

    def close(self) -> None:
        self.file.close()
        self.conn.close()

    def transaction(self) -> AbstractContextManager[Any]:
        """A cursor inside one transaction, foreign keys unchecked like every load."""
        for stage in self._stages.values():
            if stage is not None:
                stage.empty(self.conn)  # TRUNCATE commits: before the transaction begins
        return unchecked_transaction(self.conn)

    def load(self, cur: Any, table: Table, rows: list[Row]) -> None:
        """Insert `rows` (as values.writer() left them) inside the cursor's transaction."""
        text = tsv(table, rows)
        if text is None or not self._load_data(cur, table, text, len(rows)):
            insert(cur, table, rows)

    def _load_data(self, cur: Any, table: Table, text: bytes, count: int) -> bool:
        """LOAD DATA the text; False (and nothing loaded) unless it took every row as sent."""
        import MySQLdb

        if not self.local:
            return False
        charset = self._charset(cur, table)
        stage = self._stage(cur, table)
        self.file.fill(text)
        cur.execute("SAVEPOINT turnout_load")
        if stage is not None:
            stage.used = True
        try:
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE "
                f"{quote(table.name) if stage is None else stage.name} CHARACTER SET "
                f"{charset} FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' "
                f"LINES TERMINATED BY '\\n' ({column_list(table.column_names)})",
                (self.file.path,))
        except MySQLdb.OperationalError as exc:
            if exc.args[0] not in LOCAL_REFUSED:
                raise
            self.local = False  # INSERTs from now on
        else:
            if cur.rowcount == count and not self.conn.warning_count():
                if stage is not None:
                    stage.move(cur, count)
                return True
        cur.execute("ROLLBACK TO SAVEPOINT turnout_load")
        return False

    def _stage(self, cur: Any, table: Table) -> Stage | None:
        """The table's empty stage when its loads would take turns (see staging.py); None
        for a direct LOAD."""
        if table.name not in self._stages:
            made = Stage(table, len(self._stages))
            usable = takes_turns(cur, table) and made.create(cur)
            self._stages[table.name] = made if usable else None
        stage = self._stages[table.name]
        return stage if stage is not None and not stage.used else None

    def _charset(self, cur: Any, table: Table) -> str:
        """How the server should read the text: `binary` (as it is, about a tenth less
        server time) when every text column of the table is utf8mb4, which the UTF-8
        text already is; else utf8mb4, converted to each column's character set."""
        if table.name not in self._charsets:
            cur.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                        "DATABASE() AND table_name = %s AND character_set_name <> 'utf8mb4'",
                        (table.name,))
            self._charsets[table.name] = "utf8mb4" if cur.fetchone()[0] else "binary"
        return self._charsets[table.name]


def insert(cur: Any, table: Table, rows: list[Row]) -> None:
    """Multi-row INSERTs (mysqlclient's executemany joins the rows into big statements)."""
    marks = ", ".join(["%s"] * len(table.columns))
    cur.max_stmt_length = INSERT_BYTES
    cur.executemany(f"INSERT INTO {quote(table.name)} ({column_list(table.column_names)}) "
                    f"VALUES ({marks})", rows)


def tsv(table: Table, rows: list[Row]) -> bytes | None:
    """The rows as LOAD DATA's default text format; None when they must go as INSERTs."""
    if not rows or not loadable(table):
        return None
    if plain(table):
        text = _formatted(rows, len(table.columns))
        if text is not None:
            return text.encode()
    try:
        lines = ["\t".join([_field(v) for v in row]) for row in rows]
    except _Bytes:
        return None
    return ("\n".join(lines) + "\n").encode()


def loadable(table: Table) -> bool:
    """Whether LOAD DATA's text can carry every column (not binary strings, not bits)."""
    return not any(c.type.kind in (Kind.BINARY, Kind.GEOMETRY) or _bit(c.native_type)
                   for c in table.columns)


def plain(table: Table) -> bool:
    """Whether rows of this table print as MySQL reads them, with `%s` (see the module)."""
    return table.origin == "mysql" and all(c.type.kind in PLAIN_KINDS for c in table.columns)


def _bit(native: str) -> bool:
    return native.lower().startswith("bit")


def _formatted(rows: list[Row], width: int) -> str | None:
    """One `%` per row; None when the text shows a NULL or a character needing escape."""
    try:
        text = "\n".join(map(("\t".join(["%s"] * width)).__mod__, rows)) + "\n"
    except TypeError:  # a value that is itself a tuple
        return None
    if (text.count("\t") != len(rows) * (width - 1) or text.count("\n") != len(rows)
            or "\\" in text or "None" in text):
        return None
    return text


def _field(value: Any) -> str:
    """One value in LOAD DATA's text: \\N for NULL, special characters escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        return "1" if value else "0"
    elif isinstance(value, bytes | bytearray | memoryview):
        raise _Bytes
    elif isinstance(value, dt.datetime) and value.tzinfo is not None:
        text = str(value.astimezone(dt.UTC).replace(tzinfo=None))  # sessions run in UTC
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = str(value)
    return text.translate(_ESCAPES) if "\\" in text or "\t" in text or "\n" in text else text


class _MemoryFile:
    """A file in memory (memfd) that the client library opens by its /proc path; a private
    temporary file where the system has no memfd."""

    def __init__(self) -> None:
        self.temp: str | None = None
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("turnout-load", os.MFD_CLOEXEC)
            self.path = f"/proc/self/fd/{self.fd}"
        else:
            self.fd, self.temp = tempfile.mkstemp(prefix="turnout-load-")
            self.path = self.temp

    def fill(self, data: bytes) -> None:
        os.ftruncate(self.fd, 0)
        view, offset = memoryview(data), 0
        while offset < len(data):
            offset += os.pwrite(self.fd, view[offset:], offset)

    def close(self) -> None:
        os.close(self.fd)
        if self.temp is not None:
            os.unlink(self.temp)
