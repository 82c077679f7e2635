"""Broker connectivity tracking: the lines it logs, the gauge, the client-log filter."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from consumers.connectivity import BrokerLink, ReconnectNoiseFilter, install_noise_filter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gauge(registry: CollectorRegistry, process: str) -> float | None:
    return registry.get_sample_value("aduan_broker_connected", {"process": process})


def test_one_line_lost_one_summary_per_interval_one_line_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, registry = FakeClock(), CollectorRegistry()
    link = BrokerLink("worker", ["k:9092"], registry=registry, summary_interval=60, clock=clock)
    assert gauge(registry, "worker") == 1
    caplog.set_level(logging.INFO, logger="aduan.broker")
    for second in range(150):  # 150 s outage, one probe per second
        clock.now = float(second)
        link.observe(False)
    assert not link.connected
    assert gauge(registry, "worker") == 0
    assert link.status()["unreachable_seconds"] == 149
    clock.now = 150.0
    link.observe(True)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines  # lost, summary at 60 s and 120 s, back
    assert "unreachable from the worker" in lines[0]
    assert "still unreachable (60 s unreachable, 61 probes failed" in lines[1]
    assert "reachable again (150 s unreachable, 150 probes failed" in lines[3]
    assert link.connected
    assert gauge(registry, "worker") == 1
    assert link.status()["unreachable_seconds"] == 0


def record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_filter_drops_reconnect_noise_while_down_and_throttles_it_while_up() -> None:
    link = BrokerLink("gateway", ["k:9092"])
    noise = ReconnectNoiseFilter(link)
    refused = record(
        "aiokafka", "Unable connect to node with id %s: %s", 1, "[Errno 111] Connect call failed"
    )
    assert noise.filter(refused)  # connected: the first of its kind passes
    assert not noise.filter(refused)  # the next ones within the interval do not
    link.observe(False)
    fetch = record(
        "aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", 1, "NodeNotReadyError: x"
    )
    assert not noise.filter(fetch)
    # Anything else passes, down or not.
    assert noise.filter(record("aiokafka", "Unexpected error in sender routine"))
    assert noise.filter(
        record(
            "aiokafka.consumer.fetcher",
            "Failed fetch messages from %s: %s",
            1,
            "CorruptRecordError",
        )
    )
    assert link.client_errors == 1  # counted during the outage (the earlier ones were before it)


def test_filter_is_on_every_client_logger_and_installed_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = BrokerLink("notifier", ["k:9092"])
    link.observe(False)
    install_noise_filter(link)
    install_noise_filter(link)
    for name in (
        "aiokafka",
        "aiokafka.consumer.fetcher",
        "aiokafka.consumer.group_coordinator",
        "kafka.net.connection",
    ):
        logger = logging.getLogger(name)
        assert sum(isinstance(f, ReconnectNoiseFilter) for f in logger.filters) == 1, name
    caplog.set_level(logging.ERROR)
    logging.getLogger("aiokafka.consumer.group_coordinator").error(
        "Group Coordinator Request failed: %s", "NodeNotReadyError: not ready"
    )
    logging.getLogger("aiokafka.consumer.group_coordinator").error("something else broke")
    client = [r.getMessage() for r in caplog.records if r.name.startswith("aiokafka")]
    assert client == ["something else broke"]
    link.observe(True)


def test_loggers_created_after_the_start_are_quieted_when_the_broker_is_lost() -> None:
    link = BrokerLink("worker", ["k:9092"], probe_interval=3600)
    link.start()
    try:
        late = logging.getLogger("aiokafka.created.later")
        assert not late.filters
        link.observe(False)
        assert any(isinstance(f, ReconnectNoiseFilter) for f in late.filters)
    finally:
        link.observe(True)
        link.stop()


def test_notifier_port_serves_health_and_the_gauge() -> None:
    import json
    import socket
    import urllib.error
    import urllib.request

    from consumers.notifier.health import serve_metrics_and_health

    registry = CollectorRegistry()
    link = BrokerLink("notifier", ["k:9092"], registry=registry)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = serve_metrics_and_health(
        port, registry, lambda: (link.connected, {"broker": link.status()})
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
            assert json.load(answer)["broker"]["connected"] is True
        link.observe(False)
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
        assert failed.value.code == 503
        assert json.load(failed.value)["broker"]["connected"] is False
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
            assert 'aduan_broker_connected{process="notifier"} 0.0' in answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
