"""Benchmark: what fencing costs each apply transaction (an agent's worker carries an epoch).

Usage:
    .venv/bin/python bench/fence_cost.py [--engines postgresql,mysql] [--batches 2000]
        [--repeat 3]

Starts private servers and applies --batches empty batches (the checkpoint alone), each
its own transaction, as a worker following a quiet source nearly does: once
with no epoch (a task run without agents, as the other benches run it) and once with one
(an agent's worker: the epoch row is written if absent and locked first, then saved with
the checkpoint), alternating, and prints the time per batch of each and the difference.
A large catch-up batch (20,000 changes) pays the same per-transaction cost once.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from _common import Timer, add_dir_option, load_average, median, work_dir

from turnout import engines
from turnout.coalesce import coalesce
from turnout.engines import position_from_json
from turnout.model import Checkpoint

POSITIONS = {"postgresql": '{"engine": "postgresql", "lsn": "0/0"}',
             "mysql": '{"engine": "mysql", "file": "binlog.000001", "pos": 4}'}


def run(url: str, scheme: str, batches: int, epoch: int | None) -> float:
    """Seconds per batch."""
    engine = engines.connect(url)
    try:
        position = position_from_json(POSITIONS[scheme])
        with Timer() as timer:
            for i in range(batches):
                engine.apply(coalesce([], {}, position),
                             Checkpoint("fence_bench", {"n": str(i)}, epoch=epoch))
        return timer.seconds / batches
    finally:
        engine.drop_checkpoint("fence_bench")
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engines", default="postgresql,mysql")
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    add_dir_option(parser)
    opts = parser.parse_args()
    work = work_dir("fence_cost", opts.dir)
    servers: list[Any] = []
    try:
        for scheme in opts.engines.split(","):
            url = start(scheme, work, servers)
            times: dict[str, list[float]] = {"no epoch": [], "epoch": []}
            for rnd in range(opts.repeat):
                order = [None, 1] if rnd % 2 == 0 else [1, None]
                for epoch in order:
                    times["epoch" if epoch else "no epoch"].append(
                        run(url, scheme, opts.batches, epoch))
            off, on = median(times["no epoch"]), median(times["epoch"])
            print(f"{scheme}: {opts.batches} empty batches x {opts.repeat}, load "
                  f"{load_average()}: no epoch {off * 1e3:.3f} ms/batch, epoch "
                  f"{on * 1e3:.3f} ms/batch, fencing +{(on - off) * 1e3:.3f} ms "
                  f"({on / off - 1:+.0%}); runs no epoch "
                  f"{', '.join(f'{t * 1e3:.3f}' for t in times['no epoch'])}, epoch "
                  f"{', '.join(f'{t * 1e3:.3f}' for t in times['epoch'])}", flush=True)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def start(scheme: str, work: Path, servers: list[Any]) -> str:
    from turnout.testing.servers import start_mariadb, start_postgres

    if scheme == "postgresql":
        pg = start_postgres(work / "pg")
        servers.append(pg)
        url = str(pg.create_database("fence"))
    else:
        my = start_mariadb(work / "my")
        servers.append(my)
        url = str(my.create_database("fence"))
    return url


if __name__ == "__main__":
    main()
