"""`turnout backup` and `turnout restore`: a consistent copy of a task's source tables taken
before switchover, and the way back to it.

A backup is a directory: the data and a manifest, `turnout-backup.json`, written last, so
a directory with a manifest holds a finished backup. The data comes from the engine's own
dump tool when it is installed (Engine.dumper: pg_dump, mysqldump, SQLite's backup API), else
from turnout's own reader: one snapshot of the source read table by table into an SQLite
file, which any engine can be restored from.

Restoring turnout's file replaces each table's rows in one transaction (Engine.apply with a
delete of every key the table holds and an upsert of every row backed up), so a failure
leaves the table as it was; tables go in groups of up to GROUP_ROWS rows per transaction,
which also keeps their foreign keys in order.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

from turnout import engines
from turnout.coalesce import Batch, TableBatch, parents_first
from turnout.engines.base import Engine, SnapshotReader
from turnout.errors import BadInput, NotFound, OperationFailed, TurnoutError, Unsupported
from turnout.model import Checkpoint, Key, Row, Table
from turnout.store import Store
from turnout.types import CanonicalType, Kind, parse_type

FORMAT = 1  # the manifest's version: a newer turnout reads older ones
MANIFEST = "turnout-backup.json"
DATA = "data.sqlite"  # turnout's own method
OWNER = "turnout-backup"  # checkpoint owner in the SQLite file while it is written
TOOLS = ("auto", "native", "turnout")
CHUNK_ROWS = 50_000
GROUP_ROWS = 500_000  # rows restored per transaction at most (a bigger table gets its own)
# Values SQLite's type affinity would change (a NUMERIC column turns '1.10' into 1.1 and
# long decimals into floats): the backup file gives these columns no declared type.
_VERBATIM = (Kind.DECIMAL, Kind.JSON)


def backup(name: str, to: str, store: Store | None = None, tool: str = "auto") -> dict[str, Any]:
    """Back up the tables task `name` selects on its source into the new directory `to`.

    `tool`: "native" insists on the engine's dump tool, "turnout" on turnout's reader,
    "auto" takes the tool when it is installed and works. Returns the manifest, plus the
    directory and how long it took.
    """
    if tool not in TOOLS:
        raise BadInput(f"unknown backup tool {tool!r}: use one of {', '.join(TOOLS)}")
    spec = (store or Store()).get(name).spec
    started = time.monotonic()
    src = engines.connect(spec.source_endpoint)
    try:
        names = [t for t in src.list_tables() if spec.selects(t)]
        if not names:
            raise BadInput(f"task {name!r} selects no table of {src.endpoint}: nothing to back up")
        directory = _new_directory(Path(to))
        try:
            made = _write(src, names, directory, tool)
        except BaseException:
            _clear(directory)
            raise
    finally:
        src.close()
    manifest = {"format": FORMAT, "task": name, "source": str(spec.source_endpoint),
                "engine": src.scheme, **made,
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.rename(directory / MANIFEST)  # last, and atomic: a manifest means a whole backup
    return {**manifest, "dir": str(directory), "seconds": round(time.monotonic() - started, 3)}


def _new_directory(path: Path) -> Path:
    """The backup's directory, made private to this user; never one holding anything."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BadInput(f"{path} already exists and is not an empty directory: give a new one")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create {path}: {exc.strerror}") from None
    return path.resolve()


def _clear(directory: Path) -> None:
    """Remove what a failed backup wrote, so no half backup is ever mistaken for one."""
    for entry in directory.iterdir():
        entry.unlink()


