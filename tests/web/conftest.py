"""Fixtures for the web tests: an app on a private store, a test client, SQLite files."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import make_db
from turnout.web import create_app

SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO item VALUES (1, 'apple'), (2, 'pear'), (3, 'plum');
"""


@pytest.fixture()
def client(home: Path) -> Iterator[TestClient]:
    """A client of an app without a token; leaving the block stops what it started."""
    with TestClient(create_app(home=home)) as test_client:
        yield test_client


@pytest.fixture()
def shop(tmp_path: Path) -> dict[str, str]:
    """A source file with rows and a destination that does not exist yet, as URLs."""
    src = make_db(tmp_path / "shop.db", SHOP)
    return {"source": f"sqlite:///{src}", "dest": f"sqlite:///{tmp_path / 'new.db'}"}


def wait_for(client: TestClient, path: str, predicate, timeout: float = 20) -> dict:
    """GET `path` until `predicate(body)` holds."""
    deadline = time.time() + timeout
    body: dict = {}
    while time.time() < deadline:
        body = client.get(path).json()
        if predicate(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting on {path}; last {body}")


def serve(home: Path, token: str | None = None) -> Iterator[str]:
    """Run the real server (uvicorn, lifespan and all) in a thread; yields its base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(token, home=home), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(30)
