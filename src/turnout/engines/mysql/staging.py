"""Staged loads, for MariaDB tables whose LOAD DATAs would otherwise take turns.

Why. With innodb_autoinc_lock_mode below 2 (1 is MariaDB's default; MySQL
8's is 2), a LOAD DATA into an InnoDB table that has an AUTO_INCREMENT
column holds the table's AUTO-INC lock until it ends. However many
connections load such a table, one LOAD runs at a time, and about a third of
a LOAD is the server parsing its text. So a loader connection parses each
chunk into a temporary Aria table of its own first: that takes no AUTO-INC
lock and writes no binlog or redo, so loaders parse side by side. One
INSERT … SELECT then moves the parsed rows; it still takes turns, but costs
about two thirds of the LOAD. Two loaders, 1,000,000 sysbench rows, private
MariaDB 10.11: 4.5 s of loading became 3.0 - 3.2 s, for about a tenth more
server CPU.

The stage holds the loaded columns only, with the table's column types
(CREATE … SELECT copies them, without keys or AUTO_INCREMENT), so a value
converts, or warns, in the stage exactly as it would in the table.

Aria is not transactional: rolling back leaves a LOAD's rows in the stage.
A used stage is emptied with TRUNCATE, which commits, so that happens before
the connection's next transaction begins, never inside one.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.mysql.dialect import column_list, quote
from turnout.errors import OperationFailed
from turnout.model import Table

PREFIX = "_turnout_stage_"  # temporary, per connection; turnout's own names start with _turnout
CLIENT_ERRORS = 2000  # error codes from here up are the client's (a lost connection, …)


def takes_turns(cur: Any, table: Table) -> bool:
    """Whether LOAD DATAs into `table` run one at a time on its AUTO-INC lock, on a
    server that has Aria to stage them in."""
    cur.execute(
        "SELECT @@innodb_autoinc_lock_mode < 2 "
        "AND EXISTS (SELECT 1 FROM information_schema.engines WHERE engine = 'Aria' "
        "            AND support IN ('YES', 'DEFAULT')) "
        "AND EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
        "            AND table_name = %s AND engine = 'InnoDB' AND auto_increment IS NOT NULL)",
        (table.name,))
    return bool(cur.fetchone()[0])


class Stage:
    """One connection's temporary Aria twin of one table."""

    def __init__(self, table: Table, number: int) -> None:
        self.table = table
        self.name = quote(f"{PREFIX}{number}")
        self.columns = column_list(table.column_names)
        self.used = False  # holds rows, or may: empty it before it takes a LOAD again

    def create(self, cur: Any) -> bool:
        """Make the stage; False when the server refuses (no CREATE TEMPORARY TABLES
        privilege, a column type Aria lacks, …): the loads then go direct, as fast as
        before. A failed statement leaves the surrounding transaction as it was."""
        import MySQLdb

        try:
            cur.execute(f"CREATE TEMPORARY TABLE {self.name} ENGINE=Aria "
                        f"SELECT {self.columns} FROM {quote(self.table.name)} LIMIT 0")
        except MySQLdb.Error as exc:
            if not exc.args or exc.args[0] >= CLIENT_ERRORS:
                raise
            return False
        return True

    def move(self, cur: Any, count: int) -> None:
        """Insert the `count` rows the stage took into the table, in this transaction."""
        cur.execute(f"INSERT INTO {quote(self.table.name)} ({self.columns}) "
                    f"SELECT {self.columns} FROM {self.name}")
        if cur.rowcount != count:
            raise OperationFailed(f"staged load into {self.table.name} moved {cur.rowcount} "
                                  f"rows of {count}: the load is rolled back")

    def empty(self, conn: Any) -> None:
        """TRUNCATE a used stage; outside any transaction, since TRUNCATE commits."""
        if self.used:
            with conn.cursor() as cur:
                cur.execute(f"TRUNCATE TABLE {self.name}")
            self.used = False
