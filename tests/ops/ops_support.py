"""Helpers for the operations tests: workflow files, API reads, a server of one's own.

Most tests share the session's Prefect server (`prefect` fixture). Only the
tests that need a server configured differently (PostgreSQL, an auth string,
one that is killed mid-run) start their own with `own_server`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ragline.testing.prefect_server import local_prefect_server

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


def api(fn: Callable[[Any], Awaitable[T]], env: dict[str, str] | None = None) -> T:
    """Run `fn(client)` against the session's Prefect API, or the one `env` names."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    async def go() -> T:
        async with get_client() as client:
            return await fn(client)

    env = env or {}
    updates: dict[Any, Any] = {}
    if "PREFECT_API_URL" in env:
        updates[PREFECT_API_URL] = env["PREFECT_API_URL"]
    if "PREFECT_API_AUTH_STRING" in env:
        updates[PREFECT_API_AUTH_STRING] = env["PREFECT_API_AUTH_STRING"]
    with temporary_settings(updates=updates):
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
    with local_prefect_server(home, env=env, timeout=90) as url:
        yield url


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


def run_on_a_worker(
    workflow: Path, cli: Cli, env: dict[str, str], pool: str = "ragline-process"
) -> Any:
    """Create a process work pool, `ragline deploy --pool` to it, start a worker, trigger
    a run through the API and wait for it to end; the finished flow run."""
    full_env = {**os.environ, **env}
    created = subprocess.run(
        [sys.executable, "-m", "prefect", "work-pool", "create", pool, "--type", "process"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = cli("deploy", str(workflow), "--pool", pool, env=env)
    assert deployed.returncode == 0, deployed.stderr
    name = deployed.stdout.split()[1]  # "created   WORKFLOW/default  (pool ...)"
    worker_log = open(workflow.parent / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"],
        env={**full_env, "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "INFO"},
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        deployment = api(lambda c: c.read_deployment_by_name(name), env)
        run = api(
            lambda c: c.create_flow_run_from_deployment(deployment.id, parameters={"times": 2}),
            env,
        )

        def ended() -> Any:
            current = api(lambda c: c.read_flow_run(run.id), env)
            return current if current.state and current.state.is_final() else None

        try:
            return wait_for(ended, 120, "the worker to run the flow")
        except AssertionError:
            worker_log.flush()
            raise AssertionError((workflow.parent / "worker.log").read_text()[-4000:]) from None
    finally:
        stop(worker)
        worker_log.close()


def artifact_keys(flow_run_id: Any, env: dict[str, str] | None = None) -> set[str]:
    async def keys(client: Any) -> set[str]:
        response = await client._client.post(
            "/artifacts/filter",
            json={"flow_runs": {"id": {"any_": [str(flow_run_id)]}}, "sort": "KEY_ASC"},
        )
        return {a["key"] for a in response.json() if a.get("key")}

    return api(keys, env)
