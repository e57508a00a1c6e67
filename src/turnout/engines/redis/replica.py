"""turnout as a replica of the source: the replication handshake, the RDB, the command stream.

The source sees an ordinary replica (REPLCONF listening-port, REPLCONF capa eof
psync2, PSYNC); what it sends is an RDB (length-prefixed, or EOF-marked when the
sync is diskless), then every write as a RESP array. The position is the source's
replication offset: the bytes of the stream consumed so far, which a later PSYNC
names to continue from the byte after it.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed, TransientError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Sync:
    """The source's answer to PSYNC: a full sync from (replid, offset), or a continuation."""

    full: bool
    replid: str
    offset: int


def encode(*args: bytes | str | int) -> bytes:
    """One command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def stream_size(args: list[bytes]) -> int:
    """How many bytes of the replication stream a command took: the source writes every
    command as a RESP array of bulk strings, so its size follows from its arguments."""
    size = len(b"*%d\r\n" % len(args))
    for arg in args:
        size += len(b"$%d\r\n" % len(arg)) + len(arg) + 2
    return size


class Replica:
    """One replication connection to the source."""

    def __init__(self, url: RedisUrl, timeout_s: float = 60.0) -> None:
        self.url = url
        try:
            raw = socket.create_connection((url.host, url.port), timeout=timeout_s)
        except OSError as exc:
            raise TransientError(f"cannot reach the source {url}: {exc.strerror or exc}") from None
        self.sock: socket.socket = (ssl.create_default_context().wrap_socket(
            raw, server_hostname=url.host) if url.tls else raw)
        self.buf = bytearray()
        self._reader: object | None = None
        if url.password is not None:
            login = [url.user, url.password] if url.user else [url.password]
            self._expect_ok("AUTH", *login)
        self._expect_ok("CLIENT", "SETNAME", "turnout-replica")
        self._expect_ok("REPLCONF", "listening-port", "0")
        self._expect_ok("REPLCONF", "capa", "eof", "capa", "psync2")

    def _recv(self) -> None:
        try:
            data = self.sock.recv(_CHUNK)
        except TimeoutError:
            raise
        except OSError as exc:
            raise TransientError(f"lost the replication link to {self.url}: {exc}") from None
        if not data:
            raise TransientError(f"the source {self.url} closed the replication link")
        self.buf += data

    def _line(self) -> bytes:
        """One reply line, skipping the bare newlines a source sends to keep a waiting
        replica's link alive."""
        while True:
            while self.buf[:1] == b"\n":
                del self.buf[:1]
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                return line
            self._recv()

    def _expect_ok(self, *args: str) -> None:
        self.sock.sendall(encode(*args))
        line = self._line()
        if not line.startswith(b"+"):
            what = " ".join(args[:2]) if args[0] != "AUTH" else "AUTH"
            raise OperationFailed(f"the source {self.url} refused {what}: "
                                  f"{line.decode(errors='replace')[1:]} (the account needs "
                                  "+psync +replconf, or the default user's rights)")

    def psync(self, replid: str = "?", offset: int = -1) -> Sync:
        """Ask for the stream from `offset` of `replid` (or "?" -1: a full sync)."""
        self.sock.sendall(encode("PSYNC", replid, offset))
        line = self._line().decode(errors="replace")
        words = line.split()
        if line.startswith("+FULLRESYNC") and len(words) == 3:
            return Sync(True, words[1], int(words[2]))
        if line.startswith("+CONTINUE"):
            return Sync(False, words[1] if len(words) > 1 else replid, offset - 1)
        raise OperationFailed(f"the source {self.url} refused PSYNC: {line[1:]}")

    def read_rdb(self) -> bytes:
        """The RDB payload that follows +FULLRESYNC, in memory."""
        self.sock.settimeout(None)  # a big dataset can take a while to start arriving
        head = self._line()
        if not head.startswith(b"$"):
            raise OperationFailed(f"the source {self.url} sent {head[:40]!r} instead of an RDB")
        if head.startswith(b"$EOF:"):
            mark = head[5:]
            while True:
                at = self.buf.find(mark, max(0, len(self.buf) - _CHUNK - len(mark)))
                if at >= 0:
                    data = bytes(self.buf[:at])
                    del self.buf[:at + len(mark)]
                    return data
                self._recv()
        size = int(head[1:])
        while len(self.buf) < size:
            self._recv()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def ack(self, offset: int) -> None:
        """Tell the source how far this replica got: it drops replicas that stay silent."""
        self.sock.sendall(encode("REPLCONF", "ACK", offset))

    def commands(self, wait_s: float) -> Iterator[list[bytes]]:
        """The commands the source sent that are here within `wait_s` (none when idle)."""
        import hiredis  # the driver is loaded only when a Redis engine is used

        if self._reader is None:
            self._reader = hiredis.Reader()
        reader = self._reader
        if self.buf:
            reader.feed(bytes(self.buf))  # type: ignore[attr-defined]
            self.buf.clear()
        else:
            self.sock.settimeout(wait_s)
            try:
                self._recv()
            except TimeoutError:
                return
            reader.feed(bytes(self.buf))  # type: ignore[attr-defined]
            self.buf.clear()
        while True:
            reply = reader.gets()  # type: ignore[attr-defined]
            if reply is False:
                return
            if not isinstance(reply, list) or not reply:
                raise OperationFailed(f"the source {self.url} sent {reply!r} in its "
                                      "replication stream, where commands were due")
            yield reply

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
