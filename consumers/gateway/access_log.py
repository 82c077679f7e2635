"""The gateway's logging: uvicorn's own configuration, with tracking numbers taken out.

A tracking number is the reporter's key to their case (the public lookup, the /lacak/ page, an
Open311 lookup by id), and uvicorn's access log writes it beside the client's address: read
together they say who looked up which case, which for a confidential reporter is the identity
the system must not keep. Every line uvicorn writes goes through ``WithoutTrackingNumbers``.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

# The lookup routes take lower case too (they upper-case it), so the log must match both.
TRACKING_IN_TEXT = re.compile(r"ADU-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", re.IGNORECASE)
REDACTED = "ADU-****-****-****"


def without_tracking_numbers(text: str) -> str:
    return TRACKING_IN_TEXT.sub(REDACTED, text)


class WithoutTrackingNumbers(logging.Filter):
    """Redacts tracking numbers in a record's message and its arguments (uvicorn's access
    formatter builds the request line from the arguments, so the message alone is not enough)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = without_tracking_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_tracking_numbers(a) if isinstance(a, str) else a for a in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with the filter on each of its handlers."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_tracking_numbers"] = {"()": WithoutTrackingNumbers}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("without_tracking_numbers")
    return config
