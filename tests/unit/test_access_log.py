"""The gateway's log filter: tracking numbers out of uvicorn's lines, in any case."""

from __future__ import annotations

import logging

from consumers.gateway.access_log import REDACTED, WithoutTrackingNumbers, log_config


def test_an_access_line_keeps_the_route_but_not_the_tracking_number() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "10.0.0.7:5000",
            "GET",
            "/open311/v2/requests.json?service_request_id=ADU-7K3F-6QX2-M4TA,adu-aaaa-bbbb-cccc",
            "1.1",
            200,
        ),
        None,
    )
    assert WithoutTrackingNumbers().filter(record)
    line = record.getMessage()
    assert "7K3F" not in line
    assert "aaaa" not in line
    assert line.count(REDACTED) == 2
    assert line.startswith('10.0.0.7:5000 - "GET /open311/')


def test_every_uvicorn_handler_carries_the_filter() -> None:
    config = log_config()
    assert config["handlers"].keys() == {"default", "access"}
    for handler in config["handlers"].values():
        assert "without_tracking_numbers" in handler["filters"]