def _write(src: Engine, names: list[str], directory: Path, tool: str) -> dict[str, Any]:
    """The data, by the engine's tool or turnout's reader; the manifest's fields about it."""
    note = None
    dumper = src.dumper
    if tool != "turnout" and dumper is not None:
        try:
            dumped = dumper.dump(names, directory)
        except OperationFailed as exc:
            if tool == "native":
                raise
            _clear(directory)
            dumped, note = None, f"the native tool failed, so turnout's reader was used: {exc}"
        if dumped is not None:  # kept whole under "native": the dumper's restore gets it back
            return {"method": "native", "tool": dumped["tool"], "files": dumped["files"],
                    "tables": _rows(dumped["rows"]), "native": dumped}
    if tool == "native":
        raise BadInput(f"{src.endpoint} has no dump tool installed here "
                       f"({src.capabilities.dump_tool or 'none known'}): install it, "
                       "or back up with --tool turnout")
    rows, types = _copy_out(src, names, directory / DATA)
    made = {"method": "turnout", "tool": "turnout", "files": [DATA], "tables": _rows(rows),
            "types": types}
    return {**made, "note": note} if note else made


def _rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"name": t, "rows": n} for t, n in counts.items()]


# turnout's own method: one snapshot into an SQLite file ----------------------------------


def _copy_out(src: Engine, names: list[str], path: Path) -> tuple[dict[str, int], dict[str, Any]]:
    """Read every table in one snapshot of the source into a new SQLite file.

    Returns the rows per table and each column's canonical type, which the file itself
    cannot keep (a restore into an engine lacking the table creates it with these).
    """
    tables = src.reflect(names)
    for table in tables:
        if not table.key:
            raise BadInput(f"table {table.name} has neither a primary key nor a unique key "
                           "of NOT NULL columns, which turnout's reader needs: use --tool native")
    box = engines.connect(f"sqlite:///{path}", create=True)
    try:
        with src.snapshot() as snap:
            rows = {t.name: _copy_table(snap, t, box) for t in tables}
        box.drop_checkpoint(OWNER)
    finally:
        box.close()
    return rows, {t.name: {c.name: str(c.type) for c in t.columns} for t in tables}


def _copy_table(snap: SnapshotReader, table: Table, box: Engine) -> int:
    """Create the table in the file and copy its rows in key-ordered chunks."""
    kept = _container(table, box.scheme)
    box.create_table(kept)
    key_at = table.key_positions()
    after: Key | None = None
    total = 0
    while True:
        rows = snap.read_chunk(table, after, CHUNK_ROWS)
        total += len(rows)
        box.load(kept, rows, Checkpoint(OWNER, {table.name: str(total)}))
        if len(rows) < CHUNK_ROWS:
            break
        after = tuple(rows[-1][i] for i in key_at)
    box.create_indexes(kept)
    return total


def _container(table: Table, scheme: str) -> Table:
    """The table as the backup file (an engine of `scheme`) holds it: values exactly as
    turnout writes them there, without the source's defaults and checks (which are in its
    own dialect) unless the source is of the file's engine."""
    if table.origin == scheme:
        return table
    typeless = CanonicalType(Kind.ANY)
    columns = tuple(replace(c, default=None, type=typeless if c.type.kind in _VERBATIM
                            else c.type) for c in table.columns)
    return replace(table, columns=columns, generated=(), checks=())


# restore -----------------------------------------------------------------------------------


def read_manifest(directory: Path) -> dict[str, Any]:
    """The backup's manifest, refused when missing or from a newer turnout."""
    try:
        manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{directory} holds no {MANIFEST}: it is not a finished turnout "
                       "backup") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {directory / MANIFEST}: {exc}") from None
    if manifest.get("format", 0) > FORMAT:
        raise BadInput(f"{directory} was written by a newer turnout (format "
                       f"{manifest.get('format')}): upgrade turnout to restore it")
    return manifest


