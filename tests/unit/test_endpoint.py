import pytest

from turnout.endpoint import Endpoint, redact
from turnout.errors import BadInput


def test_password_never_shows() -> None:
    ep = Endpoint.parse("postgresql://app:s3cret@db.example:5432/shop")
    assert "s3cret" not in str(ep) and "s3cret" not in repr(ep)
    assert redact("mysql://root:pw@h/db") == "mysql://root:***@h/db"


def test_password_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_PW", "hunter2")
    ep = Endpoint.parse("postgresql://app:env:SHOP_PW@db/shop")
    assert ep.url == "postgresql://app:hunter2@db/shop"
    assert "hunter2" not in str(ep)
    monkeypatch.delenv("SHOP_PW")
    with pytest.raises(BadInput, match=r"\$SHOP_PW"):
        Endpoint.parse("postgresql://app:env:SHOP_PW@db/shop")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///rel/a.db", "rel/a.db"),
        ("sqlite:////abs/a.db", "/abs/a.db"),
        ("sqlite:x.db", "x.db"),
    ],
)
def test_sqlite_paths(url: str, path: str) -> None:
    assert Endpoint.parse(url).path == path


def test_aliases() -> None:
    assert Endpoint.parse("postgres://h/db").scheme == "postgresql"
    assert Endpoint.parse("mariadb://h/db").scheme == "mysql"
