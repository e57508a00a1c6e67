"""Schema step: tables (with primary keys) before the data, indexes after it."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from turnout import engines
from turnout.engines.base import Engine
from turnout.migrate.identifiers import renamed_objects
from turnout.migrate.plan import TablePlan
from turnout.migrate.progress import Progress
from turnout.model import Table
from turnout.types import Kind

INDEX_BUILDERS = min(4, os.cpu_count() or 1)  # tables whose indexes are built at once
TABLES_PER_BUILD = 25  # tables whose indexes one transaction builds, at most
BATCHES_PER_BUILDER = 8  # below this many batches per builder, batches shrink
TABLES_PER_CREATOR = 100  # tables a builder creates at least, on a connection of its own


def create_tables(dst: Engine, plans: list[TablePlan], progress: Progress) -> None:
    """The tables, shared out among builders where the destination takes parallel writers:
    creating a table is the server's work, one process's at a time on one connection, and
    a thousand small tables took seconds so."""
    parts = creation_parts([plan.dest for plan in plans],
                           INDEX_BUILDERS if dst.capabilities.parallel_writes else 1)
    if len(parts) == 1:
        dst.create_tables(parts[0])
    else:
        with ThreadPoolExecutor(len(parts), thread_name_prefix="turnout-create") as pool:
            list(pool.map(partial(_create_on_own, dst), parts))
    progress.event("info", f"created {len(plans)} tables on the destination")
    for plan in plans:
        for line in renamed_objects(plan):
            progress.event("info", f"{line} on the destination (names there must be unique "
                           "per schema or shorter)")
        built = {index.name for index in plan.source.indexes}
        for line in not_carried(plan.dest, dst.scheme, built) + defaults_not_carried(plan, dst):
            progress.event("warning", line)


def creation_parts(tables: list[Table], builders: int) -> list[list[Table]]:
    """The tables in up to `builders` parts that may be created at once, none smaller than
    TABLES_PER_CREATOR (a connection costs as much as a few dozen small tables). Tables
    that bring types or sequences of their own, which another table may share, all go in
    the first part: two builders would both find one missing and both create it."""
    shares = [t for t in tables if _brings_types(t)]
    alone = [t for t in tables if not _brings_types(t)]
    count = max(1, min(builders, len(alone) // TABLES_PER_CREATOR))
    parts = [alone[i::count] for i in range(count)]
    parts[0] = shares + parts[0]
    return [part for part in parts if part] or [[]]


def _brings_types(table: Table) -> bool:
    return bool(table.types or table.sequences
                or any(c.type.kind is Kind.ENUM for c in table.columns))


def _create_on_own(dst: Engine, tables: list[Table]) -> None:
    own = engines.connect(dst.endpoint)
    try:
        own.create_tables(tables)
    finally:
        own.close()


def not_carried(table: Table, scheme: str, built: set[str] | frozenset[str] = frozenset()
                ) -> list[str]:
    """What of the source's table the destination will not have, one line each with the fix:
    objects turnout never builds, and indexes without a form outside their own engine.

    `built` names, as the source does, the indexes the destination builds under another
    name (a MySQL index name made unique per PostgreSQL schema): `table.indexes` holds the
    new names, and a source index is not left out just because its name changed."""
    fix = "add it on the destination yourself if the application needs it"
    lines = [f"table {table.name}: {what} is not carried to the destination: {fix}"
             for what in table.left_out]
    plain = {index.name for index in table.indexes} | set(built)
    lines += [f"table {table.name}: index {index.name} (its definition could not be read) is "
              f"not carried to the destination: {fix}" for index in table.source_indexes
              if not index.definition and index.name not in plain]
    if table.origin != scheme:
        lines += [
            f"table {table.name}: index {index.name} ({index.definition}) has no {scheme} form "
            f"and is not carried to the destination: {fix}"
            for index in table.source_indexes if index.name not in plain and index.definition
        ]
        lines += [f"table {table.name}: check constraint {name} ({definition}) is in the "
                  f"source's own SQL and not carried to the destination: {fix}"
                  for name, definition in table.checks]
        if table.comments:
            lines.append(f"table {table.name}: {len(table.comments)} comments (on the table, "
                         f"its columns, indexes or constraints) are not carried to the "
                         f"destination: {fix}")
    return lines


def defaults_not_carried(plan: TablePlan, dst: Engine) -> list[str]:
    """What of a table's columns another engine cannot hold, one line each: defaults that are
    expressions only the source's engine evaluates, counters past the one MySQL (or
    SQLite) allows, and MySQL's ON UPDATE clause. No trigger
    emulates the latter: it would fire on the replay's writes too and replace the source's
    values with the destination's clock."""
    if plan.dest.origin in (dst.scheme, ""):
        return []
    engine = dst.naming.engine
    counted = dst.counted(plan.dest)
    lines = []
    for source, column in zip(plan.source.columns, plan.dest.columns, strict=True):
        where = f"{plan.source.name}.{source.name}"
        if column.autoincrement and column.name not in counted:
            lines.append(f"{where} counts from a sequence on the source, but {engine} lets "
                         f"only {_counting(counted, plan.source.name)} count: its values are "
                         "copied, yet after switchover an insert there that leaves it out "
                         "gets no value (an error where it is NOT NULL): the application "
                         "must set it, or a BEFORE INSERT trigger there")
        if column.default is not None and column.portable_default is None \
                and not column.autoincrement:
            lines.append(f"{where}: its default {column.default} has no equivalent on {engine} "
                         "and is left out: set a default there by hand if the application "
                         "relies on it")
        if column.on_update:
            lines.append(f"{where}: {column.on_update.upper()} has no equivalent on {engine}: "
                         "after switchover the application must set this column on every "
                         "update (or add a trigger there)")
    return lines


