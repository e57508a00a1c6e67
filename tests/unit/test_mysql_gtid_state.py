"""The MariaDB GTID bookkeeping of MySQL capture (turnout.engines.mysql.positions), and how
positions that carry a GTID state compare and round-trip through JSON."""

from __future__ import annotations

import json

import pytest

from turnout.engines import position_from_json
from turnout.engines.mysql.positions import Gtid, GtidState, MysqlPosition, parse_state, tracked


def test_a_state_reads_and_writes_like_gtid_binlog_pos() -> None:
    assert str(GtidState("1-2-7,0-1-42")) == "0-1-42,1-2-7"  # by domain, like the server
    assert str(GtidState(" 0-1-42 ")) == "0-1-42"
    assert str(GtidState(None)) == str(GtidState("")) == ""
    assert parse_state("0-1-42,1-2-7") == {0: Gtid(0, 1, 42), 1: Gtid(1, 2, 7)}


@pytest.mark.parametrize("text", ["0-1", "a-b-c", "0-1-2-3", "3E11FA47-71CA-11E1:1-5",
                                  "0-1-5,0-2-6"])
def test_malformed_states_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(ValueError):
        GtidState(text)
    assert tracked(text) is None  # capture then stores no GTID rather than a wrong one


def test_the_state_moves_only_when_a_transaction_ends() -> None:
    state = GtidState("0-1-10")
    state.begin("0-1-11")
    assert str(state) == "0-1-10"  # a piece of transaction 11 still names the state before it
    assert state.commit() == "0-1-11"
    state.begin("1-5-3")  # a new domain joins
    assert state.commit() == "0-1-11,1-5-3"
    state.begin("0-2-12")  # a failed-over primary continues the domain with its server id
    assert state.commit() == "0-2-12,1-5-3"


def test_a_transaction_read_before_leaves_the_state() -> None:
    state = GtidState("0-1-20")
    state.begin("0-1-19")  # replayed after a reconnect
    state.discard()
    assert state.commit() == "0-1-20"


def test_an_empty_start_gives_no_state_until_a_commit() -> None:
    state = GtidState(None)
    assert state.commit() is None
    state.begin("0-1-1")
    assert state.commit() == "0-1-1"


def test_positions_compare_by_file_and_offset_and_keep_the_gtid_in_json() -> None:
    a = MysqlPosition("binlog.000002", 400, "0-1-9")
    assert a == MysqlPosition("binlog.000002", 400) == MysqlPosition("binlog.000002", 400, "0-1-3")
    assert hash(a) == hash(MysqlPosition("binlog.000002", 400))
    assert MysqlPosition("binlog.000001", 900, "0-1-10") < a < MysqlPosition("binlog.000010", 4)
    stored = a.to_json()
    assert json.loads(stored)["gtid"] == "0-1-9"
    back = position_from_json(stored)
    assert isinstance(back, MysqlPosition) and back.gtid == "0-1-9" and back == a
    assert "gtid" not in json.loads(MysqlPosition("binlog.000002", 400).to_json())
