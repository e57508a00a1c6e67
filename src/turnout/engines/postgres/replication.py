"""One replication-protocol connection to PostgreSQL (a walsender), for change capture.

psycopg 3 does not speak the replication protocol, so this connection uses
psycopg2's LogicalReplicationConnection. Its life has three parts, in order:

1. create the slot with EXPORT_SNAPSHOT, which names a snapshot that sees
   exactly what was committed before the slot's consistent point;
2. stay silent while the full step imports that snapshot (any command on
   this connection would end it);
3. stream pgoutput messages from a position on, and send standby status
   feedback: the flush position is what the destination has committed, so
   the server keeps every change turnout has not applied and frees the rest.

psycopg2 answers the server's keep-alive requests itself from inside
read_message(), with the feedback values last given, and sends them every
STATUS_INTERVAL_S as well. When every message received has been confirmed,
it also moves the flush position up to the WAL end a keep-alive reports:
nothing that touches the captured tables lies before that end unread, so
this frees the WAL of other tables' writes without skipping a change.
"""

from __future__ import annotations

import select
import time
from typing import Any

from turnout.engines.capture import INSTALL_WAIT
from turnout.engines.postgres import faults, values
from turnout.engines.postgres.catalog import reflect_table
from turnout.engines.postgres.dialect import qualified, quote
from turnout.engines.postgres.sessions import APPLICATION
from turnout.errors import BadInput, OperationFailed, TransientError

STATUS_INTERVAL_S = 10  # seconds between status updates when nothing else is sent
SLOT_BUSY_WAIT_S = 15.0  # how long a killed worker's walsender may take to go away


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicationStream:
    """A walsender connection: create a slot, then stream one slot's changes from it."""

    def __init__(self, url: str, endpoint: object) -> None:
        import psycopg2  # type: ignore[import-untyped]
        from psycopg2.extras import LogicalReplicationConnection  # type: ignore[import-untyped]

        self.endpoint = endpoint
        try:
            self.conn = psycopg2.connect(
                url, connection_factory=LogicalReplicationConnection,
                application_name=APPLICATION, connect_timeout=10, **faults.net_options(url),
                **values.settings_options(url),
            )
        except psycopg2.OperationalError as exc:
            if faults.is_unreachable(exc):  # down or restarting: the runner retries
                raise faults.unreachable(endpoint, exc) from None
            raise BadInput(f"cannot open a replication connection to {endpoint}: "
                           f"{_reason(exc)}") from None
        self.cur: Any = self.conn.cursor()
        self.streaming = False

    def create_slot(self, slot: str) -> tuple[int, str]:
        """Create a pgoutput slot; its consistent point and the name of the exported snapshot.

        The snapshot stays importable until this connection runs its next
        command, which is why streaming waits for the first read.
        """
        import psycopg2.errors  # type: ignore[import-untyped]

        wait = INSTALL_WAIT.get()
        if wait is not None:  # a slot waits for every transaction running on the server
            self.cur.execute(f"SET lock_timeout = '{int(wait * 1000)}ms'")
        try:
            self.cur.execute(
                f"CREATE_REPLICATION_SLOT {quote(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT")
        except psycopg2.errors.LockNotAvailable:
            raise TransientError(f"creating replication slot {slot} on {self.endpoint} waited "
                                 f"over {wait:g} s for a transaction running on that server"
                                 ) from None
        _name, consistent, snapshot, _plugin = self.cur.fetchone()
        return parse_lsn(consistent), snapshot

    def start(self, slot: str, lsn: int, publication: str) -> None:
        """Stream the slot's changes from `lsn` (the server starts no earlier than the slot).

        A worker killed a moment ago leaves its walsender holding the slot
        until the server notices, so "in use" is retried for a while.
        """
        import psycopg2.errors  # type: ignore[import-untyped]

        deadline = time.monotonic() + SLOT_BUSY_WAIT_S
        options = {"proto_version": "1", "publication_names": publication, "messages": "true"}
        while True:
            try:
                self.cur.start_replication(slot_name=slot, start_lsn=lsn, options=options,
                                           decode=False, status_interval=STATUS_INTERVAL_S)
                break
            except psycopg2.errors.ObjectInUse as exc:
                if time.monotonic() > deadline:  # transient: a walsender whose client went
                    # silent holds the slot until the server's wal_sender_timeout ends it
                    raise TransientError(
                        f"replication slot {slot} is in use by another process: {_reason(exc)}; "
                        "stop whatever streams from it (another turnout worker?)"
                    ) from None
                time.sleep(0.2)
            except psycopg2.errors.UndefinedObject as exc:
                raise OperationFailed(
                    f"{_reason(exc)} on {self.endpoint}: the changes since the task's checkpoint "
                    "are gone with it; start the task again with --resnapshot"
                ) from None
            except psycopg2.Error as exc:
                raise TransientError(f"{self.endpoint}: cannot stream changes: "
                                     f"{_reason(exc)}") from None
        self.streaming = True

    def message(self, wait: float, stall_timeout_s: float = 30.0) -> bytes | None:
        """The next pgoutput message, waiting up to `wait` seconds for one; None when none came.

        read_message() never blocks; select() on the socket does the waiting.
        The capture commits a heartbeat every second while it reads, so a stream
        that brings neither a message nor a keep-alive for `stall_timeout_s` is a
        connection whose packets are lost: that is raised as a lost stream.
        """
        import psycopg2

        try:
            msg = self.cur.read_message()
            if msg is None and wait > 0:
                select.select([self.cur], [], [], wait)
                msg = self.cur.read_message()
        except psycopg2.Error as exc:
            raise TransientError(f"{self.endpoint}: change stream lost: "
                                 f"{_reason(exc)}") from None
        if msg is not None:
            return bytes(msg.payload)
        silent = time.time() - self.cur.io_timestamp.timestamp()
        if silent > stall_timeout_s:
            raise TransientError(
                f"{self.endpoint}: the change stream brought nothing, not even a keep-alive, "
                f"for {silent:.0f} s (stall_timeout_s): taken as lost")
        return None

    @property
    def wal_end(self) -> int:
        """How far the server's decoding has got, by the last message or keep-alive received.

        Messages go out in commit order, each at its decoding position, and
        the server sends a keep-alive with its position whenever it has
        caught up with the WAL beyond what was confirmed: so everything
        committed before this LSN has been received.
        """
        return int(self.cur.wal_end)

    def confirm(self, lsn: int) -> None:
        """Tell the server the destination has everything up to `lsn`; sent at once."""
        import psycopg2

        try:
            self.cur.send_feedback(write_lsn=lsn, flush_lsn=lsn, apply_lsn=lsn, force=True)
        except psycopg2.Error as exc:
            raise TransientError(f"{self.endpoint}: change stream lost: "
                                 f"{_reason(exc)}") from None

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.close()


