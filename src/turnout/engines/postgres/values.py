"""PostgreSQL values that Python's types cannot hold, read and written as PostgreSQL spells them.

psycopg refuses `infinity` in a date or timestamp (and in a range's bound), years before 1 or after
9999 and `24:00:00` (DataError, which stopped replication and verify with no
table named), and reads an interval as a timedelta, which makes `1 mon` 30
days and `1 day -1 second` 23:59:59, different values. register() gives a
connection loaders that hand such values over as model.Spelled, holding
PostgreSQL's own text (every interval is one), and a dumper that writes that
text back, so PostgreSQL → PostgreSQL carries them exactly whatever path a
row takes (COPY, the replication stream, verify's fetches and repairs).

Arrays, which psycopg reads into lists, are read as PostgreSQL's own text
literal on the cursors that read rows (load_rows_as_text): another engine
keeps that text, which PostgreSQL reads back as the same array when a reverse
task writes it (a JSON list it could not).
"""

from __future__ import annotations

from typing import Any

from turnout.gaps import Gap
from turnout.model import Spelled
from turnout.types import CanonicalType, Kind

# built-in type oids: date, time, timetz, timestamp, timestamptz, interval
_DATES = {1082: "date", 1083: "time", 1266: "timetz", 1114: "timestamp", 1184: "timestamptz"}
_INTERVAL = 1186
# their arrays: date[], time[], timetz[], timestamp[], timestamptz[], interval[]
_ARRAYS = (1182, 1183, 1270, 1115, 1185, 1187)
# built-in range and multirange types: read as PostgreSQL's text, which is exact on every path
# (psycopg's Range prints `(None, 3)` where PostgreSQL writes `(,3)`, and cannot hold infinity)
_RANGES = (3904, 3906, 3908, 3910, 3912, 3926, 4451, 4532, 4533, 4534, 4535, 4536)


# What every turnout session sets, whatever the database or role sets, so values read as text
# have one form: floats that read back as the same value (extra_float_digits = 0, an old
# client's habit, prints 15 digits and drops the rest) and intervals in the form turnout
# reads and a cast to text writes (`-1 days +00:00:01`, not iso_8601's `P-1DT1S`). The
# replication stream's values are text the walsender prints, under its own settings.
SETTINGS = {"extra_float_digits": "3", "intervalstyle": "postgres"}


def settings_sql() -> str:
    return "; ".join(f"SET {name} = {value}" for name, value in SETTINGS.items())


def settings_options(url: str) -> dict[str, str]:
    """SETTINGS as libpq's `options`, after any the URL gives (a replication connection
    takes no SET before it streams)."""
    from psycopg.conninfo import conninfo_to_dict

    ours = " ".join(f"-c {name}={value}" for name, value in SETTINGS.items())
    given = conninfo_to_dict(url).get("options")
    return {"options": f"{given} {ours}" if given else ours}


def spelled(text: str) -> Spelled:
    """A date or time beyond Python, ranked so infinity sorts last and -infinity first."""
    rank = 1 if text == "infinity" else -1 if text == "-infinity" else 0
    return Spelled(text, rank)


def _holds_spelled(value: Any) -> bool:
    if isinstance(value, list):
        return any(_holds_spelled(v) for v in value)
    return isinstance(value, Spelled)


def register(conn: Any) -> None:
    """Loaders and the dumper for values beyond Python, on this connection only."""
    from psycopg import DataError
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format

    adapters = conn.adapters
    for oid in (*_DATES, _INTERVAL):
        base = adapters.get_loader(oid, Format.TEXT)

        class FarLoader(Loader):
            """psycopg's own loader (a C type, not subclassable) with a way out."""

            inner_class = base

            def __init__(self, oid: int, context: Any = None) -> None:
                super().__init__(oid, context)
                self.inner = self.inner_class(oid, context).load  # bound once: a fetch of
                # a million dates calls it a million times

            def load(self, data: Any) -> Any:
                try:
                    return self.inner(data)
                except DataError:
                    return spelled(bytes(data).decode())

        class FarIntervalLoader(FarLoader):
            def load(self, data: Any) -> Spelled:
                # a timedelta would make `1 mon` 30 days and `1 day -1 second` 23:59:59
                return Spelled(bytes(data).decode())

        adapters.register_loader(oid, FarIntervalLoader if oid == _INTERVAL else FarLoader)

    for oid in _ARRAYS:  # after the elements' loaders, which psycopg's array loader then uses
        base = adapters.get_loader(oid, Format.TEXT)

        class FarArrayLoader(Loader):
            """An array holding a value beyond Python, whole in PostgreSQL's text: psycopg
            cannot write back a list of mixed types (a Spelled beside a datetime)."""

            inner_class = base

            def __init__(self, oid: int, context: Any = None) -> None:
                super().__init__(oid, context)
                self.inner = self.inner_class(oid, context)

            def load(self, data: Any) -> Any:
                value = self.inner.load(data)
                return Spelled(bytes(data).decode()) if _holds_spelled(value) else value

        adapters.register_loader(oid, FarArrayLoader)

    class SpelledLoader(Loader):
        def load(self, data: Any) -> Spelled:
            return Spelled(bytes(data).decode())

    class SpelledDumper(Dumper):
        """The text as written: the column's type reads it (oid 0 leaves the type open)."""

        oid = 0

        def dump(self, obj: Spelled) -> bytes:
            return obj.text.encode()

    adapters.register_dumper(Spelled, SpelledDumper)
    for oid in _RANGES:
        adapters.register_loader(oid, SpelledLoader)


