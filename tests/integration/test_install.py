"""turnout as a user installs it: the wheel and the sdist build, and the wheel installed into a
fresh virtual environment, without extras, gives a `turnout` that moves SQLite and
PostgreSQL and names the extra MySQL needs; `pipx install .`, as the README says, gives a
`turnout` command of its own environment. Slow (builds and installs from the package
index), so marked; run with `-m slow`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import make_db
from turnout.testing.servers import PgServer

ROOT = Path(__file__).resolve().parents[2]
SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO item VALUES (1, 'apple'), (2, 'pear');
"""


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return done


@pytest.mark.slow
def test_wheel_and_sdist_build_and_the_wheel_installs_a_working_tool(
        tmp_path: Path, pg_server: PgServer) -> None:
    dist = tmp_path / "dist"
    built = run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels, sdists = list(dist.glob("turnout-*.whl")), list(dist.glob("turnout-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(dist.iterdir())

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    installed = run(venv / "bin" / "pip", "install", "-q", wheels[0], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TURNOUT_HOME=str(tmp_path / "home"), COLUMNS="200")

    def turnout(*args: str | Path) -> subprocess.CompletedProcess:
        return run(venv / "bin" / "turnout", *args, cwd=tmp_path, env=env, timeout=120)

    version = turnout("--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout, version.stderr

    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    assert turnout("task", "create", "lite", "--source", f"sqlite:///{src}", "--dest",
                   f"sqlite:///{dst}", "--types", "schema,full").returncode == 0
    ran = turnout("task", "run", "lite")
    assert ran.returncode == 0, ran.stderr
    assert turnout("verify", "lite").returncode == 0

    source = pg_server.create_database(f"install_src_{os.getpid()}")
    dest = pg_server.create_database(f"install_dst_{os.getpid()}")
    with psycopg.connect(source) as conn:
        conn.execute("CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO item VALUES (1, 'apple'), (2, 'pear')")
    created = turnout("task", "create", "pg", "--source", source, "--dest", dest,
                      "--types", "schema,full")
    assert created.returncode == 0, created.stderr
    ran = turnout("task", "run", "pg")
    assert ran.returncode == 0, ran.stderr
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT * FROM item ORDER BY id").fetchall() == [
            (1, "apple"), (2, "pear")]
    assert turnout("task", "delete", "pg").returncode == 0

    mysql = turnout("sessions", "mysql://app@127.0.0.1:1/shop")  # no extra: no driver
    assert mysql.returncode == 2 and "pip install 'turnout[mysql]'" in mysql.stderr
    assert "Traceback" not in mysql.stderr


@pytest.mark.slow
def test_pipx_install_dot_gives_a_turnout_command(tmp_path: Path) -> None:
    """`pipx install .` in a copy of the source tree (the build writes build/ beside the
    sources), with pipx's home and bin folder in the test's own directory."""
    tree = tmp_path / "turnout"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis",
        "__pycache__", "*.db", "out"))  # out: bench/out, what benches leave
    pipx = tmp_path / "pipx"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIPX_HOME=str(pipx / "home"), PIPX_BIN_DIR=str(pipx / "bin"),
               PIPX_MAN_DIR=str(pipx / "man"), TURNOUT_HOME=str(tmp_path / "home"))
    installed = run(sys.executable, "-m", "pipx", "install", ".", cwd=tree, env=env)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    command = pipx / "bin" / "turnout"
    assert command.resolve().is_relative_to(pipx / "home")  # its own environment

    version = run(command, "--version", cwd=tmp_path, env=env, timeout=120)
    assert version.returncode == 0 and "0.1.0" in version.stdout, version.stderr
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    created = run(command, "task", "create", "lite", "--source", f"sqlite:///{src}", "--dest",
                  f"sqlite:///{dst}", "--types", "schema,full", cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    ran = run(command, "task", "run", "lite", cwd=tmp_path, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert run(command, "verify", "lite", cwd=tmp_path, env=env).returncode == 0
    mysql = run(command, "sessions", "mysql://app@127.0.0.1:1/shop", cwd=tmp_path, env=env)
    assert mysql.returncode == 2 and "pip install 'turnout[mysql]'" in mysql.stderr
