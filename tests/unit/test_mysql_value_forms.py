"""MySQL value conversions that need no server: the binlog's own forms and what MySQL takes."""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from turnout.engines.forms import Form, canonical
from turnout.engines.mysql.values import binlog_reader, inet6_text, reader, writer
from turnout.gaps import Gap, gap_of
from turnout.model import Column, JsonText, Spelled, Table, ZeroDate
from turnout.types import CanonicalType, Kind


def table(*columns: tuple[str, Kind, str]) -> Table:
    cols = (Column("id", CanonicalType(Kind.INT32), native_type="int"),
            *(Column(n, CanonicalType(k), native_type=native) for n, k, native in columns))
    return Table("t", cols, primary_key=("id",), origin="mysql")


def test_binlog_json_from_mysql_binary_form_becomes_its_text() -> None:
    t = table(("j", Kind.JSON, "json"))
    read = binlog_reader(t, "refuse")
    assert read((1, {b"a": [1, None, b"x", True]})) == (1, '{"a": [1, null, "x", true]}')
    assert read((1, b"text")) == (1, '"text"')  # a JSON string; MariaDB sends its text as str
    assert read((1, True))[1] == "true" and isinstance(read((1, True))[1], JsonText)
    assert read((1, "null")) == (1, "null")  # MariaDB: the text as stored


def test_a_zero_timestamp_from_the_binlog_is_a_zero_date_kept_as_mysql_spells_it() -> None:
    """MySQL takes the zero date back as it is; other engines refuse it at precheck, and a
    later one stops the task (gaps.py), never a made-up date."""
    t = table(("ts", Kind.TIMESTAMPTZ, "timestamp"), ("d", Kind.TIMESTAMP, "datetime"))
    epoch = dt.datetime(1970, 1, 1)
    zero = binlog_reader(t, "refuse")((7, epoch, None))[1]
    assert isinstance(zero, ZeroDate) and zero.text == "0000-00-00 00:00:00"
    assert gap_of(zero) is Gap.ZERO_TEXT
    assert reader(t, "refuse")((7, "2024-00-10", None))[1] == ZeroDate("2024-00-10")
    assert binlog_reader(t, "null")((7, epoch, epoch)) == (7, None, epoch)  # datetime: a date
    later = dt.datetime(1970, 1, 1, 0, 0, 1)
    assert binlog_reader(t, "refuse")((7, later, None))[1] == later.replace(tzinfo=dt.UTC)
    assert reader(t, "refuse")((7, epoch, None))[1] == epoch.replace(tzinfo=dt.UTC)


def test_fixed_bytes_get_their_zero_bytes_back() -> None:
    t = table(("b", Kind.BINARY, "binary(16)"), ("u", Kind.UUID, "uuid"),
              ("a", Kind.INET, "inet4"), ("a6", Kind.INET, "inet6"))
    read = binlog_reader(t, "refuse")
    row = read((1, "", b"\xa0\xee\xbc\x99\x9c\x0bN\xf8\xbbmk\xb9\xbd8\n", "", b"\x20\x01\x0d\xb8"))
    assert row == (1, bytes(16), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a00", "0.0.0.0", "2001:db8::")


@pytest.mark.parametrize(("text", "printed"), [
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("::1.2.3.4", "::1.2.3.4"), ("::1", "::1"),
    ("::", "::"), ("2001:db8::ff00:42:8329", "2001:db8::ff00:42:8329")])
def test_inet6_text_is_what_mariadb_prints(text: str, printed: str) -> None:
    import ipaddress

    assert inet6_text(ipaddress.IPv6Address(text).packed) == printed


def test_float_reads_as_its_shortest_text_and_writes_as_the_exact_double() -> None:
    t = table(("f", Kind.FLOAT32, "float"), ("j", Kind.JSON, "json"))
    flt_max = struct.unpack("<f", struct.pack("<f", 3.4028234663852886e38))[0]
    read = reader(t, "refuse")
    assert read((1, flt_max, None))[1] == 3.4028235e38
    assert read((1, 1.401298464324817e-45, None))[1] == 1e-45
    write = writer(t)
    assert write((1, 3.4028235e38, JsonText("true"))) == (1, flt_max, "true")
    other = Table("t", t.columns, primary_key=("id",), origin="postgresql")
    assert writer(other)((1, 1.1, True)) == (1, struct.unpack("<f", struct.pack("<f", 1.1))[0],
                                             "true")
    assert writer(other)((1, None, "abc"))[2] == "abc"  # another engine's JSON text as it is


def test_verify_tells_json_null_from_sql_null_and_spells_addresses_alike() -> None:
    assert canonical(JsonText("null"), Form.JSON) == "null"
    assert canonical(None, Form.JSON) is None
    assert canonical("::ffff:1.2.3.4", Form.INET) == canonical("::ffff:102:304", Form.INET)
    assert canonical("10.0.0.1", Form.INET) == canonical("10.0.0.1/32", Form.INET)
    assert canonical("10.0.0.0/8", Form.INET) != canonical("10.0.0.0", Form.INET)


def test_compact_json_drops_only_whitespace_between_tokens() -> None:
    text = JsonText('{"a b": "x \\" y", "c": [1.10, 1e400, "\\\\"] }')
    assert text.compact() == '{"a b":"x \\" y","c":[1.10,1e400,"\\\\"]}'


@pytest.mark.parametrize(("version", "uuid"), [
    ("10.11.19-MariaDB-0+deb12u1", True), ("10.7.1-MariaDB", True), ("10.6.16-MariaDB", False),
    ("11.4.2-MariaDB", True), ("8.0.36", False)])
def test_uuid_columns_get_mariadbs_own_type_where_it_has_one(version: str, uuid: bool) -> None:
    from turnout.engines.mysql.settings import own_types

    assert (own_types(version) == {Kind.UUID: "uuid"}) is uuid


def test_a_postgresql_interval_of_mixed_signs_writes_as_its_duration() -> None:
    """A reverse task writes PostgreSQL's interval text into the MySQL time it came from:
    `-1 days +00:00:01` is -23:59:59, where the text once went to MySQL as it was."""
    t = table(("d", Kind.TIME, "time(6)"))
    pg = Table("t", t.columns, primary_key=("id",), origin="postgresql")
    write = writer(pg)
    for text, duration in (("-1 days +00:00:01", "-23:59:59.000000"),
                           ("1 day -00:00:01", "23:59:59.000000"), ("-2 days", "-48:00:00.000000")):
        assert write((1, Spelled(text)))[1] == duration