def load_rows_as_text(context: Any) -> None:
    """Arrays of the built-in types as their text, on `context` (a cursor): rows keep
    PostgreSQL's spelling, while turnout's own catalog queries on the connection still get
    their arrays as lists. Arrays of user types have no loader in psycopg and arrive as
    text already."""
    from psycopg.adapt import Loader

    class TextLoader(Loader):
        def load(self, data: Any) -> str:
            return bytes(data).decode()

    for info in context.adapters.types:
        if info.array_oid:
            context.adapters.register_loader(info.array_oid, TextLoader)


_TIMES = (Kind.DATE, Kind.TIME, Kind.TIMETZ, Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.INTERVAL)
_NUMBERS = (Kind.FLOAT32, Kind.FLOAT64, Kind.DECIMAL)


def gaps_held(ctype: CanonicalType) -> frozenset[Gap]:
    if ctype.kind in _TIMES:
        return frozenset({Gap.SPELLED})
    if ctype.kind in (Kind.FLOAT32, Kind.FLOAT64):
        return frozenset({Gap.NAN, Gap.INFINITE, Gap.NEG_ZERO})
    if ctype.kind in _NUMBERS:
        return frozenset({Gap.NAN, Gap.INFINITE})
    return frozenset()


def gaps_refused(ctype: CanonicalType) -> frozenset[Gap]:
    """A time of day stops at 24:00:00: a longer MySQL duration needs an interval; text
    cannot hold a NUL character, nor jsonb a \u0000; no date type holds MySQL's zero date; a
    typed column takes only its type's values (SQLite's columns hold any)."""
    if ctype.kind in (Kind.TIME, Kind.TIMETZ):
        return frozenset({Gap.LONG_TIME, Gap.ZERO_TEXT, Gap.MIXED, Gap.BLOB})
    if ctype.is_text or ctype.kind in (Kind.ANY, Kind.ENUM):
        return frozenset({Gap.NUL, Gap.BLOB})
    if ctype.kind is Kind.BINARY:
        return frozenset({Gap.MIXED})
    if ctype.kind is Kind.JSON:  # turnout makes jsonb, which refuses \u0000
        return frozenset({Gap.ZERO_TEXT, Gap.MIXED, Gap.BLOB, Gap.JSON_NUL})
    if ctype.kind in (Kind.FLOAT32, Kind.FLOAT64):
        return frozenset({Gap.ZERO_TEXT, Gap.MIXED, Gap.BLOB})
    return frozenset({Gap.ZERO_TEXT, Gap.MIXED, Gap.BLOB, Gap.NEG_ZERO})  # numeric has no -0


def gap_test(column_sql: str, kind: Kind, gap: Gap, server_version: int) -> str | None:
    """SQL true for a value of `gap` in a column of `kind` (None: this server holds none)."""
    c = column_sql
    if gap is Gap.SPELLED:
        if kind in (Kind.TIME, Kind.TIMETZ):
            return f"({c})::time = '24:00:00'"
        if kind is Kind.INTERVAL:
            return f"(extract(year FROM {c}) <> 0 OR extract(month FROM {c}) <> 0)"
        return f"NOT ({c} >= '0001-01-01' AND {c} < '10000-01-01')"
    if gap is Gap.NAN:
        return f"{c} = 'NaN'"
    if gap is Gap.NEG_ZERO:  # -0 = 0 holds: only the text tells the sign
        return f"({c} = 0 AND ({c})::text = '-0')"
    if kind is Kind.DECIMAL and server_version < 140000:
        return None  # numeric infinity came with PostgreSQL 14
    return f"{c} IN ('Infinity', '-Infinity')"
