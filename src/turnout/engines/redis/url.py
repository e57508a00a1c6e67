"""`redis://[user:password@]host:port[/db]` and `rediss://` (TLS), as connection settings.

A rediss:// URL takes redis-py's TLS settings as its query: `?ssl_ca_certs=PATH` (the
authority that signed the server's certificate), `ssl_certfile` and `ssl_keyfile` (a
client certificate, for servers with tls-auth-clients), `ssl_cert_reqs=none` (no check).

A URL without a database number means every database of the server (each copied to
the same number on the other side); with one, only that database, mapped to the other
URL's number. The password is kept out of every message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from turnout.errors import BadInput

DEFAULT_PORT = 6379
TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")


@dataclass(frozen=True)
class RedisUrl:
    """Where a Redis is and how to log in; `repr` and `str` never show the password."""

    host: str
    port: int
    db: int | None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_options: tuple[tuple[str, str], ...] = ()  # the URL's ssl_* settings (rediss://)

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
        options = tuple(parse_qsl(parts.query, keep_blank_values=True))
        for name, value in options:
            if name not in TLS_OPTIONS:
                raise BadInput(f"{_shown(url)!r} has the setting {name!r}, which turnout does not "
                               f"know: Redis URLs take {', '.join(TLS_OPTIONS)} (for rediss://)")
            if name == "ssl_cert_reqs" and value not in ("none", "required"):
                raise BadInput(f"ssl_cert_reqs in {_shown(url)!r} takes none or required, "
                               f"not {value!r}")
        if options and parts.scheme != "rediss":
            raise BadInput(f"{_shown(url)!r} has TLS settings but is not rediss://: "
                           "write rediss:// to connect with TLS")
        return cls(host=parts.hostname, port=port, db=int(path) if path else None,
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password is not None else None,
                   tls=parts.scheme == "rediss", tls_options=options)

    def __str__(self) -> str:
        login = f"{self.user or ''}{':***' if self.password is not None else ''}"
        at = f"{login}@" if login else ""
        db = "" if self.db is None else f"/{self.db}"
        return f"{'rediss' if self.tls else 'redis'}://{at}{self.host}:{self.port}{db}"

    def wrap(self, sock: Any) -> Any:
        """`sock` inside TLS: the server's certificate checked against ssl_ca_certs (else
        the system's authorities) and the host name, unless ssl_cert_reqs=none; with
        ssl_certfile (and ssl_keyfile), turnout shows a certificate of its own."""
        import ssl

        opts = dict(self.tls_options)
        try:
            context = ssl.create_default_context(cafile=opts.get("ssl_ca_certs"))
            if opts.get("ssl_certfile"):
                context.load_cert_chain(opts["ssl_certfile"], opts.get("ssl_keyfile"))
        except OSError as exc:
            raise BadInput(f"the TLS files of {self} cannot be read: {exc}") from None
        if opts.get("ssl_cert_reqs") == "none":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            return context.wrap_socket(sock, server_hostname=self.host)
        except ssl.SSLError as exc:
            sock.close()
            raise BadInput(_tls_failed(self, str(exc.reason or exc))) from None

    def client(self, db: int = 0, name: str = "turnout") -> Any:
        """A redis-py client on one connection of its own (SELECT inside a pipeline stays
        on it), named `name` in CLIENT LIST so sessions can tell turnout's own apart."""
        import redis  # the driver is loaded only when a Redis engine is used

        opts = dict(self.tls_options)
        tls: dict[str, Any] = {}
        if self.tls:
            tls = {name: opts.get(name) for name in TLS_OPTIONS}
            tls["ssl_cert_reqs"] = tls["ssl_cert_reqs"] or "required"
        try:
            return redis.Redis(host=self.host, port=self.port, db=db, username=self.user,
                               password=self.password, ssl=self.tls, client_name=name,
                               single_connection_client=True, socket_timeout=60, **tls)
        except redis.ConnectionError as exc:
            if self.tls and "SSL" in str(exc):
                raise BadInput(_tls_failed(self, str(exc).split("]", 1)[-1].strip())) from None
            raise


def _tls_failed(url: RedisUrl, why: str) -> str:
    return (f"TLS with {url} failed: {why}: give the authority that signed the server's "
            "certificate with ?ssl_ca_certs=PATH (and ?ssl_certfile=&ssl_keyfile= when the "
            "server asks clients for one)")


def _shown(url: str) -> str:
    """`url` with anything between ':' and '@' hidden (it may be a password)."""
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, login = head.partition("://")
    return f"{scheme}://{login.split(':', 1)[0]}:***@{tail}"
