"""`redis://[user:password@]host:port[/db]` and `rediss://` (TLS), as connection settings.

A URL without a database number means every database of the server (each copied to
the same number on the other side); with one, only that database, mapped to the other
URL's number. The password is kept out of every message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from turnout.errors import BadInput

DEFAULT_PORT = 6379


@dataclass(frozen=True)
class RedisUrl:
    """Where a Redis is and how to log in; `repr` and `str` never show the password."""

    host: str
    port: int
    db: int | None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RedisUrl:
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise BadInput(f"{_shown(url)!r} is not a Redis URL: write "
                           "redis://[user:password@]host:port[/db]") from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise BadInput(f"{_shown(url)!r} is not a Redis URL: write "
                           "redis://[user:password@]host:port[/db]")
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise BadInput(f"the database in {_shown(url)!r} must be a number (0-15 by default)")
        return cls(host=parts.hostname, port=port, db=int(path) if path else None,
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password is not None else None,
                   tls=parts.scheme == "rediss")

    def __str__(self) -> str:
        login = f"{self.user or ''}{':***' if self.password is not None else ''}"
        at = f"{login}@" if login else ""
        db = "" if self.db is None else f"/{self.db}"
        return f"{'rediss' if self.tls else 'redis'}://{at}{self.host}:{self.port}{db}"

    def wrap(self, sock: Any) -> Any:
        """`sock` inside TLS, checked against the system's certificate authorities."""
        import ssl

        return ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)

    def client(self, db: int = 0, name: str = "turnout") -> Any:
        """A redis-py client on one connection of its own (SELECT inside a pipeline stays
        on it), named `name` in CLIENT LIST so sessions can tell turnout's own apart."""
        import redis  # the driver is loaded only when a Redis engine is used

        return redis.Redis(host=self.host, port=self.port, db=db, username=self.user,
                           password=self.password, ssl=self.tls, client_name=name,
                           single_connection_client=True, socket_timeout=60)


def _shown(url: str) -> str:
    """`url` with anything between ':' and '@' hidden (it may be a password)."""
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, login = head.partition("://")
    return f"{scheme}://{login.split(':', 1)[0]}:***@{tail}"
