"""``python -m consumers.incidents``: run the incident detector worker until Ctrl-C."""

from __future__ import annotations

from consumers.cli.common import load_settings
from consumers.incidents.app import IncidentDetectorApp


def main() -> None:
    IncidentDetectorApp(load_settings()).run()


if __name__ == "__main__":
    main()
