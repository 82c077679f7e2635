"""A stop that always ends: after SIGINT/SIGTERM, exit by force if the clean stop hangs.

faust and aiokafka stop cleanly while the broker answers; while it does not, their stop waits on
a leave-group, a commit or a fetch retry loop for a long time (more than 30 s measured). A stop
request arms `StopWatchdog`: a daemon thread that ends the process with ``os._exit`` once
``grace`` seconds pass. A second signal ends it at once. Nothing is lost that a clean stop would
have kept: input offsets are committed only after their output is acknowledged, so what was
in flight is redelivered.
"""

from __future__ import annotations

import os
import sys
import threading

#: Exit code of a forced stop (the clean stop did not finish in time).
FORCED_EXIT_CODE = 3
DEFAULT_GRACE = 8.0


class StopWatchdog:
    def __init__(self, process: str, grace: float = DEFAULT_GRACE) -> None:
        self.process = process
        self.grace = grace
        self._armed = threading.Event()
        self._lock = threading.Lock()

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def requested(self) -> None:
        """Call from the signal handler: the first call arms the timer, the second exits now."""
        with self._lock:
            if self._armed.is_set():
                self._force("a second stop signal")
                return
            self._armed.set()
        threading.Thread(target=self._wait, name="stop-watchdog", daemon=True).start()

    def _wait(self) -> None:
        threading.Event().wait(self.grace)
        self._force(f"the clean stop did not finish within {self.grace:.0f} s")

    def _force(self, why: str) -> None:
        try:
            sys.stderr.write(f"aduan {self.process}: stopping by force ({why})\n")
            sys.stderr.flush()
        finally:
            os._exit(FORCED_EXIT_CODE)
