"""The Redis engine's pure parts: CRC64, LZF, RDB lengths, URLs, stream sizes."""

from __future__ import annotations

import pytest

from turnout.engines.redis import lzf, rdb
from turnout.engines.redis.crc64 import crc64, dump_payload
from turnout.engines.redis.resp import encode
from turnout.engines.redis.url import RedisUrl
from turnout.errors import BadInput, OperationFailed


def test_crc64_jones_check_value() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"56789", crc64(b"1234")) == crc64(b"123456789")


def test_dump_payload_of_a_small_string() -> None:
    # what redis-server 7.0 answers to DUMP after SET k hi
    assert dump_payload(b"\x00\x02hi", 10) == b"\x00\x02hi\n\x00\xafk\x9f\xe8\x8e1\x1b\x14"


def test_lzf_literals_and_back_references() -> None:
    # "abcabcabc": 3 literals, then a back reference of 6 bytes at distance 3
    assert lzf.decompress(b"\x02abc\x80\x02", 9) == b"abcabcabc"
    with pytest.raises(OperationFailed):
        lzf.decompress(b"\x02abc\x80\x02", 10)


def test_rdb_with_one_key_in_two_databases() -> None:
    body = (b"REDIS0010" + b"\xfa\x03ver\x031.0" + b"\xfe\x00" + b"\x00\x01a\x01x"
            + b"\xfe\x01" + b"\xfc" + (1234).to_bytes(8, "little") + b"\x00\xc0\x05\x01y"
            + b"\xff" + b"\x00" * 8)
    found = list(rdb.entries(body))
    assert [(e.db, e.key, e.expire_ms, e.type_name) for e in found] == [
        (0, b"a", 0, "string"), (1, b"5", 1234, "string")]
    assert found[0].payload == dump_payload(b"\x00\x01x", 10)


def test_rdb_cut_short_or_with_a_module_type_is_one_line() -> None:
    with pytest.raises(OperationFailed, match="start the task again"):
        list(rdb.entries(b"REDIS0010\xfe\x00\x00\x01a\x05xy"))
    with pytest.raises(OperationFailed, match="--tables"):
        list(rdb.entries(b"REDIS0010\x07\x01m\x00"))


def test_url_parts_and_the_password_never_shown() -> None:
    url = RedisUrl.parse("redis://app:s3cret@db.example:6380/2")
    assert (url.host, url.port, url.db, url.user, url.password) == (
        "db.example", 6380, 2, "app", "s3cret")
    assert "s3cret" not in str(url) and "s3cret" not in repr(url)
    assert RedisUrl.parse("rediss://h").tls and RedisUrl.parse("redis://h").db is None
    with pytest.raises(BadInput) as bad:
        RedisUrl.parse("redis://app:s3cret@h/x")
    assert "s3cret" not in str(bad.value)
    with pytest.raises(BadInput):
        RedisUrl.parse("postgresql://h/db")


def test_pack_command_writes_what_the_source_streams() -> None:
    # the follower counts the offset by the length of hiredis's packing of each command
    hiredis = pytest.importorskip("hiredis")
    for args in ([b"SET", b"key", b"x" * 300], [b"PING"], [b"HSET", b"h", b"", b"\r\n"]):
        assert hiredis.pack_command(tuple(args)) == encode(*args)


def test_ziplist_elements() -> None:
    # what Redis before 7 wrote for small lists, hashes and sorted sets: "ab", the
    # immediate 5, -2 as one byte, 300 as two, a 70-byte string (14-bit length)
    from turnout.engines.redis.bigkeys import ziplist

    entries = (b"\x00\x02ab" + b"\x04\xf6" + b"\x02\xfe\xfe" + b"\x03\xc0\x2c\x01"
               + b"\x04\x40\x46" + b"y" * 70)
    blob = b"\x00" * 10 + entries + b"\xff"
    assert ziplist(blob) == [b"ab", b"5", b"-2", b"300", b"y" * 70]


def test_tls_settings_in_the_url() -> None:
    url = RedisUrl.parse("rediss://app:pw@h:6380/1?ssl_ca_certs=/c/ca.pem&ssl_cert_reqs=none")
    assert url.tls and dict(url.tls_options) == {"ssl_ca_certs": "/c/ca.pem",
                                                 "ssl_cert_reqs": "none"}
    for bad, says in (("rediss://h?sslmode=require", "ssl_ca_certs"),
                      ("redis://h?ssl_ca_certs=/x", "rediss://"),
                      ("rediss://u:pw@h?ssl_cert_reqs=maybe", "none or required")):
        with pytest.raises(BadInput, match=says) as found:
            RedisUrl.parse(bad)
        assert "pw" not in str(found.value)
