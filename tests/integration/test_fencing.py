"""Fencing in the destination: a batch written under an epoch older than the destination's
checkpoint commits nothing, rows and checkpoint alike, on every destination engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.pairs import own_execute, own_rows
from turnout import engines
from turnout.errors import Fenced
from turnout.model import EPOCH_KEY, Checkpoint, write_under


@pytest.mark.parametrize("dest", ["sqlite", "postgresql", "mysql"])
def test_a_stale_epoch_commits_nothing(dest: str, tmp_path: Path,
                                       request: pytest.FixtureRequest) -> None:
    if dest == "sqlite":
        url = f"sqlite:///{tmp_path / 'd.db'}"
        (tmp_path / "d.db").touch()
    else:
        url = request.getfixturevalue("pg_url" if dest == "postgresql" else "mysql_url")
    own_execute(url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20))")
    engine = engines.connect(url)
    try:
        table = engine.reflect(["t"])[0]
        engine.load(table, [(1, "new owner")], Checkpoint("task", {"k": "1"}, epoch=2))
        with pytest.raises(Fenced, match="taken over under epoch 2"):
            engine.load(table, [(2, "old owner")], Checkpoint("task", {"k": "2"}, epoch=1))
        assert own_rows(url, "t", "id, v", "id") == [(1, "new owner")]
        assert engine.read_checkpoint("task") == {"k": "1", EPOCH_KEY: "2"}
        write_under("task", 3)  # what an agent's worker says once: every checkpoint carries it
        try:
            engine.load(table, [(3, "next owner")], Checkpoint("task", {"k": "3"}))
        finally:
            write_under("task", None)
        assert engine.read_checkpoint("task") == {"k": "3", EPOCH_KEY: "3"}
        engine.load(table, [(4, "no agent")], Checkpoint("task", {"k": "4"}))  # unfenced
        assert engine.read_checkpoint("task")[EPOCH_KEY] == "3"
    finally:
        engine.drop_checkpoint("task")
        engine.close()
