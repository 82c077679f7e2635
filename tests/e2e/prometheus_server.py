"""A real Prometheus server process for the end-to-end tests (Debian's ``prometheus``)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.harness import REPO, wait_for
from tests.tools import require_tool

PROMETHEUS_DIR = REPO / "deploy" / "prometheus"


def readme_retention() -> str:
    """The ``--storage.tsdb.retention.time`` of README's Prometheus command (e.g. ``31d``)."""
    text = re.sub(r"\\\n", " ", (REPO / "README.md").read_text(encoding="utf-8"))
    command = next(line for line in text.splitlines() if line.startswith("prometheus --config"))
    found = re.search(r"--storage\.tsdb\.retention\.time=(\S+)", command)
    assert found, f"README's Prometheus command keeps the default 15 days: {command}"
    return found[1]


def production_rules(name: str) -> str:
    return (PROMETHEUS_DIR / "rules" / name).read_text(encoding="utf-8")


class Prometheus:
    """One server on a free port; ``config`` is prometheus.yml as a mapping, ``rules`` the rule
    files (name -> text) written next to it; ``data`` the TSDB directory (kept across restarts)."""

    def __init__(
        self,
        workdir: Path,
        port: int,
        config: dict[str, Any],
        rules: dict[str, str] | None = None,
        data: Path | None = None,
        flags: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        workdir.mkdir(parents=True, exist_ok=True)
        for name, text in (rules or {}).items():
            (workdir / name).write_text(text, encoding="utf-8")
        config = {**config, "rule_files": sorted(rules or {})}
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                require_tool("prometheus"),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={data or workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
                *flags,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
        )
        wait_for(self.ready, 60, "Prometheus to be ready", interval=0.2)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            if self.process.poll() is not None:
                raise AssertionError(self.log_path.read_text()) from None
            return False

    def _get(self, path: str, **params: str) -> Any:
        url = f"{self.url}{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                answer = json.load(r)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{params}: {exc.read().decode()}") from None
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; AssertionError (with Prometheus' message) if it does not parse."""
        result: list[dict[str, Any]] = self._get("/api/v1/query", query=expr)["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Any]:
        data = self._get(
            "/api/v1/query_range", query=expr, start=f"{start}", end=f"{end}", step=f"{step}"
        )
        result: list[Any] = data["result"]
        return result

    def wait(self, expr: str, what: str, timeout: float = 30) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = wait_for(lambda: self.query(expr), timeout, what, 0.25)
        return found

    def firing(
        self, alert: str, what: str, timeout: float = 30, **labels: str
    ) -> list[dict[str, Any]]:
        matchers = "".join(f',{k}="{v}"' for k, v in labels.items())
        expr = f'ALERTS{{alertname="{alert}",alertstate="firing"{matchers}}}'
        return self.wait(expr, what, timeout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()
