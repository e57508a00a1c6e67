"""After switchover: `turnout rollback` moves the workload back, `turnout finish` cleans up.

Rollback is switchover mirrored: freeze the destination, wait out its
writers, prove the reverse task has applied everything, stop it, verify; the
forward task then starts again where it stopped. Finish removes every object
turnout put on either server once the new side is trusted.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from turnout import accounts, api, engines
from turnout.endpoint import Endpoint
from turnout.errors import BadInput, NotFound, OperationFailed
from turnout.store import Store
from turnout.switchover import steps
from turnout.switchover.procedure import KEYS, STEP, STEPS, Options
from turnout.switchover.reverse import reverse_name


def _switched(store: Store, name: str, command: str) -> str:
    if store.checkpoint(name, STEP) != STEPS[-1]:
        raise BadInput(f"task {name} has not switched over: `turnout {command}` comes after "
                       f"`turnout switchover {name}`")
    return reverse_name(name)


def rollback(name: str, store: Store | None = None, options: Options | None = None,
             say: steps.Say = lambda _: None) -> dict[str, Any]:
    """Move the workload back to the source with nothing lost; the forward task restarts."""
    store = store or Store()
    options = options or Options()
    reverse = _switched(store, name, "rollback")
    spec = store.get(name).spec
    log = steps.Journal(store, name, say)
    dest = engines.connect(spec.dest_endpoint)
    try:
        if options.freeze:
            dest.freeze(f"rollback of task {name}")
            log(f"writes frozen on {spec.dest_endpoint}")
        left = steps.wait_for_writers(dest, options.session_timeout, options.kill_sessions, log)
        if left:
            dest.unfreeze()
            raise OperationFailed(
                f"{len(left)} session(s) can still write to {spec.dest_endpoint}: "
                f"{steps.describe(left)}; writes are allowed again and the reverse task keeps "
                "running: stop them, or run again with --kill-sessions")
        steps.drain(store, reverse, options.drain_timeout, log)
        steps.stop_if_running(store, reverse)
        report = api.verify_task(name, store)
        if not report["consistent"]:
            raise OperationFailed(f"source and destination differ after draining {reverse}: "
                                  f"`turnout verify {name}` shows the rows; the destination "
                                  "stays frozen")
        api.delete_task(reverse, store)  # its capture leaves the destination
        dest.unfreeze()  # the forward task writes there again
    finally:
        dest.close()
    store.clear_checkpoints(name, KEYS)
    api.start_task(name, store)
    log(f"rolled back: the workload may move back to {spec.source_endpoint}; the forward "
        f"task {name} runs again, ready for the next switchover")
    return {"task": name, "rolled_back": True,
            "verified_rows": sum(t["rows_source"] for t in report["tables"])}


def finish(name: str, store: Store | None = None, say: steps.Say = lambda _: None,
           keep_accounts: bool = False, admins: dict[str, str | None] | None = None,
           ) -> dict[str, Any]:
    """Stop the reverse task, remove everything turnout installed on both servers, and drop
    the task's migration accounts (through `admins`: "source" / "dest" → an admin URL)."""
    store = store or Store()
    reverse = _switched(store, name, "finish")
    spec = store.get(name).spec
    steps.stop_if_running(store, reverse)
    api.delete_task(reverse, store)
    api.delete_task(name, store)  # the forward capture, checkpoints and the task itself
    for url in (spec.source, spec.dest):
        engine = engines.connect(url)
        try:
            engine.unfreeze()
            engine.remove_own_objects()
        finally:
            engine.close()
    sides = {"source": spec.source, "dest": spec.dest}
    left = [] if keep_accounts else _drop_accounts(sides, admins or {}, say)  # used until now
    say(f"finished: nothing of turnout is left on {spec.source_endpoint} or "
        f"{spec.dest_endpoint}; tasks {name} and {reverse} are deleted")
    return {"task": name, "finished": True, "accounts_left": left}


def _drop_accounts(sides: dict[str, str], admins: dict[str, str | None],
                   say: steps.Say) -> list[str]:
    """Drop each side's migration account (one that is not a superuser) through that side's
    admin URL; the accounts that stay, for want of one."""
    left = []
    for side, url in sides.items():
        user = urlsplit(Endpoint.parse(url).url).username
        if not user or accounts.superuser_warning(url) is not None or url.startswith("sqlite"):
            continue  # no account of its own: SQLite, or an administrator's
        admin = admins.get(side)
        if admin is None:
            left.append(f"{user} on {Endpoint.parse(url)}")
            say(f"migration account {user} stays on {Endpoint.parse(url)}: --admin-{side} URL, "
                f"or `turnout accounts drop ADMIN_URL --user {user}`, removes it")
            continue
        try:
            accounts.drop(admin, user)
            say(f"migration account {user} dropped from {Endpoint.parse(url)}")
        except NotFound:
            pass  # dropped already (a finish run again)
    return left
