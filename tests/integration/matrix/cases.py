"""Types and edge values per source engine, spelled as that engine's SQL literals.

Each case is one table `m_<slug> (id integer primary key, v <type>)` holding one row per
edge value plus a NULL row. The values are the limits of each type's domain (min, max, zero,
empty, precision limits, special floats, non-BMP text, JSON scalars and `null`, all-zero bytes,
trailing spaces), many taken from other projects' type fixtures (PostgreSQL's regression
tests, Debezium's and pgloader's MySQL type schemas) rather than written from scratch.

`kind` tells the comparison how the value is meant (JSON text, single-precision float, bit
string, CHAR padding); it does not change what is migrated.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    slug: str
    ddl: str  # the column's type in the source engine
    values: tuple[str, ...]  # literals, one row each
    kind: str = ""  # comparison hint: json, float4, bit, char, set, geometry
    setup: tuple[str, ...] = field(default=())  # statements that must run first (CREATE TYPE)

    @property
    def table(self) -> str:
        return f"m_{self.slug}"


def _c(slug: str, ddl: str, *values: str, kind: str = "", setup: tuple[str, ...] = ()) -> Case:
    return Case(slug, ddl, tuple(values), kind, setup)


SQLITE = [
    _c("integer", "INTEGER", "-9223372036854775808", "9223372036854775807", "0"),
    _c("real", "REAL", "1.7976931348623157e308", "-2.2250738585072014e-308", "5e-324", "0.0",
       "-1.5", "-0.0"),  # REAL affinity stores -0.0 as 0: the source already holds 0
    _c("text", "TEXT", "''", "' padded  '", "'é😀'", "'it''s \\ back'", "'line\nbreak'"),
    _c("blob", "BLOB", "x''", "x'00'", "x'0000'", "x'00ff10'"),
    _c("numeric", "NUMERIC(10,2)", "0", "12345678.99", "-0.01"),
    _c("boolean", "BOOLEAN", "0", "1"),
    _c("date", "DATE", "'2024-02-29'", "'0001-01-01'", "'9999-12-31'"),
    _c("datetime", "DATETIME", "'2024-02-29 23:59:59'", "'0001-01-01 00:00:00'",
       "'9999-12-31 23:59:59.999999'"),
    _c("varchar", "VARCHAR(20)", "''", "'abc'", "'trailing  '"),
    _c("json", "JSON", "'null'", "'true'", "'0'", "'\"s\"'", "'[]'", "'{\"a\": [1, 2.5, null]}'",
       kind="json"),
    # SQLite's affinity lets a column hold values its declared type does not name
    _c("int_text", "INTEGER", "1", "'not a number'"),
    _c("untyped", "", "1", "'one'", "x'01'", "1.5", "-0.0"),  # -0.0 stays -0.0 only here
]

POSTGRES = [
    _c("int2", "smallint", "-32768", "32767", "0"),
    _c("int4", "integer", "-2147483648", "2147483647"),
    _c("int8", "bigint", "-9223372036854775808", "9223372036854775807"),
    _c("numeric", "numeric", "0", "-1.5", "'NaN'", "0.000000000000000000001",
       "123456789012345678901234567890.123456789"),
    _c("numeric_10_2", "numeric(10,2)", "0", "99999999.99", "-99999999.99"),
    _c("float4", "real", "'NaN'", "'Infinity'", "'-Infinity'", "3.4028235e38", "1.4e-45",
       "'-0'", kind="float4"),
    _c("float8", "double precision", "'NaN'", "'Infinity'", "'-Infinity'",
       "1.7976931348623157e308", "5e-324", "'-0'"),
    _c("bool", "boolean", "true", "false"),
    _c("text", "text", "''", "' padded  '", "'é😀'", "'it''s \\ back'"),
    _c("varchar", "varchar(10)", "''", "'0123456789'"),
    _c("char", "char(5)", "'a'", "''", kind="char"),
    _c("bytea", "bytea", "'\\x'", "'\\x00'", "'\\x0000ff'"),
    _c("date", "date", "'2024-02-29'", "'0001-01-01'", "'9999-12-31'", "'infinity'",
       "'-infinity'", "'4713-01-01 BC'"),
    _c("timestamp", "timestamp", "'2024-02-29 23:59:59.999999'", "'0001-01-01 00:00:00'",
       "'infinity'", "'-infinity'"),
    _c("timestamp0", "timestamp(0)", "'2024-02-29 23:59:59'"),
    _c("timestamptz", "timestamptz", "'2024-02-29 23:59:59.999999+00'",
       "'2000-01-01 00:00:00+14'", "'infinity'"),
    _c("time", "time", "'00:00'", "'23:59:59.999999'", "'24:00:00'"),
    _c("timetz", "timetz", "'00:00+1459'", "'12:00-03'"),
    _c("interval", "interval", "'1 mon'", "'1 day -1 second'", "'-178000000 years'",
       "'-1 day 00:00:01'", "'-00:00:05'", "'-1 mon 2 days -03:00:00'", "'-2 days'",
       "'1 year -2 mons +3 days -00:00:00.5'"),  # printed `-1 days +00:00:01`, ...
    _c("uuid", "uuid", "'00000000-0000-0000-0000-000000000000'",
       "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
    _c("json", "json", "'null'", "'true'", "'\"s\"'", "'{\"b\": 1, \"a\": 2}'", kind="json"),
    _c("jsonb", "jsonb", "'null'", "'false'", "'0'", "'[1, \"x\", null]'",
       "'{\"a\": {\"b\": []}}'", "'1.000000000000000000001'", kind="json"),
    _c("int_array", "integer[]", "'{}'", "'{1,NULL,3}'", "'{{1,2},{3,4}}'"),
    _c("text_array", "text[]", "'{\"a,b\",\"q\\\"\",NULL}'"),
    # -0 apart from NaN and infinity, which most destinations refuse for the whole column
    _c("float4_neg0", "real", "'-0'", "0", kind="float4"),
    _c("float8_neg0", "double precision", "'-0'", "0"),
    _c("float8_array", "double precision[]", "'{-0,0,1.5}'", "'{-0}'"),
    _c("float4_array", "real[]", "'{-0,0.5}'"),
    _c("bytea_array", "bytea[]", "ARRAY['\\x00'::bytea, '\\xff'::bytea]"),
    _c("int4range", "int4range", "'empty'", "'[1,10)'", "'(,5)'", "'(,)'"),
    _c("tsrange", "tsrange", "'[-infinity,infinity]'", "'[2024-01-01,)'"),
    _c("enum", "mood", "'sad'", "'happy'", setup=("CREATE TYPE mood AS ENUM ('sad', 'happy')",)),
    _c("domain", "posint", "1", "2147483647",
       setup=("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)",)),
    _c("money", "money", "'12.34'", "'-0.01'"),
    _c("inet", "inet", "'192.168.0.1'", "'::1'", "'10.0.0.0/8'"),
    _c("bit8", "bit(8)", "B'00000000'", "B'10000001'", kind="bit"),
    _c("varbit", "bit varying(16)", "B''", "B'1'", kind="bit"),
]

MYSQL = [
    _c("tinyint", "tinyint", "-128", "127", "0"),
    _c("tinyint_u", "tinyint unsigned", "0", "255"),
    _c("bool", "tinyint(1)", "0", "1"),
    _c("smallint", "smallint", "-32768", "32767"),
    _c("mediumint_u", "mediumint unsigned", "16777215"),
    _c("int", "int", "-2147483648", "2147483647"),
    _c("int_u", "int unsigned", "4294967295"),
    _c("bigint", "bigint", "-9223372036854775808", "9223372036854775807"),
    _c("bigint_u", "bigint unsigned", "0", "18446744073709551615"),
    _c("zerofill", "int(5) zerofill", "5", "123456"),
    _c("decimal", "decimal(10,2)", "0", "99999999.99", "-99999999.99"),
    _c("decimal65", "decimal(65,30)", "9" * 35 + "." + "9" * 30, "-0." + "0" * 29 + "1"),
    _c("float", "float", "0", "-1.5", "3.40282e38", "1.17549e-38", kind="float4"),
    _c("double", "double", "1.7976931348623157e308", "2.2250738585072014e-308", "-0.5",
       "-0e0"),  # MariaDB stores -0 as 0 (every path): the source already holds 0
    _c("bit1", "bit(1)", "b'0'", "b'1'", kind="bit"),
    _c("bit64", "bit(64)", "b'0'", "0xFFFFFFFFFFFFFFFF", "0x8000000000000000", kind="bit"),
    _c("char", "char(10)", "''", "'a'", "'é'", kind="char"),
    _c("varchar", "varchar(255)", "''", "' padded  '", "'é😀'", "'it''s \\\\ back'",
       "'zero\\0byte'"),
    _c("text", "text", "''", "REPEAT('x', 65535)"),
    _c("binary16", "binary(16)", "X'00000000000000000000000000000000'",
       "X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'", "X'01'"),
    _c("varbinary", "varbinary(20)", "X''", "X'00'", "X'0000'"),
    _c("blob", "blob", "X''", "X'00FF'"),
    _c("date", "date", "'1000-01-01'", "'9999-12-31'", "'2024-02-29'"),
    _c("datetime", "datetime", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59'"),
    _c("datetime6", "datetime(6)", "'9999-12-31 23:59:59.999999'",
       "'2024-01-01 00:00:00.000001'"),
    _c("timestamp", "timestamp NULL", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'"),
    _c("timestamp6", "timestamp(6) NULL", "'2038-01-19 03:14:07.999999'"),
    _c("time", "time", "'00:00:00'", "'23:59:59'", "'-00:00:01'"),
    _c("time6", "time(6)", "'23:59:59.999999'"),
    _c("time_long", "time", "'838:59:59'", "'-838:59:59'"),
    _c("year", "year", "1901", "2155", "0"),
    _c("enum", "enum('a','b','')", "'a'", "''", "'b'"),
    _c("set", "set('x','y','z')", "''", "'x,z'", kind="set"),
    _c("json", "json", "'null'", "'true'", "'false'", "'0'", "'\"str\"'", "'[]'",
       "'{\"a\": [1, 2.5, null]}'", "'\"😀\"'", kind="json"),
    _c("uuid", "uuid", "'00000000-0000-0000-0000-000000000000'",
       "'ffffffff-ffff-ffff-ffff-ffffffffffff'"),
    _c("inet4", "inet4", "'0.0.0.0'", "'255.255.255.255'"),
    _c("inet6", "inet6", "'::'", "'::1'", "'ffff::1'"),
    _c("gbk", "varchar(20) CHARACTER SET gbk", "'中文é'"),
    _c("latin1", "varchar(20) CHARACTER SET latin1", "'é'", "'trailing  '"),
    _c("geometry", "point", "ST_GeomFromText('POINT(1 2)')", kind="geometry"),
]

# Zero dates need sql_mode='' to be written at all; a separate table keeps them apart from
# the dates every engine can hold.
MYSQL_ZERO = [
    _c("zero_date", "date", "'0000-00-00'"),
    _c("zero_datetime", "datetime", "'0000-00-00 00:00:00'"),
    _c("zero_timestamp", "timestamp NULL", "'0000-00-00 00:00:00'"),
]

CASES = {"sqlite": SQLITE, "postgres": POSTGRES, "mysql": MYSQL + MYSQL_ZERO}
