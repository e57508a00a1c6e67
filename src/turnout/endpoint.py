"""Database URLs: which engine, where, and with which secret, never printed."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from turnout.errors import BadInput
from turnout.schemes import ALIASES, ENGINES

KNOWN_SCHEMES = tuple(ENGINES)


@dataclass(frozen=True)
class Endpoint:
    """A parsed database URL. `str()` and `repr()` hide the password."""

    url: str
    scheme: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        if not url or "://" not in url and not url.startswith("sqlite:"):
            raise BadInput(
                f"{redact(url)!r} is not a database URL: write sqlite:///path.db, "
                "postgresql://user@host/db or mysql://user@host/db"
            )
        scheme = url.split(":", 1)[0].lower()
        scheme = ALIASES.get(scheme.split("+")[0], scheme.split("+")[0])
        if scheme not in KNOWN_SCHEMES:
            raise BadInput(
                f"unknown URL scheme {scheme!r} in {redact(url)!r}: "
                f"use one of {', '.join(KNOWN_SCHEMES)}"
            )
        return cls(url=_with_secret(url), scheme=scheme)

    @property
    def path(self) -> str:
        """A sqlite URL's file: sqlite:///rel.db is relative, sqlite:////abs.db absolute."""
        rest = self.url.split(":", 1)[1]
        if rest.startswith("///"):
            rest = rest[3:]
        elif rest.startswith("//"):
            rest = rest[2:]
        return rest.split("?", 1)[0]

    @property
    def sealed(self) -> bool:
        """Whether the password is still sealed (the store could not unseal it): such a URL
        can be shown and compared, not connected to."""
        return re.search(r":sealed:[^@]*@", self.url) is not None

    def __str__(self) -> str:
        return redact(self.url)

    def __repr__(self) -> str:
        return f"Endpoint({redact(self.url)!r})"


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r":[^:@/]*@", ":***@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _with_secret(url: str) -> str:
    """Fill in a password written as `user:env:VAR@host` or `user:file:/path@host`."""
    match = re.search(r":(env|file):([^@]+)@", url)
    if not match:
        return url
    kind, ref = match.groups()
    if kind == "env":
        if ref not in os.environ:
            raise BadInput(f"the URL asks for a password in ${ref}, which is not set: export it")
        secret = os.environ[ref]
    else:
        try:
            with open(ref, encoding="utf-8") as fh:
                secret = fh.read().strip()
        except OSError as exc:
            raise BadInput(f"cannot read the password file {ref}: {exc.strerror}") from None
    return url[: match.start()] + ":" + secret + "@" + url[match.end():]
