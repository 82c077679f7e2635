"""``python -m consumers.notifier [options]``: the notifier's own entry (as ``aduan notifier``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from consumers.notifier.runner import NotifierStartError, serve


def _say(line: str) -> None:
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumers.notifier")
    parser.add_argument("--directory", type=Path, default=None, help="Officer directory YAML.")
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("ADUAN_NOTIFIER_METRICS_PORT", "6068")),
        help="Serve /metrics and /healthz here (0 = off).",
    )
    parser.add_argument(
        "--metrics-host",
        default=os.environ.get("ADUAN_NOTIFIER_METRICS_HOST", "127.0.0.1"),
        help="Address /metrics and /healthz bind (0.0.0.0: reachable from outside).",
    )
    args = parser.parse_args(argv)
    try:
        serve(args.directory, args.check, args.metrics_port, _say, args.metrics_host)
    except NotifierStartError as exc:
        print(f"aduan: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
