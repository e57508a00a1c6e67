"""Engine capabilities are data a caller reads before connecting, and they agree with what
each engine class hands out."""

from __future__ import annotations

from pathlib import Path

import pytest

from turnout import accounts, engines
from turnout.endpoint import KNOWN_SCHEMES
from turnout.engines.base import Engine
from turnout.engines.capabilities import Capabilities
from turnout.errors import Unsupported
from turnout.schemes import ENGINES


@pytest.mark.parametrize("scheme", sorted(ENGINES))
def test_each_engine_class_declares_capabilities_that_match_its_objects(scheme: str) -> None:
    cls = engines.engine_class(scheme)
    caps = cls.capabilities
    assert isinstance(caps, Capabilities) and cls.scheme == scheme
    # an engine offers accounts or a dumper exactly when its record says so
    assert (cls.accounts is not Engine.accounts) == caps.accounts
    assert (cls.dumper is not Engine.dumper) == (caps.dump_tool is not None)


def test_url_schemes_are_the_registered_engines() -> None:
    assert set(KNOWN_SCHEMES) == set(ENGINES)


def test_accounts_on_an_engine_without_them_are_refused_before_opening(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    with pytest.raises(Unsupported, match="SQLite has no accounts"):
        accounts.create(f"sqlite:///{path}", "dest", "mig")
    assert not path.exists()
    assert accounts.superuser_warning(f"sqlite:///{path}") is None
    assert not accounts.has_accounts(f"sqlite:///{path}")
    assert accounts.has_accounts("postgresql://u@localhost/db")
