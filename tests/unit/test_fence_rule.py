"""The fencing rule: only a newer epoch saved in the destination refuses a batch."""

from __future__ import annotations

import pytest

from turnout.errors import Fenced
from turnout.model import EPOCH_KEY, Checkpoint, fenced_off, taken_over


def test_only_a_newer_saved_epoch_fences() -> None:
    assert not fenced_off(None, 1)
    assert not fenced_off("1", 1)
    assert not fenced_off("1", 2)
    assert fenced_off("3", 2)
    assert fenced_off("10", 9)  # compared as numbers, not text


def test_checkpoint_values_carry_the_epoch() -> None:
    assert Checkpoint("t", {"a": "1"}).fenced_values("5") == {"a": "1"}  # no agent: unfenced
    assert Checkpoint("t", {"a": "1"}, epoch=5).fenced_values("5") == {"a": "1", EPOCH_KEY: "5"}
    with pytest.raises(Fenced):
        Checkpoint("t", {"a": "1"}, epoch=4).fenced_values("5")


def test_a_refused_batch_says_who_took_the_task_over() -> None:
    with pytest.raises(Fenced, match=r"^task 't' was taken over under epoch 5 \(this worker's "
                       r"is 4\): the destination refuses its batches, so it stops and writes "
                       r"nothing more$"):
        Checkpoint("t", {"a": "1"}, epoch=4).fenced_values("5")
    only_the_lease = taken_over("t", 5, 4, "store")
    assert "its lease is another agent's, so it stops" in str(only_the_lease)


def test_the_epoch_row_is_what_the_worker_would_save() -> None:
    assert Checkpoint("t", {"a": "1"}, epoch=7).fence_row() == ("t", EPOCH_KEY, "7")
