"""A PostgreSQL server of the tests' own (Debian's postgresql package), like the test broker:
its own data directory (initdb) and port, started once per session and stopped after.

Postgres refuses to run as root; as root the server runs as the ``postgres`` system user (the
package creates it) through ``runuser``. The binaries live under /usr/lib/postgresql/<v>/bin,
which is not on PATH on a Debian machine.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PORT = int(os.environ.get("ADUAN_TEST_POSTGRES_PORT", "19900"))


def postgres_bin(tool: str) -> str:
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not candidates:  # never a skip: missing means failed (tests/tools.py)
        pytest.fail(
            f"{tool} not found: run `make tools` (apt-get install postgresql)", pytrace=False
        )
    return candidates[-1]


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class PostgresServer:
    def __init__(self, port: int = PORT) -> None:
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="aduan-pg-"))
        self.data = self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not _port_free(self.port):
            raise AssertionError(f"port {self.port} is taken: a PostgreSQL of another run?")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        run = _as_server_user
        subprocess.run(
            run([postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        subprocess.run(
            run([postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                 "-t", "120", "-l", str(self.root / "server.log"), "start"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            _as_server_user([postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database on the server; its URL."""
        from sqlalchemy import create_engine, text

        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(
            self.url.replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