def _reason(exc: Exception) -> str:
    """The first line of a driver error: the server's message without its context lines."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# precheck ------------------------------------------------------------------


def problems(conn: Any, endpoint: object, schema: str, slot: str,
             tables: list[str] | None) -> list[str]:
    """What stops logical replication from this database, one line each with the fix.

    `slot` is the full slot (and publication) name. Without `tables` the
    checks that need the task's tables (ownership, replica identity) are
    left out.
    """
    found = _server_problems(conn, endpoint, slot)
    found += _publication_problems(conn, schema, slot, tables)
    if tables:
        found += [p for name in tables for p in _identity_problems(conn, schema, name)]
    return found


def _server_problems(conn: Any, endpoint: object, slot: str) -> list[str]:
    found = []
    wal_level = conn.execute("SHOW wal_level").fetchone()[0]
    if wal_level != "logical":
        found.append(
            f"{endpoint} has wal_level = {wal_level}: run ALTER SYSTEM SET wal_level = "
            "logical and restart PostgreSQL (logical decoding needs it)"
        )
    user, allowed = conn.execute(
        "SELECT current_user, rolsuper OR rolreplication FROM pg_roles "
        "WHERE rolname = current_user"
    ).fetchone()
    if not allowed:
        found.append(
            f"user {user} may not use replication slots: ALTER ROLE {quote(user)} REPLICATION"
        )
    used, limit, mine, elsewhere = conn.execute(
        "SELECT count(*), current_setting('max_replication_slots')::int, "
        "count(*) FILTER (WHERE slot_name = %s), "
        "min(database) FILTER (WHERE slot_name = %s AND database <> current_database()) "
        "FROM pg_replication_slots", (slot, slot),
    ).fetchone()
    if elsewhere:
        found.append(
            f"replication slot {slot} belongs to database {elsewhere} of the same server (slot "
            "names are server-wide): give this task another name, or delete the task that owns it"
        )
    elif not mine and used >= limit:
        found.append(
            f"all {limit} replication slots are in use: raise max_replication_slots "
            "(restart needed) or drop a slot nobody uses"
        )
    senders, sender_limit = conn.execute(
        "SELECT count(*) FILTER (WHERE backend_type = 'walsender'), "
        "current_setting('max_wal_senders')::int FROM pg_stat_activity"
    ).fetchone()
    if senders >= sender_limit:
        found.append(
            f"all {sender_limit} WAL senders of {endpoint} are busy (turnout streams changes "
            "through one): raise max_wal_senders (restart needed)"
        )
    return found


def _publication_problems(
    conn: Any, schema: str, slot: str, tables: list[str] | None
) -> list[str]:
    """Creating the publication needs CREATE on the database and ownership of every table;
    one made beforehand (by the tables' owner) must publish every kind of change, or some
    would be missing from the destination without a word."""
    existing = conn.execute(
        "SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate FROM pg_publication "
        "WHERE pubname = %s", (slot,)).fetchone()
    if existing is not None:
        return [] if existing[0] else [
            f"publication {slot} leaves out some kinds of change: ALTER PUBLICATION "
            f"{quote(slot)} SET (publish = 'insert, update, delete, truncate')"
        ]
    user, may_create = conn.execute(
        "SELECT current_user, has_database_privilege(current_database(), 'CREATE')"
    ).fetchone()
    not_owned = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s) AND NOT pg_has_role(c.relowner, 'USAGE') "
        "ORDER BY c.relname", (schema, tables or []),
    ).fetchall()]
    if may_create and not not_owned:
        return []
    why = [] if may_create else ["CREATE on the database"]
    if not_owned:
        why.append("ownership of " + ", ".join(not_owned))
    names = ", ".join(qualified(schema, t) for t in tables) if tables else "<the task's tables>"
    return [
        f"user {user} may not create the publication {slot} (it needs {' and '.join(why)}): "
        f"have the tables' owner or a superuser run CREATE PUBLICATION {quote(slot)} "
        f"FOR TABLE {names}"
    ]


def _identity_problems(conn: Any, schema: str, name: str) -> list[str]:
    """Updates and deletes must log the old key, or neither turnout nor the source copes.

    Once a table is in a publication, PostgreSQL refuses its updates and
    deletes when it has no replica identity; with one that leaves out the
    key turnout matches rows by, deletes would miss the destination's rows.
    """
    row = conn.execute(
        "SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisprimary), ARRAY(SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = c.oid "
        "AND i.indisreplident) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s", (schema, name),
    ).fetchone()
    if row is None:
        return []
    identity, has_primary_key, index_columns = row
    fix = f"ALTER TABLE {qualified(schema, name)} REPLICA IDENTITY FULL"
    refused = "so PostgreSQL refuses its updates and deletes once it is published"
    if identity == "n":
        return [f"table {name!r} has REPLICA IDENTITY NOTHING, {refused}: {fix}"]
    if identity == "d" and not has_primary_key:
        return [f"table {name!r} has no primary key and REPLICA IDENTITY DEFAULT, {refused}: {fix}"]
    key = _key(conn, schema, name) if identity == "i" else ()
    if not set(key) <= set(index_columns):
        return [
            f"table {name!r} has a REPLICA IDENTITY index on {', '.join(index_columns)}, which "
            f"leaves out its key {', '.join(key)}, so deletes would not say which row: {fix}"
        ]
    return []


def _key(conn: Any, schema: str, name: str) -> tuple[str, ...]:
    """The columns turnout matches the table's rows by."""
    with conn.cursor() as cur:
        return reflect_table(cur, schema, name).key
