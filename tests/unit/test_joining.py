"""Which tables join a resumed task (migrate/joining.py): those its stream did not know."""

from turnout.checkpoints import LAYOUT
from turnout.migrate.joining import joining, never_created, without_ddl


def test_the_checkpoints_layouts_say_which_tables_the_stream_knew() -> None:
    saved = {"position": "{}", LAYOUT + "acct": "{}", LAYOUT + "new_a": "{}"}
    assert joining(["acct", "new_a", "new_b"], saved, ["acct"]) == ["new_b"]


def test_without_layouts_the_tables_the_task_had_say_it() -> None:
    assert joining(["acct", "new_b"], {"position": "{}"}, ["acct"]) == ["new_b"]


def test_nothing_known_means_nothing_joins() -> None:
    assert joining(["acct", "new_b"], {}, []) == []


def test_the_stops_name_the_table_and_the_ways_on() -> None:
    for stop in (never_created(["new_b", "new_a"], "t"), without_ddl(["new_a"], "t")):
        text = str(stop)
        assert "'new_a'" in text and "--resnapshot" in text and "--exclude new_a" in text
        assert "unexpected" not in text
