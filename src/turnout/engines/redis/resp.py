"""A bare RESP connection: a socket (TLS for rediss://), the login, hiredis's reader.

The replication link and the bulk RESTORE of a full copy both send RESP turnout
writes itself and read replies in bulk; redis-py's per-command machinery (packing,
response callbacks, one Python call per reply) cost more than the parsing of the RDB
did. Everything else goes through redis-py (url.client).
"""

from __future__ import annotations

import socket
from typing import Any

from turnout.engines.redis.url import RedisUrl
from turnout.errors import OperationFailed, TransientError

_CHUNK = 1 << 20


def encode(*args: bytes | str | int) -> bytes:
    """One command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Connection:
    """One connection to `url`, logged in and named `name` (CLIENT LIST shows it)."""

    def __init__(self, url: RedisUrl, name: str, timeout_s: float = 60.0) -> None:
        self.url = url
        try:
            raw = socket.create_connection((url.host, url.port), timeout=timeout_s)
        except OSError as exc:
            raise TransientError(f"cannot reach {url}: {exc.strerror or exc}") from None
        self.sock: socket.socket = url.wrap(raw) if url.tls else raw
        self.buf = bytearray()
        if url.password is not None:
            login = [url.user, url.password] if url.user else [url.password]
            self.expect_ok("AUTH", *login)
        self.expect_ok("CLIENT", "SETNAME", name)

    def recv(self) -> bytes:
        """What the server sent next (at least a byte); the link lost is transient."""
        try:
            data = self.sock.recv(_CHUNK)
        except TimeoutError:
            raise
        except OSError as exc:
            raise TransientError(f"lost the link to {self.url}: {exc}") from None
        if not data:
            raise TransientError(f"{self.url} closed the link")
        return data

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise TransientError(f"lost the link to {self.url}: {exc}") from None

    def line(self) -> bytes:
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
            self.buf += self.recv()

    def expect_ok(self, *args: str | int) -> None:
        self.send(encode(*args))
        line = self.line()
        if not line.startswith(b"+"):
            what = " ".join(map(str, args[:2])) if args[0] != "AUTH" else "AUTH"
            raise OperationFailed(f"{self.url} refused {what}: "
                                  f"{line.decode(errors='replace')[1:]}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Pipeline:
    """Commands sent in batches with one batch's replies still to come while the next is
    built, so the server works while Python does; replies are counted by hiredis's reader
    and only errors reach Python objects worth looking at."""

    def __init__(self, conn: Connection) -> None:
        import hiredis  # the driver is loaded only when a Redis engine is used

        self.conn = conn
        self.reader: Any = hiredis.Reader()
        self.error_type = hiredis.ReplyError
        if conn.buf:
            self.reader.feed(bytes(conn.buf))
            conn.buf.clear()
        self.owed = 0  # replies sent for and not yet read

    def send(self, data: bytes, replies: int) -> None:
        """Send `data`, which holds `replies` commands; their replies are read by settle."""
        self.conn.send(data)
        self.owed += replies

    def settle(self, keep: int = 0) -> tuple[int, str] | None:
        """Read replies until at most `keep` are owed; the first error among them (its
        index among those read, its text), or None."""
        reader, error, at = self.reader, None, 0
        while self.owed > keep:
            reply = reader.gets()
            if reply is False:
                reader.feed(self.conn.recv())
                continue
            self.owed -= 1
            if error is None and isinstance(reply, self.error_type):
                error = (at, str(reply))
            at += 1
        return error

    def replies(self) -> list[Any]:
        """Every reply owed, as hiredis gives them (errors as ReplyError values)."""
        reader, got = self.reader, []
        while self.owed:
            reply = reader.gets()
            if reply is False:
                reader.feed(self.conn.recv())
                continue
            self.owed -= 1
            got.append(reply)
        return got
