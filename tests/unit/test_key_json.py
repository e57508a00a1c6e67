"""Keys saved in checkpoints come back as values of the same types."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from turnout.model import key_from_json, key_to_json


def test_every_key_type_survives_the_round_trip() -> None:
    key = (dt.datetime(2024, 2, 29, 10, 0, 0, 123456), dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
           dt.date(1970, 1, 1), dt.time(23, 59, 59, 999999),
           dt.time(12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
           dt.timedelta(days=-35, seconds=5, microseconds=7), Decimal("1.50"), Decimal("-0.01"),
           uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), b"\x00", b"", 7, "x", None, 0.5)
    back = key_from_json(key_to_json(key))
    assert back == key
    assert [type(v) for v in back] == [type(v) for v in key]
    assert str(back[6]) == "1.50"


def test_keys_saved_before_typed_values_still_read() -> None:
    assert key_from_json('[{"$hex": "00ff"}, 3, "a"]') == (b"\x00\xff", 3, "a")
