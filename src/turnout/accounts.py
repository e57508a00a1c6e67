"""Migration accounts: least-privilege accounts for a task's source and destination.

A task that connects as a superuser can do anything a bug or a typo asks of
it. An administrator runs these once with a privileged URL: create() makes an
account with only what the role needs on that engine (each engine's
accounts.py says why each grant is there), revoke_write() leaves it able to
read only and drop() removes it, for after switchover. The CLI
(`turnout accounts`) and `turnout finish` call these.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from turnout import engines
from turnout.endpoint import Endpoint, redact
from turnout.engines.base import Accounts, Engine, check_account_role
from turnout.errors import BadInput, Unsupported

PASSWORD_BYTES = 24  # 192 random bits, 32 URL-safe characters


def create(url: str, role: str, user: str, password: str | None = None) -> dict[str, Any]:
    """Create `user` for `role` ("source" or "dest") on the database at `url`.

    Without `password` a strong one is generated and returned, once, as
    "password"; a given one is never returned. "url" is the database's URL as
    the new account, its password shown as ***. A destination database that
    does not exist yet is created, as a task would.
    """
    check_account_role(role)
    generated = password is None
    if password is not None and not password:
        raise BadInput("the password is empty: give one, or let turnout generate it")
    secret = password or secrets.token_urlsafe(PASSWORD_BYTES)
    with _opened(url, create=role == "dest") as kept:
        statements = kept.create(user, secret, role)
    result: dict[str, Any] = {
        "user": user, "role": role, "url": redact(account_url(url, user, secret)),
        "statements": statements, "grants": _text(statements),
    }
    if generated:
        result["password"] = secret
    return result


def revoke_write(url: str, user: str) -> dict[str, Any]:
    """Take every write privilege from `user`; it keeps reading (for a last verification)."""
    with _opened(url) as kept:
        statements = kept.revoke_write(user)
    return {"user": user, "statements": statements, "grants": _text(statements)}


def drop(url: str, user: str) -> dict[str, Any]:
    """Remove `user`; what it owns passes to the account of `url`. NotFound when it is gone."""
    with _opened(url) as kept:
        statements = kept.drop(user)
    return {"user": user, "statements": statements, "grants": _text(statements)}


def superuser_warning(url: str) -> str | None:
    """One line when `url` connects as a superuser (None otherwise, and for SQLite), to show
    before a task runs with it: a least-privilege account contains mistakes."""
    if not has_accounts(url):
        return None
    engine = engines.connect(url)
    try:
        return engine_superuser_warning(engine)
    finally:
        engine.close()


def has_accounts(url: str) -> bool:
    """Whether the engine of `url` has migration accounts, known without opening it."""
    return engines.engine_class(Endpoint.parse(url).scheme).capabilities.accounts


def engine_superuser_warning(engine: Engine) -> str | None:
    """superuser_warning() for an engine already connected."""
    if engine.accounts is None or not engine.accounts.is_superuser():
        return None
    return (f"{engine.endpoint} connects as a superuser: a task needs far less; "
            f"`turnout accounts create URL --for source|dest --user NAME` makes an account "
            "with only that")


def account_url(url: str, user: str, password: str) -> str:
    """`url` with `user` and `password` in place of its own credentials."""
    endpoint = Endpoint.parse(url)
    parts = urlsplit(endpoint.url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def _opened(url: str, create: bool = False) -> Iterator[Accounts]:
    """The migration accounts of the database at `url`; an engine without any is refused
    before its database is opened (or made)."""
    endpoint = Endpoint.parse(url)
    capabilities = engines.engine_class(endpoint.scheme).capabilities
    if not capabilities.accounts:
        raise Unsupported(capabilities.why_no_accounts(endpoint))
    engine = engines.connect(endpoint, create=create)
    try:
        if engine.accounts is None:  # the record and the engine disagree: a bug, said plainly
            raise Unsupported(capabilities.why_no_accounts(endpoint))
        yield engine.accounts
    finally:
        engine.close()


def _text(statements: list[str]) -> str:
    """The statements as a script a person can read or run again (comments as they are)."""
    return "\n".join(s if s.startswith("--") else s + ";" for s in statements)
