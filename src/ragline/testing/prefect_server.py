"""A real Prefect server on loopback, started, awaited and stopped in one place.

The test session, tests that need a server of their own (one they kill, one on
PostgreSQL, one with its UI) and the benchmarks all run one; starting it the same
way everywhere keeps the start-up wait, the failure message (the tail of the
server's own log) and the shutdown the same.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_prefect_server(
    home: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    ui: bool = False,
    timeout: float = 120,
) -> Iterator[str]:
    """`prefect server start` on 127.0.0.1 with `home` as PREFECT_HOME; yields its API URL.

    The server's output goes to `home/server.log`; if it exits or is not healthy
    within `timeout` seconds, the error carries the end of that log.
    """
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    if not ui:
        command.append("--no-ui")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PREFECT_HOME": str(home), **(env or {})},
        )
        try:
            _wait_until_healthy(proc, api_url, log_path, timeout)
            yield api_url
        finally:
            _stop(proc)


def _wait_until_healthy(
    proc: subprocess.Popen[bytes], api_url: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the Prefect server on {api_url} did not start:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        time.sleep(0.25)


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
