"""Issue 13 findings 3-4: the production credentials path and the refusal to run on the public
development credentials. The gateway is started as its own process (``aduan gateway``); the
refusals happen before any broker connection, so no broker is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from consumers.gateway.security import hash_secret, load_security

REPO = Path(__file__).resolve().parents[2]


def aduan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**clean, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=REPO,
        timeout=60,
        check=False,
    )


def keygen() -> tuple[str, str]:
    """(secret, the hash line exactly as `aduan keygen` prints it)."""
    out = aduan("keygen")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    hash_line = next(line for line in out.stdout.splitlines() if line.startswith("sha256"))
    return lines["secret"], hash_line


def test_what_keygen_prints_goes_into_the_security_file(tmp_path: Path) -> None:
    secret, hash_line = keygen()
    token, token_line = keygen()
    path = tmp_path / "security.yaml"
    path.write_text(
        "api_keys:\n"
        f"  - id: portal\n    channels: [web]\n    {hash_line}\n"
        "operators:\n"
        f"  - id: op-1\n    role: verifier\n    {token_line}\n",
        encoding="utf-8",
    )
    security = load_security(path)
    assert security.find_key(secret) is not None
    assert security.find_operator(token) is not None
    assert security.find_key(token) is None
    # the prefixed form keeps working
    path.write_text(
        f"api_keys:\n  - id: p\n    channels: [web]\n    sha256: '{hash_secret(secret)}'\n",
        encoding="utf-8",
    )
    assert load_security(path).find_key(secret) is not None


def test_security_docs_name_the_real_command() -> None:
    import consumers.gateway.security as module

    assert "aduan keygen" in (module.__doc__ or "")
    assert "new-key" not in (module.__doc__ or "")


def test_gateway_refuses_to_start_without_a_security_file(tmp_path: Path) -> None:
    out = aduan("gateway", "--port", "0", env={"ADUAN_GATEWAY_STORE_DIR": str(tmp_path)})
    assert out.returncode != 0
    [line] = out.stderr.strip().splitlines()
    assert "ADUAN_GATEWAY_SECURITY_FILE" in line
    assert "ADUAN_GATEWAY_DEV_MODE" in line


def test_gateway_refuses_a_broken_security_file_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "security.yaml"
    path.write_text("api_keys:\n  - id: x\n    channels: [web]\n    sha256: nothex\n")
    out = aduan(
        "gateway",
        "--port",
        "0",
        env={"ADUAN_GATEWAY_SECURITY_FILE": str(path), "ADUAN_GATEWAY_DEV_MODE": "true"},
    )
    assert out.returncode != 0
    [line] = out.stderr.strip().splitlines()
    assert "api_keys.0.sha256" in line


def test_gateway_refuses_to_start_without_a_tracking_secret(tmp_path: Path) -> None:
    _, hash_line = keygen()
    path = tmp_path / "security.yaml"
    path.write_text(f"api_keys:\n  - id: portal\n    channels: [web]\n    {hash_line}\n")
    out = aduan(
        "gateway",
        "--port",
        "0",
        env={"ADUAN_GATEWAY_SECURITY_FILE": str(path), "ADUAN_GATEWAY_STORE_DIR": str(tmp_path)},
    )
    assert out.returncode != 0
    [line] = out.stderr.strip().splitlines()
    assert "ADUAN_GATEWAY_TRACKING_SECRET" in line
