"""Property-based requests from /openapi.json (schemathesis): no input makes the server fail.

Kept fast: a few dozen examples per operation, in-process through ASGI. The engines are
limited to SQLite files under a temporary directory, so generated URLs never reach a
network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import make_db
from tests.web.conftest import SHOP
from turnout import engines
from turnout.errors import BadInput
from turnout.web import create_app


@pytest.fixture()
def api_schema(home: Path, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> schemathesis.BaseSchema:
    monkeypatch.chdir(tmp_path)  # relative SQLite paths land here
    connect = engines.connect

    def sqlite_only(url: Any, **kwargs: Any) -> Any:
        endpoint = url if isinstance(url, engines.Endpoint) else engines.Endpoint.parse(url)
        if endpoint.scheme != "sqlite":
            raise BadInput(f"{endpoint} is not reached in this test")
        return connect(url, **kwargs)

    monkeypatch.setattr(engines, "connect", sqlite_only)
    src = make_db(tmp_path / "shop.db", SHOP)
    app = create_app(home=home)
    from turnout import api
    from turnout.spec import spec_from_flags

    api.create_task(spec_from_flags("shop", f"sqlite:///{src}", f"sqlite:///{tmp_path}/n.db",
                                    [], [], [], None), app.state.store)
    return from_asgi("/openapi.json", app)


# Switchover and its abort are left out: on the one task they would act for real, running a
# generated --on-switch text as a shell command, or starting a detached worker (abort restarts
# the forward task) that outlives the test. Rollback and finish stay: before a switchover they
# refuse (409), which is what generated input can reach.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    method="POST", path=["/api/tasks/{name}/switchover", "/api/tasks/{name}/switchover/abort"])
# No 5xx, and every answer is documented: its status, its content type and its shape.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
