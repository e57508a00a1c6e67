"""`turnout serve`: listen, refuse an open bind without a token, and run until interrupted.

The server runs the tasks started from it in its own threads. `turnout task stop` from a
shell sends SIGTERM to a task's pid, which for those tasks is the server's: such a signal
is for the task (which stops through the store), not for the server.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from turnout import api
from turnout.errors import BadInput, OperationFailed
from turnout.store import Store
from turnout.web.app import create_app


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is on this machine only (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        raise BadInput(f"cannot resolve --host {host!r}: give an address like 127.0.0.1"
                       ) from None
    return all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
               for info in infos)


def listen(host: str, port: int) -> socket.socket:
    """Bind now, so a taken port or a bad address is one clear line, not a server log."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as exc:
        raise OperationFailed(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                              "(pick another --port or --host)") from None


class Server(uvicorn.Server):
    """uvicorn's server, but a SIGTERM that stops one of its tasks leaves it running."""

    def __init__(self, config: uvicorn.Config, store: Store) -> None:
        super().__init__(config)
        self.store = store

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and api.stop_pending_here(self.store):
            return
        super().handle_exit(sig, frame)


def serve(host: str, port: int, token: str | None,
          announce: Callable[[str], object] = print) -> None:
    """Serve the API and the console until Ctrl-C or SIGTERM; the tasks it runs stop first."""
    if not token and not is_loopback(host):
        raise BadInput(f"--host {host} lets other machines in: give a --token (or set "
                       "TURNOUT_TOKEN), which API clients send as a bearer header")
    sock = listen(host, port)
    app = create_app(token or None)
    shown = f"[{host}]" if ":" in host else host
    announce(f"turnout console on http://{shown}:{sock.getsockname()[1]}/ "
             "(API under /api/, OpenAPI at /openapi.json); Ctrl-C stops it")
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    Server(config, app.state.store).run(sockets=[sock])
