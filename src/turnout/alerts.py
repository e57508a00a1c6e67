"""Alerts: a JSON POST to the task's webhook when something needs a person.

A task fails, its delay stays above a threshold for a while, stray writes show up on its
destination, a switchover step fails: each is one POST of a small JSON document. Sending
never holds the task up: alerts go into a short queue that one daemon thread delivers,
retrying a few times with growing waits; an alert that cannot be delivered is dropped
and said in the task's events. The webhook URL often carries its credentials (a user and
password, a token in the path or the query), so only its scheme and host are ever shown.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from turnout.errors import BadInput

ATTEMPTS = 4  # deliveries tried per alert
FIRST_WAIT_S = 1.0  # before the second try; doubles after each
TIMEOUT_S = 5.0  # per POST
QUEUED = 100  # alerts waiting at most; more are dropped (said in the events)

TASK_FAILED = "task_failed"
DELAY = "delay"
STRAY_WRITES = "stray_writes"
SWITCHOVER_FAILED = "switchover_failed"


@dataclass
class AlertRules:
    """`[alerts]` of a task: where to POST, and the delay worth an alert.

    `delay_s` 0 sends no delay alert; a delay above it must last `delay_for_s` (a
    minute unless said otherwise) before the alert goes, once, until it drops again.
    """

    webhook: str | None = None
    delay_s: float = 0.0
    delay_for_s: float = 60.0

    def __post_init__(self) -> None:
        if self.webhook is not None:
            parts = urlsplit(self.webhook)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise BadInput(f"alert webhook {shown_url(self.webhook)} is not an http(s) "
                               "URL: give one like https://hooks.example.com/turnout")
        if self.delay_s < 0 or self.delay_for_s < 0:
            raise BadInput("alert delays must be 0 or more seconds")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | AlertRules | None) -> AlertRules:
        if isinstance(data, AlertRules):
            return data
        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise BadInput(f"unknown alert setting {unknown[0]!r}: known ones are "
                           f"{sorted(cls.__dataclass_fields__)}")
        return cls(**data)


def shown_url(url: str) -> str:
    """The webhook fit to print: its scheme and host only (no user, path or query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<webhook>"
    return f"{parts.scheme}://{host}{port}/…" if parts.scheme else "<webhook>"


class Alerter:
    """Delivers a task's alerts from its own thread; `said` reports what went wrong."""

    def __init__(self, rules: AlertRules, task: str,
                 said: Callable[[str], None] = lambda _: None) -> None:
        self.rules, self.task, self.said = rules, task, said
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUED)
        self._thread: threading.Thread | None = None

    def send(self, kind: str, message: str, **fields: Any) -> None:
        """Queue an alert (returns at once); nothing without a webhook."""
        if not self.rules.webhook:
            return
        alert = {"alert": kind, "task": self.task, "message": message, "ts": time.time(),
                 **fields}
        if self._thread is None:
            self._thread = threading.Thread(target=self._deliver_all, daemon=True,
                                            name=f"alerts-{self.task}")
            self._thread.start()
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.said(f"alert {kind} dropped: {QUEUED} alerts wait for "
                      f"{shown_url(self.rules.webhook)} already")

    def close(self, wait_s: float = 10.0) -> None:
        """Let queued alerts go for up to `wait_s` (a worker ending, a failed step)."""
        if self._thread is not None:
            try:
                self._queue.put(None, timeout=wait_s)
            except queue.Full:
                return
            self._thread.join(wait_s)

    def _deliver_all(self) -> None:
        while (alert := self._queue.get()) is not None:
            self._deliver(alert)

    def _deliver(self, alert: dict[str, Any]) -> None:
        wait, problem = FIRST_WAIT_S, ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(wait)
                wait *= 2
            problem = post(self.rules.webhook or "", alert)
            if not problem:
                return
        self.said(f"alert {alert['alert']} not delivered to {shown_url(self.rules.webhook or '')}"
                  f" after {ATTEMPTS} tries: {problem}")


def send_now(rules: AlertRules, task: str, kind: str, message: str,
             said: Callable[[str], None] = lambda _: None, **fields: Any) -> None:
    """One alert from a command that ends soon after (a failed switchover step): queued
    like any other, then given a few seconds to go."""
    alerter = Alerter(rules, task, said)
    alerter.send(kind, message, **fields)
    alerter.close()


def post(url: str, alert: dict[str, Any]) -> str:
    """POST the alert; "" when the receiver took it (2xx), else what went wrong (no URL)."""
    headers = {"Content-Type": "application/json", "User-Agent": "turnout"}
    parts = urlsplit(url)
    if parts.username is not None:  # user:password@ goes as basic auth, not in the request
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    request = urllib.request.Request(url, data=json.dumps(alert).encode(), method="POST",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
            answer.read()
            return ""
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return type(reason).__name__ if not isinstance(reason, str) else reason


class DelayWatch:
    """Whether a delay has stayed above the rules' threshold long enough to alert: once per
    spell above it, again only after it dropped below."""

    def __init__(self, rules: AlertRules) -> None:
        self.rules = rules
        self._since: float | None = None
        self._sent = False

    def due(self, delay_s: float | None, now: float) -> bool:
        if not self.rules.delay_s or delay_s is None or delay_s <= self.rules.delay_s:
            self._since, self._sent = None, False
            return False
        if self._since is None:
            self._since = now
        if not self._sent and now - self._since >= self.rules.delay_for_s:
            self._sent = True
            return True
        return False
