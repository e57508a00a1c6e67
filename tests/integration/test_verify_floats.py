"""Verify compares floats exactly, in every direction between the three engines.

Each side hashes a double as its IEEE bits, computed in its own SQL, and a float4 as the
bits of the double it widens to: equal data must hash alike (no row fetched), and a double
one digit off in the 15th significant place, or a float4 one step off, must be reported.
The values include the value matrix's float cells (NaN, infinities, the largest values,
the smallest subnormals, -0) wherever both engines hold them.
"""

from __future__ import annotations

import math
import random
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.integration.matrix.cases import CASES
from turnout import api, engines

ENGINES = ("postgresql", "mysql", "sqlite")
DIRECTIONS = [(a, b) for a in ENGINES for b in ENGINES]
DDL = {
    "postgresql": "CREATE TABLE fl (id int PRIMARY KEY, d double precision, r real)",
    "mysql": "CREATE TABLE fl (id int PRIMARY KEY, d double, r float)",
    "sqlite": "CREATE TABLE fl (id INTEGER PRIMARY KEY, d REAL, r FLOAT4)",
}
_MATRIX = {"postgres": {"float8", "float4", "float8_neg0", "float4_neg0"},
           "mysql": {"double", "float"}, "sqlite": {"real"}}


def _literal(text: str) -> float:
    return float(text.strip("'").replace("Infinity", "inf"))


def _float4(x: float) -> float:
    """`x` rounded to single precision, as the double it widens to."""
    if math.isfinite(x) and abs(x) < 2.0 ** 128 - 2.0 ** 103:
        return float(struct.unpack(">f", struct.pack(">f", x))[0])
    return x


def _next_float4(x: float) -> float:
    bits = struct.unpack(">I", struct.pack(">f", x))[0] + 1
    return float(struct.unpack(">f", struct.pack(">I", bits))[0])


def _doubles() -> list[float]:
    rng = random.Random(20261206)
    fixed = [0.1, 1 / 3, 1e15, 1e-5, 1e22, 123456789012345.67, 2.0 ** 53 + 2, 0.0, -1.5,
             0.30000000000000004, 2.2250738585072014e-308, -5e-324, 1e-310, 2.0 ** -1022,
             2.796820981672412e17]  # PostgreSQL prints the last with one digit more
    matrix = [_literal(v) for engine, slugs in _MATRIX.items() for case in CASES[engine]
              if case.slug in slugs and case.kind != "float4" for v in case.values]
    drawn = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-300, 300) for _ in range(150)]
    drawn += [struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0] for _ in range(150)]
    return fixed + matrix + drawn


def _floats() -> list[float]:
    rng = random.Random(6)
    fixed = [0.1, 1 / 3, 16777217.0, -2.5, 0.0, 1.17549435e-38, 3.4028234663852886e38,
             1.401298464324817e-45]
    matrix = [_literal(v) for engine, slugs in _MATRIX.items() for case in CASES[engine]
              if case.slug in slugs and case.kind == "float4" for v in case.values]
    drawn = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-40, 38) for _ in range(300)]
    return [_float4(x) for x in fixed + matrix + drawn]


def _holds(engine: str, x: float) -> bool:
    """MySQL has no NaN, infinity or -0; SQLite stores NaN as NULL and -0 as 0."""
    negative_zero = x == 0 and math.copysign(1, x) < 0
    if engine == "mysql":
        return math.isfinite(x) and not negative_zero
    if engine == "sqlite":
        return not math.isnan(x) and not negative_zero
    return True


def _rows(pair: tuple[str, str]) -> list[tuple[int, float | None, float | None]]:
    doubles = [x for x in _doubles() if all(_holds(e, x) for e in pair)]
    floats = [x for x in _floats() if all(_holds(e, x) for e in pair)]
    return [(i, doubles[i] if i < len(doubles) else None, floats[i] if i < len(floats) else None)
            for i in range(max(len(doubles), len(floats)))]


def _write(url: str, sql: str, rows: list[tuple[Any, ...]] | None = None) -> None:
    """Run `sql` (with ? marks) once per row, binding the floats as they are; once if no rows."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql) if rows is None else conn.executemany(sql, rows)
        return
    engine = engines.connect(url)
    reader = engine.verify_reader()
    try:
        cur = reader.conn.cursor()
        if rows is None:
            cur.execute(sql)
        else:
            cur.executemany(sql.replace("?", "%s"), rows)
        cur.close()
        if url.startswith("mysql"):
            reader.conn.commit()
    finally:
        reader.close()
        engine.close()


@pytest.fixture()
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A fresh database of each engine of the direction, each holding the same floats."""
    urls: list[str] = []
    for i, kind in enumerate(request.param):
        name = f"fl_{i}_{tmp_path.name[-20:]}".lower()
        if kind == "sqlite":
            urls.append(f"sqlite:///{tmp_path / f'{name}.db'}")
        else:
            server = "pg_server" if kind == "postgresql" else "mariadb_server"
            urls.append(request.getfixturevalue(server).create_database(name))
    rows = _rows(request.param)
    for url, kind in zip(urls, request.param, strict=True):
        _write(url, DDL[kind])
        _write(url, "INSERT INTO fl VALUES (?, ?, ?)", rows)
    return urls[0], urls[1]


def _report(pair: tuple[str, str]) -> dict[str, Any]:
    report = api.verify_urls(pair[0], pair[1], ["fl"])
    return next(t for t in report["tables"] if t["source"] == "fl")


@pytest.mark.parametrize("pair", DIRECTIONS, indirect=True, ids=["-".join(d) for d in DIRECTIONS])
def test_equal_floats_hash_alike_and_a_15th_digit_shows(pair: tuple[str, str]) -> None:
    fl = _report(pair)
    assert fl["different"] == fl["missing"] == fl["extra"] == [], fl
    assert fl["rows_fetched"] == 0, "both engines must spell every float alike"

    _write(pair[1], "UPDATE fl SET d = ? WHERE id = ?", [
        (math.nextafter(0.1, 1), 0),  # the next double: the 17th digit
        (1 / 3 * (1 + 1e-14), 1),  # the 15th significant digit
        (-5e-324 * 2, 11),  # the smallest subnormal, doubled
    ])
    _write(pair[1], "UPDATE fl SET r = ? WHERE id = ?", [
        (_next_float4(1 / 3), 1),  # the next float4 up: 0.33333334 -> 0.33333337
        (_float4(16777218.0), 2),  # 16777216 -> 16777218, six digits alike
    ])
    fl = _report(pair)
    assert sorted(zip(fl["different"], fl["different_columns"], strict=True)) == [
        ([0], ["d"]), ([1], ["d", "r"]), ([2], ["r"]), ([11], ["d"])], fl
    assert fl["missing"] == fl["extra"] == []


CROSS = [(a, b) for a, b in DIRECTIONS if a != b and "postgresql" in (a, b)]


@pytest.mark.parametrize("pair", CROSS, indirect=True, ids=["-".join(d) for d in CROSS])
def test_a_negative_zero_against_zero_is_a_difference(pair: tuple[str, str]) -> None:
    """Only PostgreSQL holds -0: the other engine's 0 in its place is another value."""
    pg = pair[0] if pair[0].startswith("postgres") else pair[1]
    _write(pg, "UPDATE fl SET d = '-0' WHERE id = 7")  # 0.0 in _doubles()
    _write(pg, "UPDATE fl SET r = '-0' WHERE id = 4")  # 0.0 in _floats()
    fl = _report(pair)
    assert sorted(zip(fl["different"], fl["different_columns"], strict=True)) == [
        ([4], ["r"]), ([7], ["d"])], fl
