"""rediss:// end to end: two throwaway redis-servers that speak only TLS to turnout (certificates
made with openssl for the test, clients required to show one), a task that copies, follows
and verifies through them, and a URL without the authority refused in one line."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from turnout import api
from turnout.errors import TurnoutError
from turnout.spec import TaskSpec
from turnout.testing.processes import free_port
from turnout.testing.servers import start_redis


def certificates(folder: Path) -> Path:
    """A certificate authority and a certificate for 127.0.0.1 it signed (also the client's)."""
    if not shutil.which("openssl"):
        pytest.fail("openssl is not installed: apt-get install -y openssl")
    folder.mkdir()

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=turnout test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf")
    return folder


@pytest.fixture
def tls_pair(tmp_path: Path):
    certs = certificates(tmp_path / "certs")
    servers, urls = [], []
    for name in ("source", "dest"):
        port = free_port()
        server = start_redis(tmp_path / name, [
            "--tls-port", str(port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file",
            str(certs / "ca.crt"), "--tls-auth-clients", "yes"])
        servers.append(server)
        urls.append(f"rediss://127.0.0.1:{port}?ssl_ca_certs={certs / 'ca.crt'}"
                    f"&ssl_certfile={certs / 'server.crt'}&ssl_keyfile={certs / 'server.key'}")
    yield servers, urls
    for server in servers:
        server.stop()


def test_a_task_over_tls_copies_follows_and_verifies(tls_pair, store) -> None:
    (source, dest), (src_url, dst_url) = tls_pair
    r = redis.Redis(port=source.port)  # the test's own writes go to the plain port
    r.mset({f"k{i}": i for i in range(2000)})
    r.hset("h", mapping={"a": 1, "b": 2})
    api.create_task(TaskSpec("tls", src_url, dst_url), store)
    api.start_task("tls", store)
    try:
        api.wait_for("tls", lambda s: s["phase"] == "incremental" and s["pid"], 60, store)
        r.set("later", "over the stream", px=600_000)
        r.delete("k7")
        api.wait_caught_up("tls", 60, store)
        d = redis.Redis(port=dest.port)
        deadline = time.monotonic() + 30
        while d.get("later") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert d.get("later") == b"over the stream" and d.get("k7") is None
        assert api.verify_task("tls", store)["consistent"]
        clients = d.client_list()
        assert any(c["name"].startswith("turnout") for c in clients)
    finally:
        api.stop_task("tls", store)


def test_a_tls_url_without_the_authority_is_one_line(tls_pair) -> None:
    _, (src_url, dst_url) = tls_pair
    bare = src_url.split("?")[0]
    with pytest.raises(TurnoutError) as found:
        api.verify_urls(bare, dst_url)
    assert "ssl_ca_certs=PATH" in str(found.value) and "\n" not in str(found.value)
    with pytest.raises(TurnoutError, match="rediss://"):
        api.verify_urls(bare.replace("rediss", "redis") + "?ssl_ca_certs=x", dst_url)