def restore(dir: str, url: str | None = None, store: Store | None = None,
            tables: list[str] | None = None) -> dict[str, Any]:
    """Put the backup in `dir` back into its task's source, or into `url`.

    Every table backed up (or those in `tables`) is replaced by its backed-up rows. Returns
    the tables with the rows they hold afterwards and those backed up.
    """
    directory = Path(dir).resolve()
    manifest = read_manifest(directory)
    names = _chosen(manifest, tables)
    target = url or _task_source(manifest, store or Store())
    started = time.monotonic()
    dst = engines.connect(target, create=url is not None)
    try:
        if manifest["method"] == "native":
            if manifest["engine"] != dst.scheme:
                raise BadInput(f"this is a {manifest['tool']} backup of {manifest['engine']} and "
                               f"cannot go into {dst.scheme} ({dst.endpoint}): restore it into "
                               f"{manifest['engine']}, or back up again with --tool turnout")
            if dst.dumper is None:
                raise Unsupported(f"{dst.endpoint} cannot restore a dump: restore a turnout "
                                  "backup")
            dst.dumper.restore(manifest.get("native", {}), directory, names)
        else:
            _copy_back(dst, directory / DATA, names, manifest)
        counts = _count(dst, names)
    finally:
        dst.close()
    backed = {t["name"]: t["rows"] for t in manifest["tables"]}
    return {"dir": str(directory), "target": str(dst.endpoint), "method": manifest["method"],
            "tool": manifest["tool"], "seconds": round(time.monotonic() - started, 3),
            "tables": [{"name": n, "rows": counts[n], "backed_up": backed[n]} for n in names]}


def _chosen(manifest: dict[str, Any], tables: list[str] | None) -> list[str]:
    names = [t["name"] for t in manifest["tables"]]
    unknown = sorted(set(tables or ()) - set(names))
    if unknown:
        raise BadInput(f"the backup holds no table {unknown[0]!r}: it holds {', '.join(names)}")
    return [n for n in names if tables is None or n in tables]


def _task_source(manifest: dict[str, Any], store: Store) -> str:
    """The source URL of the task the backup came from, with its password (the manifest's
    is redacted)."""
    try:
        return store.get(manifest["task"]).spec.source
    except NotFound:
        raise BadInput(f"task {manifest['task']!r} no longer exists: say where to restore "
                       "with --to URL") from None


def _count(engine: Engine, names: list[str]) -> dict[str, int]:
    with engine.snapshot() as snap:
        return {t.name: snap.count_rows(t) for t in engine.reflect(names)}


# turnout's own method back: the SQLite file into any engine -------------------------------


def _copy_back(dst: Engine, path: Path, names: list[str], manifest: dict[str, Any]) -> None:
    """Replace the target tables' rows with the file's, a group of whole tables per
    transaction; tables the target lacks are created first, their foreign keys last."""
    box = engines.connect(f"sqlite:///{path}")
    try:
        created = [n for n in names if not dst.table_exists(n)]
        for name in created:
            _create(dst, box.reflect([name])[0], manifest.get("types", {}).get(name, {}))
        pairs = [_pair(box, dst, n) for n in names]
        backed = {t["name"]: int(t["rows"]) for t in manifest["tables"]}
        for group in _groups(pairs, backed):
            batch = Batch(tables={}, position=None)
            for stored, table in group:
                batch.tables[table.name] = _replacement(box, dst, stored, table)
            _apply(dst, batch)
        for _, table in pairs:
            dst.sync_sequences(table)
            if table.name in created:
                dst.create_foreign_keys(table)
    finally:
        box.close()


def _apply(dst: Engine, batch: Batch) -> None:
    """One transaction; a failure names the tables it left untouched."""
    try:
        dst.apply(batch, None)
    except TurnoutError:
        raise
    except Exception as exc:  # noqa: BLE001 - the driver's own error, said in one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OperationFailed(f"restoring {', '.join(batch.tables)} into {dst.endpoint} failed "
                              f"and left them as they were: {reason}") from exc


def _create(dst: Engine, stored: Table, types: dict[str, str]) -> None:
    """Create a table the target lacks, with the source's column types where the manifest
    can say them, and its keys at once (rows are upserted by key)."""
    columns = []
    for column in stored.columns:
        try:
            columns.append(replace(column, type=parse_type(types[column.name])))
        except (KeyError, BadInput):  # an enum, or a table of an SQLite source
            columns.append(column)
    table = replace(stored, columns=tuple(columns))
    dst.create_table(table)
    dst.create_indexes(table)


