"""A Redis migration in a process of its own, so a test can kill -9 it:
`python -m tests.integration.redis_worker SOURCE_URL DEST_URL OWNER [--resnapshot]`.
SIGTERM stops it cleanly; a failure prints its one-line message and exits 2."""

from __future__ import annotations

import signal
import sys
import threading

from turnout.engines.redis.sync import Options, run
from turnout.engines.redis.url import RedisUrl
from turnout.errors import TurnoutError


def main() -> int:
    source, dest, owner = sys.argv[1:4]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run(RedisUrl.parse(source), RedisUrl.parse(dest), owner, stop,
            Options(resnapshot="--resnapshot" in sys.argv))
    except TurnoutError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
