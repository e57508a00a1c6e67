"""A webhook receiver for the alert tests: an HTTP server on loopback taking JSON POSTs."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """An HTTP server taking POSTs; `fail_first` requests get a 500 first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.got: list[dict] = []
        self.auth: str | None = None
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.auth = self.headers.get("Authorization")
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.got.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://hook:s3cr3t@127.0.0.1:{self.server.server_port}/hooks/T0K3N?k=s3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kinds(self) -> list[str]:
        return [a["alert"] for a in self.got]

    def wait(self, kind: str, timeout: float = 30) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for alert in self.got:
                if alert["alert"] == kind:
                    return alert
            time.sleep(0.05)
        raise AssertionError(f"no {kind} alert; got {self.got}")
