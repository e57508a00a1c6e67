import pytest

from turnout.engines.sqlite.dialect import canonical_type, declared_type
from turnout.errors import BadInput
from turnout.types import CanonicalType, Kind, parse_type


@pytest.mark.parametrize(
    "text",
    ["int64", "varchar(120)", "char(10)", "decimal(10,2)", "decimal", "timestamp(6)",
     "binary", "json", "int64 unsigned", "timestamptz(3)"],
)
def test_written_form_round_trips(text: str) -> None:
    assert str(parse_type(text)) == text


@pytest.mark.parametrize("bad", ["varchar(", "nosuchtype", "int64(3)", ""])
def test_bad_type_text_is_refused(bad: str) -> None:
    with pytest.raises(BadInput):
        parse_type(bad)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", "int64"),
        ("int", "int64"),
        ("BIGINT", "int64"),
        ("SMALLINT", "int16"),
        ("NVARCHAR(160)", "varchar(160)"),
        ("VARCHAR", "text"),
        ("CHAR(120)", "char(120)"),
        ("TEXT", "text"),
        ("CLOB", "text"),
        ("BLOB", "binary"),
        ("", "any"),
        ("REAL", "float64"),
        ("DOUBLE PRECISION", "float64"),
        ("NUMERIC(10,2)", "decimal(10,2)"),
        ("DECIMAL", "decimal"),
        ("DATETIME", "timestamp"),
        ("DATE", "date"),
        ("BOOLEAN", "boolean"),
        ("JSON", "json"),
        ("WHATEVER", "decimal"),  # SQLite gives unknown names NUMERIC affinity
    ],
)
def test_sqlite_declared_types_map_by_affinity_rules(declared: str, expected: str) -> None:
    assert str(canonical_type(declared)) == expected


@pytest.mark.parametrize("kind", list(Kind))
def test_every_canonical_type_renders_for_sqlite_and_maps_back_to_the_same_family(
    kind: Kind,
) -> None:
    ctype = CanonicalType(kind, length=8) if kind in (Kind.CHAR, Kind.VARCHAR) else (
        CanonicalType(kind))
    back = canonical_type(declared_type(ctype))
    if kind is Kind.INT32:
        assert back.is_integer  # SQLite INTEGER is 64-bit; widening is safe
    elif kind is Kind.ENUM:
        assert back.kind is Kind.TEXT  # SQLite keeps the label as text
    elif kind is Kind.GEOMETRY:
        assert back.kind is Kind.BINARY  # never created: precheck refuses it (cast to text)
    elif kind is Kind.FLOAT32:
        assert back.kind is Kind.FLOAT32 or back.kind is Kind.FLOAT64
    else:
        assert back == ctype


def test_enum_written_form_quotes_its_labels() -> None:
    assert str(CanonicalType(Kind.ENUM, values=("a", "it's", "b,c"))) == "enum('a','it''s','b,c')"
