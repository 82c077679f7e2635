"""`aduan run`'s supervisor and the children's stop watchdog: a stop ends, whatever a child does."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('stubborn', flush=True); time.sleep(600)"
)
SUPERVISE = """
import sys
from consumers.supervisor import Service, run
stubborn = [sys.executable, "-c", {stubborn!r}]
sys.exit(run([Service("a", stubborn, "-"), Service("b", stubborn, "-")], grace=1.0))
"""


def start(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def wait_for_line(
    process: subprocess.Popen[str], text: str, times: int = 1, timeout: float = 60
) -> None:
    """Read the output until ``text`` was seen ``times`` times."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while sum(line.count(text) for line in seen) < times:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
        if time.monotonic() > deadline or (not ready and process.poll() is not None):
            break
    if sum(line.count(text) for line in seen) < times:
        raise AssertionError(f"not {times} lines with {text!r} in {seen}")


def test_children_that_ignore_sigterm_are_killed_after_the_grace() -> None:
    supervisor = start(SUPERVISE.format(stubborn=STUBBORN))
    wait_for_line(supervisor, "stubborn", times=2)  # both children ignore SIGTERM now
    asked = time.monotonic()
    supervisor.send_signal(signal.SIGINT)
    output, _ = supervisor.communicate(timeout=30)
    took = time.monotonic() - asked
    assert "did not stop in 1s; killing it" in output
    assert "a stopped (exit -9)" in output
    assert took < 10, took  # grace 1 s; before, 30 s were hard-wired


def test_a_second_ctrl_c_kills_at_once() -> None:
    code = SUPERVISE.format(stubborn=STUBBORN).replace("grace=1.0", "grace=300.0")
    supervisor = start(code)
    wait_for_line(supervisor, "stubborn", times=2)  # both children ignore SIGTERM now
    supervisor.send_signal(signal.SIGINT)
    # Two SIGINTs sent back to back can merge into one (signals are not queued); a human's
    # second Ctrl-C comes later than this.
    time.sleep(0.5)
    asked = time.monotonic()
    supervisor.send_signal(signal.SIGINT)
    output, _ = supervisor.communicate(timeout=60)
    assert time.monotonic() - asked < 30
    assert "b stopped (exit -9)" in output


WATCHED = """
import signal, sys, time
from consumers.stopping import StopWatchdog
dog = StopWatchdog("test", grace={grace})
signal.signal(signal.SIGTERM, lambda *_: dog.requested())  # and never stop by itself
print("armed", flush=True)
time.sleep(600)
"""


def test_the_watchdog_ends_a_process_whose_clean_stop_hangs() -> None:
    process = start(WATCHED.format(grace=1.0))
    wait_for_line(process, "armed")
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 3
    assert "stopping by force (the clean stop did not finish within 1 s)" in output
    assert time.monotonic() - asked < 10


def test_a_second_signal_ends_it_at_once() -> None:
    process = start(WATCHED.format(grace=300.0))
    wait_for_line(process, "armed")
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # not merged with the first (signals are not queued)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 3
    assert "a second stop signal" in output
