"""Every /api/ endpoint through FastAPI's test client: results, error codes and messages."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import wait_for
from turnout import api, leases
from turnout.store import Store


def create(client: TestClient, shop: dict[str, str], name: str = "shop", **extra: Any) -> Any:
    return client.post("/api/tasks", json={"name": name, **shop, **extra})


def test_create_list_get(client: TestClient, shop: dict[str, str]) -> None:
    made = create(client, shop, tables=["item"], rename=["item.name=title"],
                  types=["schema", "full"], options={"chunk_rows": 2})
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "NotStarted" and made.json()["types"] == ["schema", "full"]
    assert [t["name"] for t in client.get("/api/tasks").json()] == ["shop"]
    assert client.get("/api/tasks/shop").json()["source"] == shop["source"]


def test_run_to_incremental_then_stop(client: TestClient, shop: dict[str, str],
                                      tmp_path: Path) -> None:
    assert create(client, shop).status_code == 201
    started = client.post("/api/tasks/shop/start")
    assert started.status_code == 200, started.text
    again = client.post("/api/tasks/shop/start", json={"resnapshot": False})
    assert again.status_code == 409 and "already running" in again.json()["message"]
    status = wait_for(client, "/api/tasks/shop",
                      lambda s: s["phase"] == "incremental" and s["delay_s"] == 0)
    assert status["phase_title"] == "Incremental Data Migration"
    assert status["tables"] == [{"source": "item", "dest": "item", "rows_copied": 3,
                                 "rows_total": 3, "done": True}]
    stopped = client.post("/api/tasks/shop/stop")
    assert stopped.json()["state"] == "Stopped" and stopped.json()["pid"] is None
    events = client.get("/api/tasks/shop/events").json()
    assert "Incremental Data Migration started" in [e["message"] for e in events]
    later = client.get(f"/api/tasks/shop/events?after={events[-2]['id']}").json()
    assert later == events[-1:]
    db = sqlite3.connect(tmp_path / "new.db")
    assert db.execute("SELECT count(*) FROM item").fetchone() == (3,)
    db.close()
    afresh = client.post("/api/tasks/shop/start", json={"resnapshot": True})
    assert afresh.status_code == 200, afresh.text
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental")
    events = [e["message"] for e in client.get("/api/tasks/shop/events").json()]
    assert any(m.startswith("resnapshot: emptied 1 destination tables") for m in events)
    assert client.delete("/api/tasks/shop").json() == {"deleted": "shop"}
    assert client.get("/api/tasks/shop").status_code == 404


def test_stop_when_idle_and_run_to_completion(client: TestClient,
                                              shop: dict[str, str]) -> None:
    create(client, shop, types=["schema", "full"])
    assert client.post("/api/tasks/shop/stop").json()["state"] == "NotStarted"
    client.post("/api/tasks/shop/start")
    done = wait_for(client, "/api/tasks/shop", lambda s: s["state"] == "Completed")
    assert done["tables"][0]["rows_copied"] == 3


def test_precheck_reports_problems_as_lines(client: TestClient, shop: dict[str, str],
                                            tmp_path: Path) -> None:
    create(client, shop, rename=["nosuch=x"])
    result = client.post("/api/tasks/shop/precheck").json()
    assert result["ok"] is False
    assert result["problems"] == ["--rename nosuch=… names a table that the task does not move"]
    create(client, shop, name="good")
    good = client.post("/api/tasks/good/precheck").json()
    assert good.pop("ddl").startswith("DDL on the source's tables is found at each read")
    assert good == {"ok": True, "problems": [], "tables": [{"source": "item", "dest": "item"}],
                    "switchover": []}


def test_sessions_of_task_and_endpoint(client: TestClient, shop: dict[str, str]) -> None:
    create(client, shop)
    holder = sqlite3.connect(shop["source"].removeprefix("sqlite:///"))  # an open session here
    mine = client.get("/api/tasks/shop/sessions/source").json()
    assert any(s["own"] for s in mine), mine
    assert client.get("/api/tasks/shop/sessions/dest").status_code == 200
    assert client.post("/api/sessions", json={"url": shop["source"]}).status_code == 200
    unknown = client.post("/api/tasks/shop/sessions/source/end", json={"ids": ["999999999"]})
    assert unknown.status_code == 404 and "no session 999999999" in unknown.json()["message"]
    own = client.post("/api/sessions", json={"url": shop["source"], "end": [mine[0]["id"]]})
    assert own.status_code == 400 and "turnout's own" in own.json()["message"]
    holder.close()


def test_session_command_lines_lose_passwords(client: TestClient, shop: dict[str, str]) -> None:
    import subprocess
    import sys

    path = shop["source"].removeprefix("sqlite:///")
    script = ("import sqlite3,sys,time;d=sqlite3.connect(sys.argv[2]);"
              "d.execute('SELECT 1').fetchall();print(flush=True);time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-", "postgresql://app:hunter2@db/shop", path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdin is not None
        holder.stdin.write(script)
        holder.stdin.close()
        assert holder.stdout is not None and holder.stdout.readline()
        found = client.post("/api/sessions", json={"url": shop["source"]})
        programs = [s["program"] for s in found.json() if s["id"] == str(holder.pid)]
        assert programs and "hunter2" not in found.text
        assert "postgresql://app:***@db/shop" in programs[0]
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(("text", "shown"), [
    ("at postgresql://app:pw@db:5432/x now", "at postgresql://app:***@db:5432/x now"),
    ("mysql://root:p%40ss@h/db", "mysql://root:***@h/db"),
    ("cut short in postgresql://app:hunt", "cut short in postgresql://app:***"),
    ("postgresql://app@db:5432/x and sqlite:///a.db", "postgresql://app@db:5432/x and "
                                                      "sqlite:///a.db"),
])
def test_redact_text(text: str, shown: str) -> None:
    from turnout.web.errors import redact_text

    assert redact_text(text) == shown


def test_verify_runs_in_background(client: TestClient, shop: dict[str, str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    release = threading.Event()

    def fake_verify(name: str, store: Any = None, progress: Any = None, **_: Any) -> dict:
        progress("item", 1, 3)
        release.wait(10)
        return {"consistent": False, "tables": [
            {"source": "item", "dest": "item", "rows_source": 3, "rows_dest": 2,
             "missing": [[3]], "extra": [], "different": []}]}

    monkeypatch.setattr(api, "verify_task", fake_verify, raising=False)
    create(client, shop)
    assert client.get("/api/tasks/shop/verify").json()["state"] == "idle"
    started = client.post("/api/tasks/shop/verify")
    assert started.status_code == 202 and started.json()["state"] == "running"
    running = wait_for(client, "/api/tasks/shop/verify", lambda j: j["progress"])
    assert running["progress"] == [{"table": "item", "rows_done": 1, "rows_total": 3}]
    assert client.post("/api/tasks/shop/verify").status_code == 409
    release.set()
    done = wait_for(client, "/api/tasks/shop/verify", lambda j: j["state"] != "running")
    assert done["state"] == "done" and done["result"]["tables"][0]["missing"] == [[3]]


def test_verify_reports_differing_keys(client: TestClient, shop: dict[str, str],
                                       tmp_path: Path) -> None:
    create(client, shop, types=["schema", "full"])
    client.post("/api/tasks/shop/start")
    wait_for(client, "/api/tasks/shop", lambda s: s["state"] == "Completed")
    db = sqlite3.connect(tmp_path / "new.db")
    db.execute("UPDATE item SET name = 'quince' WHERE id = 2")
    db.execute("DELETE FROM item WHERE id = 3")
    db.commit()
    db.close()
    assert client.post("/api/tasks/shop/verify", json={"level": "content"}).status_code == 202
    job = wait_for(client, "/api/tasks/shop/verify", lambda j: j["state"] != "running")
    assert job["state"] == "done", job
    assert job["result"]["consistent"] is False
    table = job["result"]["tables"][0]
    assert (table["rows_source"], table["rows_dest"]) == (3, 2)
    assert (table["missing"], table["extra"], table["different"]) == ([[3]], [], [[2]])
    bad = client.post("/api/tasks/shop/verify", json={"level": "everything"})
    assert bad.status_code == 400


def test_verify_failure_is_a_message(client: TestClient, shop: dict[str, str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str, **_: Any) -> dict:
        raise RuntimeError("boom at postgresql://u:hunter2@db/x")

    monkeypatch.setattr(api, "verify_task", broken, raising=False)
    create(client, shop)
    client.post("/api/tasks/shop/verify")
    job = wait_for(client, "/api/tasks/shop/verify", lambda j: j["state"] != "running")
    assert job["state"] == "failed" and "hunter2" not in job["error"]
    assert job["error"] == "unexpected RuntimeError: boom at postgresql://u:***@db/x"


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/tasks/nope"), ("delete", "/api/tasks/nope"),
    ("post", "/api/tasks/nope/start"), ("post", "/api/tasks/nope/stop"),
    ("get", "/api/tasks/nope/events"), ("post", "/api/tasks/nope/precheck"),
    ("post", "/api/tasks/nope/verify"), ("get", "/api/tasks/nope/verify"),
    ("get", "/api/tasks/nope/sessions/source"), ("get", "/api/tasks/nope/switchover"),
    ("post", "/api/tasks/nope/switchover"), ("post", "/api/tasks/nope/switchover/abort"),
    ("post", "/api/tasks/nope/rollback"), ("post", "/api/tasks/nope/finish"),
])
def test_unknown_task_is_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"message": "no task named 'nope': `turnout task list` shows "
                                          "the tasks"}


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "x"}, "bad request: source: Field required; dest: Field required"),
    ({"name": "bad name!", "source": "sqlite:///a.db", "dest": "sqlite:///b.db"},
     "task name 'bad name!' is not allowed"),
    ({"name": "x", "source": "nonsense", "dest": "sqlite:///b.db"},
     "'nonsense' is not a database URL"),
    ({"name": "x", "source": "sqlite:///missing.db", "dest": "sqlite:///b.db"},
     "SQLite file missing.db does not exist"),
    ({"name": "x", "source": "sqlite:///a.db", "dest": "sqlite:///b.db", "types": ["all"]},
     "bad request: types.0: Input should be 'schema', 'full' or 'incremental'"),
    ({"name": "x", "source": "sqlite:///a.db", "dest": "sqlite:///b.db",
      "options": {"chunk_rows": 0}}, "option chunk_rows must be positive"),
    ({"name": "x", "source": "sqlite:///a.db", "dest": "sqlite:///b.db", "rename": ["x"]},
     "rename 'x' has no '='"),
])
def test_bad_create_is_400(client: TestClient, body: dict, message: str) -> None:
    response = client.post("/api/tasks", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(message)


def test_duplicate_and_malformed_requests(client: TestClient, shop: dict[str, str]) -> None:
    create(client, shop)
    assert create(client, shop).status_code == 400
    broken = client.post("/api/tasks", content=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["message"].startswith("bad request")
    assert client.get("/api/tasks/shop/sessions/elsewhere").status_code == 400
    assert client.get("/api/tasks/shop/events?after=-1").status_code == 400
    assert client.get("/api/nothing").status_code == 404


def test_passwords_never_returned(client: TestClient, tmp_path: Path) -> None:
    """A refused connection says which URL failed, with the password hidden."""
    response = client.post("/api/tasks", json={
        "name": "pg", "source": "postgresql://app:hunter2@127.0.0.1:1/shop",
        "dest": f"sqlite:///{tmp_path / 'x.db'}"})
    assert response.status_code == 400
    assert "hunter2" not in response.text and "app:***@127.0.0.1" in response.text


def test_token_guards_the_api_only(home: Path) -> None:
    from turnout.web import create_app

    with TestClient(create_app("s3cret", home=home)) as client:
        refused = client.get("/api/tasks")
        assert refused.status_code == 401 and "token" in refused.json()["message"]
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        wrong = client.get("/api/tasks", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/api/tasks", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and right.json() == []
        for page in ("/", "/new", "/login", "/tasks/x", "/static/app.js", "/openapi.json"):
            assert client.get(page).status_code == 200, page


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/tasks", "/api/tasks/{name}", "/api/tasks/{name}/start",
            "/api/tasks/{name}/stop", "/api/tasks/{name}/events", "/api/tasks/{name}/precheck",
            "/api/tasks/{name}/verify", "/api/tasks/{name}/sessions/{side}",
            "/api/tasks/{name}/sessions/{side}/end", "/api/sessions",
            "/api/tasks/{name}/switchover", "/api/tasks/{name}/switchover/abort",
            "/api/tasks/{name}/rollback", "/api/tasks/{name}/finish"} <= set(paths)
    assert not [p for p in paths if not p.startswith("/api/")]


# switchover, abort, rollback, finish ---------------------------------------

STEPS = ["checked", "reverse_capture", "frozen", "writers_gone", "drained",
         "reverse_prepared", "verified", "opened", "moved", "reverse_started", "switched"]


def following(client: TestClient, shop: dict[str, str]) -> None:
    """The task created, started in the server, and following changes with no delay."""
    create(client, shop)
    assert client.post("/api/tasks/shop/start").status_code == 200
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental"
             and s["delay_s"] == 0 and s["state"] == "Migrating")


def switch_over(client: TestClient, **options: Any) -> dict:
    """POST a switchover (no grace) and wait for its job to end; the checklist then."""
    started = client.post("/api/tasks/shop/switchover",
                          json={"grace": 0, "session_timeout": 5, **options})
    assert started.status_code == 202, started.text
    assert started.json()["job"]["action"] == "switchover"
    return wait_for(client, "/api/tasks/shop/switchover",
                    lambda s: s["job"]["state"] != "running", timeout=60)


def test_switchover_rollback_again_and_finish(client: TestClient, shop: dict[str, str],
                                              tmp_path: Path) -> None:
    following(client, shop)
    idle = client.get("/api/tasks/shop/switchover").json()
    assert (idle["steps"], idle["done"], idle["job"]["state"]) == (STEPS, None, "idle")
    switched = switch_over(client)
    assert switched["done"] == "switched" and switched["job"]["state"] == "done", switched
    assert switched["job"]["result"]["reverse"] == "shop-reverse"
    assert any(m.startswith("the workload may now move") for m in switched["job"]["messages"])
    with sqlite3.connect(tmp_path / "new.db") as db:  # the workload writes on the new side
        db.execute("INSERT INTO item VALUES (4, 'quince')")
    back = client.post("/api/tasks/shop/rollback", json={"session_timeout": 5})
    assert back.status_code == 200, back.text
    assert back.json()["done"] is None and back.json()["job"]["result"]["rolled_back"] is True
    assert sqlite3.connect(tmp_path / "shop.db").execute(
        "SELECT name FROM item WHERE id = 4").fetchone() == ("quince",)
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental"
             and s["delay_s"] == 0)
    assert switch_over(client)["done"] == "switched"
    assert client.post("/api/tasks/shop/switchover/abort").status_code == 409
    again = switch_over(client)
    assert again["job"]["state"] == "failed" and "switched over already" in again["job"]["error"]
    done = client.post("/api/tasks/shop/finish", json={"keep_accounts": False})
    assert done.status_code == 200, done.text
    assert done.json()["action"] == "finish" and done.json()["result"]["finished"] is True
    assert any(m.startswith("finished: nothing of turnout") for m in done.json()["messages"])
    assert client.get("/api/tasks").json() == []
    for path in ("shop.db", "new.db"):
        with sqlite3.connect(tmp_path / path) as db:
            assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE '%turnout%'"
                              ).fetchall() == []


def test_failed_switchover_then_abort(client: TestClient, shop: dict[str, str]) -> None:
    following(client, shop)
    failed = switch_over(client, on_switch="exit 3")  # everything but the move is done
    assert failed["job"]["state"] == "failed" and failed["done"] == "opened"
    assert failed["job"]["error"].startswith("--on-switch command exited 3")
    aborted = client.post("/api/tasks/shop/switchover/abort")
    assert aborted.status_code == 200, aborted.text
    assert aborted.json()["done"] is None
    assert aborted.json()["job"]["result"] == {"task": "shop", "aborted_after": "opened",
                                               "forward_restarted": True}
    assert [t["name"] for t in client.get("/api/tasks").json()] == ["shop"]
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental")
    assert client.delete("/api/tasks/shop").status_code == 200


def test_switchover_job_is_followed_live(client: TestClient, shop: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    release = threading.Event()

    def fake(name: str, store: Any = None, say: Any = None, **options: Any) -> dict:
        say(f"grace {options['grace']} at postgresql://u:hunter2@db/x")
        release.wait(10)
        return {"task": name}

    monkeypatch.setattr(api, "switchover", fake)
    create(client, shop)
    client.post("/api/tasks/shop/switchover", json={"grace": 7})
    running = wait_for(client, "/api/tasks/shop/switchover", lambda s: s["job"]["messages"])
    assert running["job"]["state"] == "running"
    assert running["job"]["messages"] == ["grace 7.0 at postgresql://u:***@db/x"]
    busy = client.post("/api/tasks/shop/rollback")
    assert busy.status_code == 409 and "busy with its switchover" in busy.json()["message"]
    release.set()
    done = wait_for(client, "/api/tasks/shop/switchover", lambda s: s["job"]["state"] != "running")
    assert done["job"]["result"] == {"task": "shop"}


def test_switchover_actions_before_a_switchover(client: TestClient,
                                                shop: dict[str, str]) -> None:
    create(client, shop)
    for path in ("rollback", "finish"):
        refused = client.post(f"/api/tasks/shop/{path}")
        assert refused.status_code == 409, refused.text
        assert "has not switched over" in refused.json()["message"]
    assert client.post("/api/tasks/shop/switchover", json={"grace": -1}).status_code == 400
    assert client.post("/api/tasks/shop/rollback", json={"force": True}).status_code == 400
    failed = switch_over(client)  # the task does not run: the first step refuses
    assert failed["done"] is None and "start it and wait" in failed["job"]["error"]


def test_agents_are_listed_with_their_tasks(client: TestClient, home: Path) -> None:
    assert client.get("/api/agents").json() == []
    leases.beat(Store(home), "mover-1", "host-a", 4242, 3, 0.0)
    listed = client.get("/api/agents").json()
    assert [(a["name"], a["alive"], a["tasks"]) for a in listed] == [("mover-1", True, [])]


def test_a_ddl_at_the_barrier_is_shown_and_let_go(client: TestClient, shop: dict[str, str],
                                                  tmp_path: Path) -> None:
    """A DROP TABLE waits at the barrier by default (on_drop = stop): the task page shows it
    and its answer starts the task again."""
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    assert create(client, shop).status_code == 201
    assert client.get("/api/tasks/shop/ddl").json() == {"task": "shop", "waiting": None}
    client.post("/api/tasks/shop/start")
    wait_for(client, "/api/tasks/shop", lambda s: s["phase"] == "incremental")
    db = sqlite3.connect(tmp_path / "shop.db")
    db.execute("DROP TABLE item")
    db.commit()
    db.close()
    wait_for(client, "/api/tasks/shop", lambda s: s["state"] == "Paused")
    waiting = client.get("/api/tasks/shop/ddl").json()["waiting"]
    assert waiting["table"] == "item" and waiting["proposed"] == ['DROP TABLE IF EXISTS "item"']
    wrong = client.post("/api/tasks/shop/ddl", json={"how": "later"})
    assert wrong.status_code == 400
    done = client.post("/api/tasks/shop/ddl", json={"how": "skip"})
    assert done.status_code == 200 and done.json()["how"] == "skip", done.text
    wait_for(client, "/api/tasks/shop", lambda s: s["state"] == "Migrating")
    again = client.post("/api/tasks/shop/ddl", json={"how": "skip"})
    assert again.status_code == 400 and "waits at no DDL" in again.json()["message"]
    client.post("/api/tasks/shop/stop")
    db = sqlite3.connect(tmp_path / "new.db")
    assert db.execute("SELECT count(*) FROM item").fetchone() == (3,)  # kept: skipped
    db.close()
