"""turnout as a replica of the source: the replication handshake, the RDB, the command stream.

The source sees an ordinary replica (REPLCONF listening-port, REPLCONF capa eof
psync2, PSYNC); what it sends is an RDB (length-prefixed, or EOF-marked when the
sync is diskless), then every write as a RESP array. The position is the source's
replication offset: the bytes of the stream consumed so far, which a later PSYNC
names to continue from the byte after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from turnout.engines.redis import rdb
from turnout.engines.redis.resp import Connection, encode
from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed


@dataclass(frozen=True)
class Sync:
    """The source's answer to PSYNC: a full sync from (replid, offset), or a continuation."""

    full: bool
    replid: str
    offset: int


def _ends_with(chunks: list[bytes], mark: bytes) -> bool:
    """Whether the bytes of `chunks` end with `mark` (which may span the last two)."""
    tail = b"".join(chunks[-2:]) if chunks and len(chunks[-1]) < len(mark) else \
        chunks[-1] if chunks else b""
    return tail.endswith(mark)


class Replica:
    """One replication connection to the source."""

    def __init__(self, url: RedisUrl, timeout_s: float = 60.0) -> None:
        self.url = url
        self.conn = Connection(url, "turnout-replica", timeout_s)
        self._reader: object | None = None
        for capa in (("listening-port", "0"), ("capa", "eof", "capa", "psync2")):
            try:
                self.conn.expect_ok("REPLCONF", *capa)
            except OperationFailed as exc:
                raise OperationFailed(f"{exc} (the account needs +psync +replconf, or the "
                                      "default user's rights)") from None

    @property
    def buf(self) -> bytearray:
        return self.conn.buf

    def psync(self, replid: str = "?", offset: int = -1) -> Sync:
        """Ask for the stream from `offset` of `replid` (or "?" -1: a full sync)."""
        self.conn.send(encode("PSYNC", replid, offset))
        line = self.conn.line().decode(errors="replace")
        words = line.split()
        if line.startswith("+FULLRESYNC") and len(words) == 3:
            return Sync(True, words[1], int(words[2]))
        if line.startswith("+CONTINUE"):
            return Sync(False, words[1] if len(words) > 1 else replid, offset - 1)
        raise OperationFailed(f"the source {self.url} refused PSYNC: {line[1:]}")

    def rdb_entries(self) -> Iterator[rdb.Entry]:
        """The keys of the RDB that follows +FULLRESYNC, read from the link as they are
        cut (the RDB is never held whole); what follows it stays for commands()."""
        conn = self.conn
        conn.sock.settimeout(None)  # a big dataset can take a while to start arriving
        head = conn.line()
        if not head.startswith(b"$"):
            raise OperationFailed(f"the source {self.url} sent {head[:40]!r} instead of an RDB")
        mark = head[5:] if head.startswith(b"$EOF:") else b""
        left = -1 if mark else int(head[1:])  # bytes of a sized RDB still to come

        def feed(size: int) -> bytes:
            """About `size` more bytes of the RDB (fewer at its end): a big key that needs
            many more is not parsed again after every read."""
            nonlocal left
            if conn.buf:
                got, have = [bytes(conn.buf)], len(conn.buf)
                conn.buf.clear()
            else:
                got, have = [], 0
            # an EOF-marked RDB: nothing follows the mark before our ACK, so a mark at the
            # end of what came is the end of the RDB
            while have < size and left != 0 and not (mark and _ends_with(got, mark)):
                got.append(conn.recv())
                have += len(got[-1])
            data = b"".join(got)
            if left >= 0:
                data, rest = data[:left], data[left:]
                conn.buf += rest
                left -= len(data)
            return data

        tail: list[bytes] = []
        yield from rdb.entries_from(feed, tail)
        rest = b"".join(tail)
        if not mark:
            if rest or left > 0:
                raise OperationFailed(f"the source {self.url} sent an RDB longer than it "
                                      "said: start the task again")
            return
        conn.buf[:0] = rest
        while len(conn.buf) < len(mark):
            conn.buf += conn.recv()
        if bytes(conn.buf[:len(mark)]) != mark:
            raise OperationFailed(f"the source {self.url} sent more after its RDB's end "
                                  "than the end mark: start the task again")
        del conn.buf[:len(mark)]

    def ack(self, offset: int) -> None:
        """Tell the source how far this replica got: it drops replicas that stay silent."""
        self.conn.send(encode("REPLCONF", "ACK", offset))

    def commands(self, wait_s: float) -> Iterator[list[bytes]]:
        """The commands the source sent that are here within `wait_s` (none when idle)."""
        import hiredis  # the driver is loaded only when a Redis engine is used

        if self._reader is None:
            self._reader = hiredis.Reader()
        reader = self._reader
        buf = self.conn.buf
        if buf:
            reader.feed(bytes(buf))  # type: ignore[attr-defined]
            buf.clear()
        else:
            self.conn.sock.settimeout(wait_s)
            try:
                data = self.conn.recv()
            except TimeoutError:
                return
            reader.feed(data)  # type: ignore[attr-defined]
        while True:
            reply = reader.gets()  # type: ignore[attr-defined]
            if reply is False:
                return
            if not isinstance(reply, list) or not reply:
                raise OperationFailed(f"the source {self.url} sent {reply!r} in its "
                                      "replication stream, where commands were due")
            yield reply

    def close(self) -> None:
        self.conn.close()