def _counting(counted: set[str], table: str) -> str:
    if not counted:
        return "a one-column integer primary key"
    return f"one column a table ({', '.join(f'{table}.{c}' for c in sorted(counted))} here)"


def create_indexes(dst: Engine, plans: list[TablePlan], progress: Progress) -> None:
    """Every table's indexes, several at once where the destination takes parallel writers
    (each on a connection of its own): building an index is one server thread's work, so
    one table after another would leave the server's other cores idle. A table built
    alone is cut into the parts its engine can build at once (index_parts), so even one
    big table's key and indexes are built side by side."""
    tables = [plan.dest for plan in plans]  # an engine may add primary keys here too
    builders = min(INDEX_BUILDERS, len(tables)) if dst.capabilities.parallel_writes else 1
    if dst.capabilities.parallel_writes and INDEX_BUILDERS > 1:
        jobs = _jobs(dst, index_batches(tables, max(builders, 1)))
        left = queue.SimpleQueue[Callable[[Engine], None]]()
        for job in jobs:
            left.put(job)
        workers = min(INDEX_BUILDERS, len(jobs))
        with ThreadPoolExecutor(max(workers, 1), thread_name_prefix="turnout-index") as pool:
            list(pool.map(lambda _: _build_indexes(dst, left), range(workers)))
    else:
        for batch in index_batches(tables, 1):
            dst.create_indexes_of(batch)
    count = sum(len(t.indexes) for t in tables)
    for plan in plans:  # a foreign key needs the referenced table's key in place
        dst.create_foreign_keys(plan.dest)
    progress.event("info", f"built {count} indexes on the destination")


def index_batches(tables: list[Table], builders: int) -> list[list[Table]]:
    """The tables in batches that one builder builds in one transaction: alone while there
    are few (each big table's build must start at once), up to TABLES_PER_BUILD when there
    are many (a thousand small tables spent more on transactions than on builds), so that
    every builder still gets about BATCHES_PER_BUILDER batches to share the work out."""
    size = max(1, min(TABLES_PER_BUILD, len(tables) // (builders * BATCHES_PER_BUILDER)))
    return [tables[i:i + size] for i in range(0, len(tables), size)]


def _jobs(dst: Engine, batches: list[list[Table]]) -> list[Callable[[Engine], None]]:
    """What the builders share: a batch each, or, for a table batched alone whose engine
    builds its indexes in parts, each part, the last part to end finishing the table."""
    jobs: list[Callable[[Engine], None]] = []
    for batch in batches:
        parts = dst.index_parts(batch[0]) if len(batch) == 1 else []
        if len(parts) < 2:
            jobs.append(partial(_whole_batch, batch))
            continue
        left = _Countdown(len(parts))
        jobs += [partial(_part, batch[0], part, left) for part in parts]
    return jobs


def _whole_batch(batch: list[Table], own: Engine) -> None:
    own.create_indexes_of(batch)


def _part(table: Table, part: str, left: _Countdown, own: Engine) -> None:
    own.create_index_part(table, part)
    if left.ends():  # every part is built: the key from its index, and what is left
        own.create_indexes_of([table])


class _Countdown:
    """Parts of one table not yet built, counted down by the builders that build them."""

    def __init__(self, parts: int) -> None:
        self._left = parts
        self._lock = threading.Lock()

    def ends(self) -> bool:
        """Count one part done; True for the last one."""
        with self._lock:
            self._left -= 1
            return self._left == 0


def _build_indexes(dst: Engine, left: queue.SimpleQueue[Callable[[Engine], None]]) -> None:
    """One builder: jobs off the shared queue until none is left, all on one connection
    (a connection per table cost more than building a small table's indexes)."""
    own = engines.connect(dst.endpoint)
    try:
        while True:
            try:
                job = left.get_nowait()
            except queue.Empty:
                return
            job(own)
    finally:
        own.close()


def sync_sequences(dst: Engine, plans: list[TablePlan], progress: Progress) -> None:
    """After the full step and at every stop: no destination sequence is behind its data."""
    for plan in plans:
        dst.sync_sequences(plan.dest)
    progress.event("info", "destination sequences moved past the highest values in use")
