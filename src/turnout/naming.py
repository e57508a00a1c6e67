"""How a destination names things, and names that fit it: pure logic, no connections.

Engines differ in three ways that matter when a schema crosses between them:
how long a name may be (PostgreSQL 63 bytes, MySQL 64 characters), whether two
names that differ only in case are one name (MySQL's columns and indexes,
everything in SQLite), and where a name must be unique (an index name is per
table in MySQL but per schema in PostgreSQL and SQLite, where it also shares
the namespace with tables; a foreign key name is per schema in InnoDB and per
table in PostgreSQL). A name the user chose for a table or a column is never
changed behind their back: precheck refuses it with the --rename that fits.
Index and foreign-key names have no option of their own, so they are kept
where legal and otherwise given a deterministic name: the same task always
makes the same names, on every run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Naming:
    """One engine's rules for identifiers."""

    engine: str  # how messages call the engine: "PostgreSQL"
    limit: int | None = None  # longest identifier; None: no limit
    limit_in_bytes: bool = False  # the limit counts UTF-8 bytes, not characters
    fold_tables: bool = False  # table names differing only in case are one name
    fold_columns: bool = False  # likewise for column names (and index names)
    indexes_per_schema: bool = False  # index names share the schema's namespace with tables
    foreign_keys_per_schema: bool = False
    named_foreign_keys: bool = True  # SQLite's foreign keys have no name to keep

    def size(self, name: str) -> int:
        return len(name.encode()) if self.limit_in_bytes else len(name)

    def too_long(self, name: str) -> bool:
        return self.limit is not None and self.size(name) > self.limit

    def unit(self) -> str:
        return "bytes" if self.limit_in_bytes else "characters"


def fold(name: str, folds: bool) -> str:
    return name.lower() if folds else name


def shortened(name: str, naming: Naming) -> str:
    """`name` itself when it fits, else its start and a digest of the whole: two long names
    that share their start still come out different, and the same name always the same."""
    if not naming.too_long(name):
        return name
    assert naming.limit is not None
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    room = naming.limit - len(digest) - 1
    head = name
    while naming.size(head) > room:
        head = head[:-1]
    return f"{head}_{digest}"


@dataclass(frozen=True)
class Owned:
    """A name the source gave an object of one table (an index or a foreign key)."""

    table: str
    name: str


def unique_names(owned: list[Owned], naming: Naming, per_schema: bool,
                 taken: Iterable[str] = ()) -> list[str]:
    """A destination name for each object, in the same order.

    A source name is kept when it fits and no other object in its scope (the
    schema, or its table) wants the same name, nor does a name in `taken` (the
    tables, where indexes share their namespace). Names that clash are all
    prefixed with their table's name, so which one came first does not matter;
    a name that is still too long or still clashes gets a digest.
    """
    folds = naming.fold_columns

    def scope(o: Owned) -> str:
        return "" if per_schema else fold(o.table, naming.fold_tables)

    wanted: dict[tuple[str, str], int] = {}
    for o in owned:
        key = (scope(o), fold(o.name, folds))
        wanted[key] = wanted.get(key, 0) + 1
    reserved = {fold(t, folds) for t in taken}
    chosen: list[str] = []
    used: set[tuple[str, str]] = set()
    for o in owned:
        name = o.name
        if wanted[(scope(o), fold(name, folds))] > 1 or (per_schema and fold(name, folds)
                                                         in reserved):
            name = f"{o.table}_{o.name}"
        name = shortened(name, naming)
        key = (scope(o), fold(name, folds))
        if key in used or (per_schema and key[1] in reserved):
            name = shortened(f"{o.table}_{o.name}_{_digest(o)}", naming)
            key = (scope(o), fold(name, folds))
        used.add(key)
        chosen.append(name)
    return chosen


def _digest(o: Owned) -> str:
    return hashlib.sha1(f"{o.table}\0{o.name}".encode()).hexdigest()[:8]


def clashes(names: list[str], folds: bool) -> list[list[str]]:
    """Groups of two or more names that are one name where case does not count."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(fold(name, folds), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def slot_name(task: str, salt: str = "") -> str:
    """A name for the task's capture objects that any engine accepts as an identifier.

    A task gets a random `salt` when it is created (Store.create_task), so that two stores
    with a task of the same name never share a source's slot; tasks created before that
    have none and keep the name they have on their source."""
    digest = hashlib.sha1(f"{salt}/{task}".encode() if salt else task.encode()).hexdigest()[:6]
    return f"{re.sub(r'[^A-Za-z0-9]', '_', task)[:40]}_{digest}".lower()
