from pathlib import Path

import pytest

from turnout.errors import BadInput
from turnout.model import Phase
from turnout.spec import TaskSpec, spec_from_flags, spec_from_toml

SRC, DST = "sqlite:///a.db", "sqlite:///b.db"


def test_flags_make_a_spec_with_renames_and_types() -> None:
    spec = spec_from_flags(
        "t1", SRC, DST, ["Album", "Art*"], ["Artist"], ["Album=Record", "Album.Title=Name"],
        "full,schema",
    )
    assert spec.types == (Phase.SCHEMA, Phase.FULL)  # always in migration order
    assert spec.selects("Album") and spec.selects("Artwork") and not spec.selects("Artist")
    assert spec.dest_name("Album") == "Record"
    assert spec.dest_columns("Album") == {"Title": "Name"}


def test_spec_survives_its_json_form() -> None:
    spec = spec_from_flags("t1", SRC, DST, [], [], ["a=b"], None)
    assert TaskSpec.from_dict(spec.to_dict()) == spec


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "task.toml"
    path.write_text(
        f'source = "{SRC}"\ndest = "{DST}"\ntypes = ["schema", "full"]\n'
        'tables = ["Album"]\n[rename]\nAlbum = "Record"\n"Album.Title" = "Name"\n'
        "[options]\nchunk_rows = 10\n"
    )
    spec = spec_from_toml("t1", path)
    assert spec.table_renames == {"Album": "Record"}
    assert spec.column_renames == {"Album": {"Title": "Name"}}
    assert spec.options.chunk_rows == 10
    assert spec.types == (Phase.SCHEMA, Phase.FULL)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(types="schema,fulll"), "unknown migration type 'fulll'"),
        (dict(dest=SRC), "same database"),
        (dict(source="oracle://x/y"), "unknown URL scheme 'oracle'"),
        (dict(source="a.db"), "is not a database URL"),
        (dict(renames=["nothing"]), "has no '='"),
        (dict(renames=["a=x", "b=x"]), "renamed to the same name"),
        (dict(name="bad name!"), "task name"),
        (dict(source=None), "needs --source"),
        (dict(types=","), "no migration types"),
        (dict(casts=["t.c"]), "has no '='"),
        (dict(casts=["c=text"]), "write TABLE.COLUMN=TYPE"),
        (dict(casts=["t.c=numberish(3)"]), "numberish"),
    ],
)
def test_invalid_definitions_get_one_clear_line(kwargs: dict, message: str) -> None:
    args = dict(name="t1", source=SRC, dest=DST, tables=[], exclude=[], renames=[], types=None)
    args.update(kwargs)
    with pytest.raises(BadInput) as info:
        spec_from_flags(**args)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_casts_from_flags_and_toml(tmp_path: Path) -> None:
    spec = spec_from_flags("t1", SRC, DST, [], [], [], None,
                           ["s.orders.total=decimal(12,2)", "t.d=text"])
    assert spec.casts == {"s.orders": {"total": "decimal(12,2)"}, "t": {"d": "text"}}
    assert str(spec.cast("s.orders")["total"]) == "decimal(12,2)"
    assert TaskSpec.from_dict(spec.to_dict()) == spec
    path = tmp_path / "task.toml"
    path.write_text(f'source = "{SRC}"\ndest = "{DST}"\n[cast]\n"t.d" = "text"\n')
    assert spec_from_toml("t1", path).casts == {"t": {"d": "text"}}


def test_toml_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        spec_from_toml("t1", tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("source = \n")
    with pytest.raises(BadInput, match="not valid TOML"):
        spec_from_toml("t1", bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(f'source = "{SRC}"\ndest = "{DST}"\ncolour = "blue"\n')
    with pytest.raises(BadInput, match="unknown task setting 'colour'"):
        spec_from_toml("t1", unknown)


def test_on_truncate_takes_apply_or_stop(tmp_path: Path) -> None:
    assert spec_from_flags("t1", SRC, DST, [], [], [], None).options.on_truncate == "apply"
    path = tmp_path / "task.toml"
    path.write_text(f'source = "{SRC}"\ndest = "{DST}"\n[options]\non_truncate = "stop"\n')
    spec = spec_from_toml("t1", path)
    assert spec.options.on_truncate == "stop"
    assert TaskSpec.from_dict(spec.to_dict()) == spec
    path.write_text(f'source = "{SRC}"\ndest = "{DST}"\n[options]\non_truncate = "skip"\n')
    with pytest.raises(BadInput, match="on_truncate must be one of apply, stop, not 'skip'"):
        spec_from_toml("t1", path)


def test_following_a_renamed_table_moves_its_options_to_the_new_name() -> None:
    spec = TaskSpec("t", "sqlite:///a.db", "sqlite:///b.db", tables=("acct", "sales_*"),
                    table_renames={"acct": "accounts"},
                    column_renames={"acct": {"name": "label"}},
                    casts={"acct": {"amount": "text"}}, where={"acct": "n > 0"},
                    masks={"acct": {"label": "null"}})
    moved = spec.following({"acct": "acct[2]*"})
    assert moved.selects("acct[2]*") and not moved.selects("acct[2]x")
    assert moved.dest_name("acct[2]*") == "accounts"
    assert moved.dest_columns("acct[2]*") == {"name": "label"}
    assert set(moved.casts) == set(moved.where) == set(moved.masks) == {"acct[2]*"}
    assert moved.selects("sales_1") and spec.following({}) is spec
    plain = TaskSpec("t", "sqlite:///a.db", "sqlite:///b.db").following({"acct": "acct2"})
    assert plain.dest_name("acct2") == "acct2"
