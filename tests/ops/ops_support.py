"""Helpers for the operations tests: workflow files, API reads, a server of one's own.

Most tests share the session's Prefect server (`prefect` fixture). Only the
tests that need a server configured differently (PostgreSQL, an auth string,
one that is killed mid-run) start their own with `own_server`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Cli = Callable[..., "subprocess.CompletedProcess[str]"]  # the `cli` fixture


def greet_workflow(folder: Path, name: str, schedule: str = "", value: str = "hello") -> Path:
    """A one-step workflow with two inputs (one required), and an optional schedule block."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"""\
apiVersion: ragline/v1
name: {name}
description: Greets someone, on a schedule.
inputs:
  who: {{type: string, default: world, description: whom to greet}}
  times: {{type: integer, minimum: 1, maximum: 5}}
steps:
  - id: greet
    uses: value
    with: {{value: "{value} ${{{{ inputs.who }}}} x${{{{ inputs.times }}}}"}}
outputs:
  greeting: "${{{{ steps.greet.output }}}}"
{schedule}"""
    )
    return path


def api(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run `fn(client)` against the configured Prefect API."""
    from prefect.client.orchestration import get_client

    async def go() -> T:
        async with get_client() as client:
            return await fn(client)

    return asyncio.run(go())


def task_names(flow_run_id: Any) -> list[str]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    runs = api(
        lambda c: c.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=100,
        )
    )
    return sorted(t.name for t in runs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], T], timeout: float, what: str, step: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


@contextmanager
def own_server(home: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A Prefect server of this test's own on a free loopback port; yields its API URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    server_env = {**os.environ, "PREFECT_HOME": str(home), **(env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-ui",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env,
        )
        try:

            def healthy() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(log_path.read_text()[-3000:])
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                        return bool(r.status == 200)
                except OSError:
                    return False

            wait_for(healthy, 90, "the Prefect server", step=0.25)
            yield url
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def execute_flow_run(
    flow_run_id: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Execute a deployment's flow run the way a process worker does: `python -m prefect.engine`."""
    return subprocess.run(
        [sys.executable, "-m", "prefect.engine"],
        env={**os.environ, "PREFECT__FLOW_RUN_ID": flow_run_id, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