def _pair(box: Engine, dst: Engine, name: str) -> tuple[Table, Table]:
    """The table as the file holds it and as the target has it, both cut to the columns the
    file holds, in the target's order; the target's tells apply() how to write each value."""
    stored = box.reflect([name])[0]
    table = dst.reflect([name])[0]
    have = set(table.column_names)
    missing = [c for c in stored.column_names if c not in have]
    if missing:
        raise BadInput(f"{dst.endpoint} table {name} has no column {missing[0]!r}, which the "
                       "backup holds: restore into a database with the backup's schema")
    kept = tuple(c for c in table.columns if c.name in set(stored.column_names))
    if not table.key or not set(table.key) <= {c.name for c in kept}:
        raise BadInput(f"{dst.endpoint} table {name} has no key the backup holds: restore "
                       "into a database with the backup's schema")
    stored = replace(stored, columns=tuple(stored.column(c.name) for c in kept))
    return stored, replace(table, columns=kept, origin=box.scheme)


def _groups(pairs: list[tuple[Table, Table]],
            rows: dict[str, int]) -> list[list[tuple[Table, Table]]]:
    """Whole tables, parents before children, packed into transactions of GROUP_ROWS rows."""
    by_name = {table.name: (stored, table) for stored, table in pairs}
    ordered = parents_first([TableBatch(table) for _, table in pairs])
    groups: list[list[tuple[Table, Table]]] = [[]]
    size = 0
    for tb in ordered:
        n = rows.get(tb.table.name, 0)
        if groups[-1] and size + n > GROUP_ROWS:
            groups.append([])
            size = 0
        groups[-1].append(by_name[tb.table.name])
        size += n
    return groups


def _replacement(box: Engine, dst: Engine, stored: Table, table: Table) -> TableBatch:
    """Delete every key the target table holds now; upsert every row backed up."""
    key_at = table.key_positions()
    decode = _decoder(table) if dst.scheme != box.scheme else None
    rows = box.iter_rows(stored, CHUNK_ROWS)
    upserts = {tuple(row[i] for i in key_at): row
               for row in (rows if decode is None else map(decode, rows))}
    keys_only = replace(table, columns=tuple(table.column(c) for c in table.key))
    deletes = set(dst.iter_rows(keys_only, CHUNK_ROWS))
    return TableBatch(table, upserts=upserts, deletes=deletes)


def _decoder(table: Table) -> Callable[[Row], Row] | None:
    """Times as Python values again, for engines that read no ISO text with an offset (MySQL)
    or no str(timedelta); the file holds what turnout's SQLite values module wrote."""
    parsers = [_TIME_PARSERS.get(c.type.kind) for c in table.columns]
    if not any(parsers):
        return None
    return lambda row: tuple(v if p is None or not isinstance(v, str) else p(v)
                             for p, v in zip(parsers, row, strict=True))


def _duration(text: str) -> Any:
    """str(timedelta) of a day or more back into one ('-1 day, 23:00:00', which no engine
    reads); shorter ones ('13:05:00.5') every engine reads as they are."""
    match = _TIMEDELTA.fullmatch(text)
    if not match:
        return text
    days, hours, minutes, seconds = match.groups()
    return timedelta(days=int(days), hours=int(hours), minutes=int(minutes),
                     seconds=float(seconds))


_TIMEDELTA = re.compile(r"(-?\d+) days?, (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_TIME_PARSERS: dict[Kind, Callable[[str], Any]] = {
    Kind.TIMESTAMP: datetime.fromisoformat, Kind.TIMESTAMPTZ: datetime.fromisoformat,
    Kind.TIMETZ: time_of_day.fromisoformat, Kind.TIME: _duration, Kind.INTERVAL: _duration,
}
