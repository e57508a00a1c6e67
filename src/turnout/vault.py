"""Passwords at rest: sealed with a key of the store's own, never written in clear.

A task keeps its URLs so that `turnout task start` works later from the
same machine without asking again, as a managed migration service does. The
store file therefore holds each URL with its password replaced by
`sealed:TOKEN`, where TOKEN is the password encrypted with AES-GCM under a
random key in `secret.key` beside the store (mode 0600, made on first use).
A copy of the store file alone (a backup, a bug report) reveals no password;
whoever can read the key file is the store's owner, who typed the password.

Passwords given as `env:VAR` or `file:/path` are references, not secrets,
and are kept as written.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from turnout.errors import BadInput

KEY_FILE = "secret.key"
KEY_ENV = "TURNOUT_SECRET_KEY_FILE"
SEALED = "sealed:"
_REFERENCES = ("env:", "file:", SEALED)
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)")
_URL_SECRET = re.compile(r"([A-Za-z][\w+.-]*://[^\s:/@]*):[^\s@]*@")
_CUT_URL_SECRET = re.compile(r"([A-Za-z][\w+.-]*://[^\s:/@]*):[^\s@/]+$")  # text cut inside it
_SHORTEST_SCRUBBED = 4  # shorter passwords would blank out ordinary words in messages


class Vault:
    """Seals and unseals the passwords of one store's URLs with its key file."""

    def __init__(self, home: Path) -> None:
        # a store shared by several machines needs the same key on each: $KEY_ENV names it
        self.key_path = Path(os.environ.get(KEY_ENV) or Path(home) / KEY_FILE)
        self._key: bytes | None = None

    def seal(self, url: str) -> str:
        """The URL with a password written in it replaced by its sealed form."""
        return _replace_password(url, lambda pw: pw if _is_reference(pw) else self._seal(pw))

    def unseal(self, url: str) -> str:
        """The URL as the user gave it: a sealed password back in clear."""
        return _replace_password(
            url, lambda pw: self._unseal(pw[len(SEALED):]) if pw.startswith(SEALED) else pw)

    def seal_text(self, text: str) -> str:
        """A secret sealed whole: a webhook URL, whose token may sit in its path or query."""
        return text if text.startswith(SEALED) else self._seal(text)

    def unseal_text(self, text: str) -> str:
        return self._unseal(text[len(SEALED):]) if text.startswith(SEALED) else text

    def _seal(self, secret: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self._key_bytes(create=True)).encrypt(nonce, secret.encode(), None)
        return SEALED + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def _unseal(self, token: str) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return AESGCM(self._key_bytes()).decrypt(raw[:12], raw[12:], None).decode()
        except (InvalidTag, ValueError):
            raise BadInput(
                f"a task's password does not match the key in {self.key_path} (the key file "
                "was replaced): delete the task and create it again with the password"
            ) from None

    def _key_bytes(self, create: bool = False) -> bytes:
        if self._key is None:
            if create and not self.key_path.exists():
                _write_new_key(self.key_path)
            try:
                self._key = bytes.fromhex(self.key_path.read_text(encoding="ascii").strip())
            except (OSError, ValueError):
                raise BadInput(
                    f"the key file {self.key_path} that unlocks the tasks' passwords is missing "
                    "or damaged: delete the task and create it again with the password"
                ) from None
        return self._key


def _write_new_key(path: Path) -> None:
    """A random 256-bit key, readable by the owner only from the moment it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(os.urandom(32).hex() + "\n")


def _is_reference(password: str) -> bool:
    return password.startswith(_REFERENCES)


def _replace_password(url: str, change: Callable[[str], str]) -> str:
    """`url` with `change` applied to the password in its user part and in a `password=`
    query parameter (libpq takes both); the rest of the URL byte for byte as it was."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is not None:
        userinfo, host = parts.netloc.rsplit("@", 1)
        user, password = userinfo.split(":", 1)
        start = url.index(parts.netloc)
        netloc = f"{user}:{change(password)}@{host}"
        url = url[:start] + netloc + url[start + len(parts.netloc):]
    return _QUERY_PASSWORD.sub(lambda m: m.group(1) + change(m.group(2)), url)


def passwords(url: str) -> list[str]:
    """The passwords written in clear in `url` (to scrub them from free text)."""
    found: list[str] = []

    def keep(pw: str) -> str:
        if pw and not _is_reference(pw):
            found.extend({pw, unquote(pw)})  # a driver may echo either spelling
        return pw

    _replace_password(url, keep)
    return found


def scrub(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Free text (an error, an event) with URL passwords shown as *** (also when the text was
    cut short inside one), and any of `secrets` written out by a driver replaced too."""
    text = _CUT_URL_SECRET.sub(r"\1:***", _URL_SECRET.sub(r"\1:***@", text))
    for secret in secrets:
        if len(secret) >= _SHORTEST_SCRUBBED:
            text = text.replace(secret, "***")
    return text


# files ---------------------------------------------------------------------

OWN_NAMES = ("turnout.db", "turnout.db-wal", "turnout.db-shm", "turnout.db-journal", KEY_FILE,
             "logs", "demo")


def private_folder(path: Path, ours: bool = False) -> None:
    """Create `path` for its owner only (0700); tighten an existing one that is `ours` or
    holds nothing but turnout's own files (a folder shared with other things keeps its
    mode: the files in it are private anyway)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if path.stat().st_mode & 0o077 and (
                ours or all(p.name in OWN_NAMES for p in path.iterdir())):
            path.chmod(0o700)
    except OSError:
        pass  # not ours to change (another user's folder): its files still are 0600


def private_file(path: Path) -> None:
    """Make `path` readable by its owner only, creating it empty if it is missing.

    An existing file is never opened: closing any descriptor of a file drops every POSIX
    lock this process holds on it, and SQLite connections of this process may hold some.
    """
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return
        except FileExistsError:
            pass  # made by another process a moment ago
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except PermissionError:
        pass  # another user's file: not ours to change (SQLite says what it can't open)
