"""Column defaults read from one engine's catalog into portable form and written for another."""

from __future__ import annotations

import pytest

from turnout.engines.mysql import dialect as my
from turnout.engines.postgres import dialect as pg
from turnout.engines.sqlite import dialect as sl
from turnout.model import Default
from turnout.types import CanonicalType, Kind

TEXT, INT = CanonicalType(Kind.TEXT), CanonicalType(Kind.INT32)
BOOL = CanonicalType(Kind.BOOLEAN)


@pytest.mark.parametrize(("expression", "ctype", "expected"), [
    ("'free'", TEXT, Default("free")),
    ("'it''s a\\\\b'", TEXT, Default("it's a\\b")),  # MariaDB doubles backslashes
    ("0", INT, Default("0")),
    ("'0'", BOOL, Default("false")),
    ("1", BOOL, Default("true")),
    ("2", BOOL, None),  # no boolean holds it
    ("-1.5e3", INT, Default("-1.5e3")),
    ("b'101'", INT, Default("5")),
    ("NULL", TEXT, Default()),
    ("current_timestamp()", TEXT, Default(clock="timestamp")),
    ("CURRENT_TIMESTAMP(6)", TEXT, Default(clock="timestamp")),
    ("curdate()", TEXT, Default(clock="date")),
    ("uuid()", TEXT, None),
    ("('x')", TEXT, Default("x")),
    ("'0000-00-00 00:00:00'", CanonicalType(Kind.TIMESTAMP), None),  # no other engine has it
    ("'2024-00-10'", CanonicalType(Kind.DATE), None),
    ("'2024-02-10'", CanonicalType(Kind.DATE), Default("2024-02-10")),
    ("'x'", CanonicalType(Kind.ANY), None),  # geometry and the like: no portable form
])
def test_mysql_defaults(expression: str, ctype: CanonicalType, expected: Default | None) -> None:
    assert my.portable_default(expression, ctype) == expected


@pytest.mark.parametrize(("expression", "ctype", "expected"), [
    ("'free'::character varying", TEXT, Default("free")),
    ("'a::b'::text", TEXT, Default("a::b")),
    ("'back\\slash'::text", TEXT, Default("back\\slash")),  # no escapes in standard strings
    ("'-1'::integer", INT, Default("-1")),
    ("(-1)", INT, Default("-1")),
    ("true", BOOL, Default("true")),
    ("now()", TEXT, Default(clock="timestamp")),
    ("CURRENT_TIMESTAMP", TEXT, Default(clock="timestamp")),
    ("NULL::character varying", TEXT, Default()),
    ("'{}'::jsonb", CanonicalType(Kind.JSON), Default("{}")),
    ("gen_random_uuid()", TEXT, None),
    ("('a'::text || 'b'::text)", TEXT, None),
    ("'\\x00'::bytea", CanonicalType(Kind.BINARY), None),
    ("'infinity'::timestamp with time zone", CanonicalType(Kind.TIMESTAMPTZ), None),
    ("'NaN'::numeric", CanonicalType(Kind.DECIMAL), None),
    ("'{}'::integer[]", CanonicalType(Kind.ANY), None),
])
def test_postgres_defaults(expression: str, ctype: CanonicalType,
                           expected: Default | None) -> None:
    assert pg.portable_default(expression, ctype) == expected


def test_writing_defaults_for_each_engine() -> None:
    stamp6 = CanonicalType(Kind.TIMESTAMP, precision=6)
    stamp0 = CanonicalType(Kind.TIMESTAMP, precision=0)
    aware = CanonicalType(Kind.TIMESTAMPTZ)
    clock = Default(clock="timestamp")
    assert my.default_sql(clock, stamp6, "datetime(6)") == "CURRENT_TIMESTAMP(6)"
    assert my.default_sql(clock, stamp0, "datetime(0)") == "CURRENT_TIMESTAMP"
    assert my.default_sql(clock, aware, "datetime(6)") == "(utc_timestamp(6))"
    assert my.default_sql(Default("a\\'b"), TEXT, "longtext") == "('a\\\\''b')"
    assert my.default_sql(Default("true"), BOOL, "tinyint(1)") == "1"
    assert pg.default_sql(clock, stamp0) == "LOCALTIMESTAMP"
    assert pg.default_sql(clock, aware) == "CURRENT_TIMESTAMP"
    assert pg.default_sql(Default("a\\'b"), TEXT) == "'a\\''b'"
    assert pg.default_sql(Default("ab"), CanonicalType(Kind.BINARY)) == "'\\x6162'"
    assert sl.default_sql(Default("false"), BOOL) == "0"
    assert sl.default_sql(Default(), TEXT) == "NULL"
