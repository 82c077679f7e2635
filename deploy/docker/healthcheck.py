"""Container health check: ask the running aduan process's own HTTP endpoint.

    python healthcheck.py            # which process? read from PID 1's command line
    python healthcheck.py gateway    # or name it (Kubernetes exec probes, tests)

One image runs every process (``aduan worker``, ``aduan gateway``, ``aduan notifier``), so the
check finds the command, then asks that process on 127.0.0.1 (ports from the same environment
variables the processes read): the worker's ``/stats/`` must say ``"ready": true`` (table
recovered), the gateway's ``/readyz`` must answer 200 (producer started, read model caught up),
the notifier's, the reporter service's and the incident detector's ``/metrics`` must answer
200. Exit 0 healthy, 1 not.
A command without an HTTP endpoint (``topics``, ``--help``) has nothing to check: exit 0.
Standard library only: it runs in the image without importing aduan.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

TIMEOUT_S = 4.0


def command_of(argv: Sequence[str]) -> str | None:
    """The aduan subcommand in a process's argv (``.../python .../aduan worker`` -> ``worker``)."""
    for index, arg in enumerate(argv):
        if Path(arg).name == "aduan":
            rest = [a for a in argv[index + 1 :] if not a.startswith("-")]
            return rest[0] if rest else None
    return None


def pid1_argv() -> list[str]:
    raw = Path("/proc/1/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


def probe_url(command: str, env: Mapping[str, str]) -> str | None:
    """Where ``command``'s health answers (None: a command without an HTTP endpoint)."""
    if command == "worker":
        return f"http://127.0.0.1:{env.get('ADUAN_WEB_PORT', '6066')}/stats/"
    if command == "gateway":
        return f"http://127.0.0.1:{env.get('ADUAN_GATEWAY_PORT', '8080')}/readyz"
    if command == "notifier":
        return f"http://127.0.0.1:{env.get('ADUAN_NOTIFIER_METRICS_PORT', '6068')}/metrics"
    if command == "reporter":
        return f"http://127.0.0.1:{env.get('ADUAN_REPORTER_METRICS_PORT', '6069')}/metrics"
    if command == "incidents":
        return f"http://127.0.0.1:{env.get('ADUAN_INCIDENTS_METRICS_PORT', '6070')}/metrics"
    return None


def healthy(command: str, url: str) -> tuple[bool, str]:
    """(healthy, one line why) after one GET of ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            body = answer.read()
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc}"
    if command == "worker":
        try:
            ready = json.loads(body).get("ready") is True
        except (ValueError, AttributeError):
            return False, f"{url}: not the worker's JSON stats"
        return ready, f"{url}: ready={ready}"
    return True, f"{url}: 200"


def main(argv: Sequence[str]) -> int:
    command = argv[0] if argv else command_of(pid1_argv())
    url = probe_url(command or "", os.environ)
    if url is None:
        print(f"healthcheck: {command or 'no command'} has no health endpoint")
        return 0
    ok, why = healthy(command or "", url)
    print(f"healthcheck: {command} {'healthy' if ok else 'UNHEALTHY'}: {why}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
