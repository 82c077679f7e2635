"""``python -m chaos``: a seeded chaos run against its own broker; exit 1 on any mismatch."""

from __future__ import annotations

import argparse
import random
import sys

from chaos.cluster_faults import ALL_STEPS
from chaos.report import summary
from chaos.run import RunConfig, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=None, help="default: messages / 5")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=None, help="worker SIGKILLs (default 24)")
    parser.add_argument("--broker-restarts", type=int, default=3)
    parser.add_argument("--rate", type=float, default=400.0, help="messages/s while publishing")
    parser.add_argument("--duration", type=float, default=None, help="seconds of publishing")
    parser.add_argument("--days", type=float, default=45.0, help="simulated days of the run")
    parser.add_argument("--port", type=int, default=19692)
    parser.add_argument("--controller-port", type=int, default=19693)
    parser.add_argument(
        "--cluster", type=int, default=0, help="a KRaft cluster of N nodes (0: one broker)"
    )
    parser.add_argument("--cluster-port", type=int, default=19800, help="its first port")
    parser.add_argument(
        "--cluster-steps",
        default=",".join(ALL_STEPS),
        help=f"broker failures, in order (of {', '.join(ALL_STEPS)})",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1, 10**9)
    rate = args.messages / args.duration if args.duration else args.rate
    config = RunConfig(
        seed=seed,
        messages=args.messages,
        cases=args.cases,
        workers=args.workers,
        worker_kills=args.kills if args.kills is not None else 24,
        broker_restarts=args.broker_restarts,
        rate=rate,
        simulated_days=args.days,
        port=args.port,
        controller_port=args.controller_port,
        cluster_nodes=args.cluster,
        cluster_port=args.cluster_port,
        cluster_steps=tuple(s for s in args.cluster_steps.split(",") if s),
    )
    try:
        result = run(config, say=lambda line: print(line, flush=True))
    except Exception:
        print(f"chaos: the run failed (seed {seed})", file=sys.stderr, flush=True)
        raise
    for line in summary(result):
        print(line, flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
