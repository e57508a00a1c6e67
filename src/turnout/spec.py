"""Task definitions: what to move, from where to where, and how.

A spec comes from CLI flags or a TOML file and is validated here, once, so
every later stage can trust it. Every problem is one line naming the fix.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from turnout.alerts import AlertRules
from turnout.endpoint import Endpoint, redact
from turnout.errors import BadInput
from turnout.filters.options import parse_masks, parse_wheres, row_rule
from turnout.filters.rules import RowRule
from turnout.model import Phase, Table
from turnout.types import CanonicalType, parse_type

ALL_TYPES = (Phase.SCHEMA, Phase.FULL, Phase.INCREMENTAL)
_OFF = {"stray_check_s", "max_rows_per_second", "max_bytes_per_second"}  # 0 turns these off
# options that take one of a few words
CHOICES = {"on_truncate": ("apply", "stop"), "on_drop": ("apply", "stop")}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass
class Options:
    """Knobs with defaults that suit most databases."""

    chunk_rows: int = 50_000  # rows per snapshot chunk and per destination transaction
    batch_changes: int = 20_000  # changes per incremental apply transaction at most
    poll_interval: float = 0.2  # seconds between capture polls when the source is idle
    direct_copy: bool = True  # a same-engine destination pulls rows itself (false: row path)
    # while following changes and caught up, verify every so many seconds that the destination
    # holds what the source does: rows written to the destination by someone else (an
    # application still pointed at the old source after switchover) show up. 0: never.
    stray_check_s: float = 0.0
    # a change stream with neither data nor a keep-alive for this long is taken as lost (a
    # network that drops packets without a reset) and reconnected
    stall_timeout_s: float = 30.0
    # a TRUNCATE of a moved table at the source: "apply" empties the destination table in
    # order with the other changes (as PostgreSQL's logical replication does); "stop" stops
    # the task there, after applying everything before it.
    on_truncate: str = "apply"
    # a DROP TABLE of a moved table at the source: "apply" drops the destination table too,
    # in order with the other changes; "stop" holds the task at the DDL barrier (docs/ddl.md)
    on_drop: str = "stop"
    # rows and bytes per second the full step and apply write at most (0: as fast as they
    # go); `turnout task set` changes them while the task runs (migrate/throttle.py)
    max_rows_per_second: float = 0.0
    max_bytes_per_second: float = 0.0
    # Redis: a key whose DUMP payload is bigger than this many bytes is copied as batches
    # of RPUSH/SADD/ZADD/HSET/APPEND under a temporary name and RENAMEd, not in one
    # RESTORE (which the destination refuses past proto-max-bulk-len, 512 MB by default)
    big_key_bytes: int = 64 << 20


@dataclass
class TaskSpec:
    name: str
    source: str
    dest: str
    types: tuple[Phase, ...] = ALL_TYPES
    tables: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    table_renames: dict[str, str] = field(default_factory=dict)
    column_renames: dict[str, dict[str, str]] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    # TABLE -> COLUMN -> canonical type the destination gets instead of the source's
    casts: dict[str, dict[str, str]] = field(default_factory=dict)
    # TABLE -> filter: only the source rows it holds true for are moved (filters/expr.py)
    where: dict[str, str] = field(default_factory=dict)
    # TABLE -> COLUMN -> mask: what the destination holds instead (filters/masks.py)
    masks: dict[str, dict[str, str]] = field(default_factory=dict)
    alerts: AlertRules = field(default_factory=AlertRules)  # [alerts]: webhook, delay (alerts.py)

    def __post_init__(self) -> None:
        validate_name(self.name)
        src, dst = Endpoint.parse(self.source), Endpoint.parse(self.dest)
        if src.url == dst.url:
            raise BadInput("source and destination are the same database: point --dest elsewhere")
        if not self.types:
            raise BadInput("no migration types: pass --types with any of schema,full,incremental")
        ordered = tuple(t for t in ALL_TYPES if t in self.types)
        self.types = ordered
        for pattern in (*self.tables, *self.exclude):
            if not pattern:
                raise BadInput("an empty table pattern: give a name or a glob like 'sales_*'")
        targets = list(self.table_renames.values())
        if len(set(targets)) != len(targets):
            raise BadInput("two tables are renamed to the same name: give each its own --rename")
        for columns in self.casts.values():
            for written in columns.values():
                parse_type(written)  # says what is wrong with a bad type, here and now
        parse_wheres(self.where)  # likewise a filter that does not parse, or an unknown mask
        for table, masked in self.masks.items():
            parse_masks({f"{table}.{column}": mask for column, mask in masked.items()})
        for option, value in asdict(self.options).items():
            if option in CHOICES:
                if value not in CHOICES[option]:
                    raise BadInput(f"option {option} must be one of "
                                   f"{', '.join(CHOICES[option])}, not {value!r}")
            elif not isinstance(value, bool) and (value < 0 or value == 0 and option not in _OFF):
                raise BadInput(f"option {option} must be positive, not {value}")

    def __repr__(self) -> str:  # a traceback or a log line must not show the passwords
        return (f"TaskSpec(name={self.name!r}, source={redact(self.source)!r}, "
                f"dest={redact(self.dest)!r}, types={self.types!r}, tables={self.tables!r})")

    @property
    def source_endpoint(self) -> Endpoint:
        return Endpoint.parse(self.source)

    @property
    def dest_endpoint(self) -> Endpoint:
        return Endpoint.parse(self.dest)

    def narrowing(self) -> Callable[[str], bool] | None:
        """selects(), or None when the task takes everything: a caller that filters names one
        by one (a key-value engine's keys) then has nothing to check."""
        return None if self.tables == ("*",) and not self.exclude else self.selects

    def selects(self, table: str) -> bool:
        """Whether a source table belongs to this task (include patterns, minus excludes)."""
        included = any(fnmatch.fnmatchcase(table, p) for p in self.tables)
        return included and not any(fnmatch.fnmatchcase(table, p) for p in self.exclude)

    def following(self, renamed: dict[str, str]) -> TaskSpec:
        """This task as it goes on after the source renamed some of its tables (`renamed`: the
        name the options know a table by -> its name now): each such table is selected by its
        new name, and its --rename, column renames, casts, filter and masks follow it. A table
        with no --rename of its own keeps its new name on the destination too."""
        if not renamed:
            return self
        def moved(entries: dict[str, Any]) -> dict[str, Any]:
            kept = {k: v for k, v in entries.items() if k not in renamed}
            return kept | {renamed[k]: v for k, v in entries.items() if k in renamed}
        exact = tuple(_exactly(new) for new in renamed.values())
        return replace(self, tables=self.tables + exact,
                       table_renames=moved(self.table_renames),
                       column_renames=moved(self.column_renames), casts=moved(self.casts),
                       where=moved(self.where), masks=moved(self.masks))

    def dest_name(self, table: str) -> str:
        return self.table_renames.get(table, table)

    def dest_columns(self, table: str) -> dict[str, str]:
        return self.column_renames.get(table, {})

    def cast(self, table: str) -> dict[str, CanonicalType]:
        return {c: parse_type(t) for c, t in self.casts.get(table, {}).items()}

    def row_rule(self, table: Table) -> RowRule | None:
        """The source table's filter and masks, None when its rows go as they are."""
        return row_rule(table, self.dest_table(table), self.where.get(table.name),
                        self.masks.get(table.name, {}))

    def dest_table(self, table: Table) -> Table:
        """The source table as the destination will hold it: casts and renames applied,
        references too. Migration plans it and verification compares with it, so both read
        it here. A cast column loses the source's own type name, so even a same-engine
        destination creates the type asked for, and its default's portable form (it was the
        old type's)."""
        casts = self.cast(table.name)
        cast = replace(table, columns=tuple(
            replace(c, type=casts[c.name], native_type="", definition="", portable_default=None)
            if c.name in casts else c
            for c in table.columns)) if casts else table
        renamed = cast.renamed(self.dest_name(table.name), self.dest_columns(table.name))
        if not renamed.foreign_keys:  # (a thousand tables paid for copies of their own)
            return renamed
        fks = tuple(
            replace(
                fk,
                ref_table=self.dest_name(fk.ref_table),
                ref_columns=tuple(self.dest_columns(fk.ref_table).get(c, c)
                                  for c in fk.ref_columns),
            )
            for fk in renamed.foreign_keys
        )
        return replace(renamed, foreign_keys=fks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["types"] = [str(t) for t in self.types]
        data["tables"], data["exclude"] = list(self.tables), list(self.exclude)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadInput(f"unknown task setting {unknown[0]!r}: known ones are {sorted(known)}")
        data = dict(data)
        data["types"] = parse_types(data.get("types", ALL_TYPES))
        data["tables"] = tuple(data.get("tables", ("*",)))
        data["exclude"] = tuple(data.get("exclude", ()))
        options = data.get("options", {})
        option_names = set(Options.__dataclass_fields__)
        if set(options) - option_names:
            bad = sorted(set(options) - option_names)[0]
            raise BadInput(f"unknown option {bad!r}: known ones are {sorted(option_names)}")
        data["options"] = Options(**options)
        data["alerts"] = AlertRules.from_dict(data.get("alerts"))
        return cls(**data)


def _exactly(name: str) -> str:
    """A pattern that selects `name` alone (glob's special characters taken literally)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def validate_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise BadInput(
            f"task name {name!r} is not allowed: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit"
        )


def parse_types(value: str | list[str] | tuple[Any, ...]) -> tuple[Phase, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    phases = []
    for item in items:
        item = str(item).strip().lower()
        if not item:
            continue
        try:
            phases.append(Phase(item))
        except ValueError:
            raise BadInput(
                f"unknown migration type {item!r}: use schema, full, incremental or a comma list"
            ) from None
    return tuple(phases)


def parse_renames(
    items: list[str] | dict[str, str],
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """`OLD=NEW` renames a table, `TABLE.OLD=NEW` a column of that table (split at the last dot)."""
    pairs = list(items.items()) if isinstance(items, dict) else [_split_pair(i) for i in items]
    tables: dict[str, str] = {}
    columns: dict[str, dict[str, str]] = {}
    for old, new in pairs:
        if not old or not new:
            raise BadInput(f"rename {old}={new} is incomplete: write OLD=NEW or TABLE.COLUMN=NEW")
        if "." in old:
            table, column = old.rsplit(".", 1)
            columns.setdefault(table, {})[column] = new
        else:
            tables[old] = new
    return tables, columns


def parse_casts(items: list[str] | dict[str, str]) -> dict[str, dict[str, str]]:
    """`TABLE.COLUMN=TYPE`: the canonical type a destination column gets (last dot splits)."""
    pairs = list(items.items()) if isinstance(items, dict) else [
        _split_pair(i, "cast", "TABLE.COLUMN=TYPE") for i in items]
    casts: dict[str, dict[str, str]] = {}
    for target, written in pairs:
        if "." not in target or not written:
            raise BadInput(f"cast {target}={written} is incomplete: write TABLE.COLUMN=TYPE, "
                           "like orders.total=decimal(12,2)")
        table, column = target.rsplit(".", 1)
        parse_type(written)
        casts.setdefault(table, {})[column] = written
    return casts


def _split_pair(item: str, what: str = "rename", form: str = "OLD=NEW or TABLE.COLUMN=NEW",
                ) -> tuple[str, str]:
    if "=" not in item:
        raise BadInput(f"{what} {item!r} has no '=': write {form}")
    old, new = item.split("=", 1)
    return old.strip(), new.strip()


def spec_from_flags(
    name: str,
    source: str | None,
    dest: str | None,
    tables: list[str],
    exclude: list[str],
    renames: list[str],
    types: str | None,
    casts: list[str] | None = None,
    wheres: list[str] | None = None,
    masks: list[str] | None = None,
) -> TaskSpec:
    if not source or not dest:
        raise BadInput("a task needs --source URL and --dest URL (or --file task.toml)")
    table_renames, column_renames = parse_renames(renames)
    return TaskSpec(
        name=name,
        source=source,
        dest=dest,
        types=parse_types(types) if types else ALL_TYPES,
        tables=tuple(tables) or ("*",),
        exclude=tuple(exclude),
        table_renames=table_renames,
        column_renames=column_renames,
        casts=parse_casts(casts or []),
        where=parse_wheres(wheres or []),
        masks=parse_masks(masks or []),
    )


def spec_from_toml(name: str, path: str | Path) -> TaskSpec:
    """Read a task file: source, dest, types, tables, exclude, [rename], [cast], [where], [mask],
    [options]."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"task file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"task file {path} is not valid TOML: {exc}") from None
    renames = data.pop("rename", {})
    if not isinstance(renames, dict):
        raise BadInput(f"task file {path}: [rename] must be a table of OLD = \"NEW\" lines")
    data["table_renames"], data["column_renames"] = parse_renames(renames)
    casts = data.pop("cast", {})
    if not isinstance(casts, dict):
        raise BadInput(f"task file {path}: [cast] must be a table of \"TABLE.COLUMN\" = \"TYPE\"")
    data["casts"] = parse_casts(casts)
    for section, read in (("where", parse_wheres), ("mask", parse_masks)):
        items = data.pop(section, {})
        if not isinstance(items, dict):
            form = 'TABLE = "EXPR"' if section == "where" else '"TABLE.COLUMN" = "MASK"'
            raise BadInput(f"task file {path}: [{section}] must be a table of {form} lines")
        data["where" if section == "where" else "masks"] = read(items)
    data.setdefault("name", name)
    if data["name"] != name:
        raise BadInput(f"task file {path} names the task {data['name']!r}, not {name!r}")
    return TaskSpec.from_dict(data)
