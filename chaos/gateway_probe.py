"""The gateway under a cluster run: ``aduan gateway`` as its own process, probed with web intakes.

The probe posts one complaint at a time, all through the run, and keeps every answer with its wall
time span. Judged against the cluster's timeline (nodes up) and the topics read back:

- accepted while it can reach min.insync.replicas: every request whose whole span had at least
  2 of 3 brokers up got 202 (within the gateway's publish timeout);
- 503 (never a false acknowledgement) while it cannot: every request whose whole span had 1 of
  3 up got 503 with Retry-After, within the publish timeout plus a little;
- every 202's tracking number is on ``complaints.intake`` (read committed) afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.cluster import REPO, free_port
from chaos.kafka_cluster import KafkaCluster

DEV_API_KEY = "dev-channel-key"  # the gateway's development key (no security file)
ANSWER_SLACK = 3.0  # seconds beyond the publish timeout a 503 may take on a loaded machine


@dataclass(frozen=True)
class Answer:
    began: float
    ended: float
    status: int  # 0: no HTTP answer at all
    tracking: str | None
    retry_after: str | None

    @property
    def seconds(self) -> float:
        return self.ended - self.began


@dataclass
class GatewayVerdict:
    answers: int = 0
    accepted_with_quorum: int = 0
    refused_with_quorum: list[Answer] = field(default_factory=list)  # must stay empty
    refused_without: int = 0
    accepted_without: list[Answer] = field(default_factory=list)  # false acks: must stay empty
    slow_refusals: list[Answer] = field(default_factory=list)  # 503 later than the bound
    missing_acknowledged: list[str] = field(default_factory=list)  # 202 but not on the topic
    during_recovery: dict[int, int] = field(default_factory=dict)  # status -> answers, not judged
    longest_accept: float = 0.0
    longest_refusal: float = 0.0
    bound: float = 0.0

    @property
    def ok(self) -> bool:
        return not (
            self.refused_with_quorum
            or self.accepted_without
            or self.slow_refusals
            or self.missing_acknowledged
        )


class Gateway:
    def __init__(self, env: dict[str, str], log_path: Path, publish_timeout: float) -> None:
        self.port = free_port()
        self.publish_timeout = publish_timeout
        self.env = {
            **env,
            "ADUAN_GATEWAY_PUBLISH_TIMEOUT": str(publish_timeout),
            "ADUAN_GATEWAY_RATE_PER_MINUTE": "0",
            "ADUAN_GATEWAY_DEV_MODE": "true",  # the development API key below
            "ADUAN_GATEWAY_STORE_DIR": str(log_path.parent / "gateway-store"),
            # this run's own: the repository's var/readmodel.sqlite belongs to `make run`
            "ADUAN_READMODEL_URL": f"sqlite:///{log_path.parent / 'readmodel.sqlite'}",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        argv = [sys.executable, "-m", "consumers.cli", "gateway", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not get ready; see {self.log_path}")
            time.sleep(0.3)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                return int(answer.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Probe(threading.Thread):
    """Posts web intakes one after another (a pause between them) until ``finish``."""

    def __init__(self, gateway: Gateway, seed: int, pause: float = 0.25) -> None:
        super().__init__(name="chaos-gateway-probe", daemon=True)
        self.gateway = gateway
        self.seed = seed
        self.pause = pause
        self.answers: list[Answer] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stopping.wait(self.pause):
            n += 1
            self.answers.append(self._post(f"probe-{self.seed}-{os.getpid()}-{n}"))

    def _post(self, submission: str) -> Answer:
        import json

        form = {
            "submission_id": submission,
            "text": "Lampu jalan di depan Puskesmas Masohi padam sejak seminggu, jalan gelap.",
            "name": "Siti Rahayu",
            "phone": "081298765432",
            "location": {"address": "Kota Masohi", "latitude": -3.3, "longitude": 128.93},
        }
        request = urllib.request.Request(
            f"{self.gateway.url}/v1/intake/web",
            data=json.dumps(form).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": DEV_API_KEY},
            method="POST",
        )
        began = time.time()
        timeout = self.gateway.publish_timeout + 30
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                body: dict[str, Any] = json.load(answer)
                return Answer(began, time.time(), int(answer.status), body["tracking_number"], None)
        except urllib.error.HTTPError as exc:
            return Answer(began, time.time(), exc.code, None, exc.headers.get("Retry-After"))
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return Answer(began, time.time(), 0, None, None)

    def finish(self) -> None:
        self.stopping.set()
        self.join(self.gateway.publish_timeout + 60)


def judge(
    answers: list[Answer], cluster: KafkaCluster, on_intake: set[str], publish_timeout: float
) -> GatewayVerdict:
    verdict = GatewayVerdict(answers=len(answers), bound=publish_timeout + ANSWER_SLACK)
    quorum = cluster.nodes // 2 + 1  # 2 of 3: min.insync.replicas and the KRaft majority
    for answer in answers:
        if answer.status == 202 and answer.tracking not in on_intake:
            verdict.missing_acknowledged.append(str(answer.tracking))
        span = cluster.up_between(answer.began, answer.ended)
        if span is None:
            verdict.during_recovery[answer.status] = (
                verdict.during_recovery.get(answer.status, 0) + 1
            )
            continue
        fewest, most = span
        if fewest >= quorum:
            if answer.status == 202:
                verdict.accepted_with_quorum += 1
                verdict.longest_accept = max(verdict.longest_accept, answer.seconds)
            else:
                verdict.refused_with_quorum.append(answer)
        elif most < quorum:
            if answer.status == 202:
                verdict.accepted_without.append(answer)
                continue
            verdict.refused_without += 1
            verdict.longest_refusal = max(verdict.longest_refusal, answer.seconds)
            if answer.status != 503 or not answer.retry_after or answer.seconds > verdict.bound:
                verdict.slow_refusals.append(answer)
    return verdict
