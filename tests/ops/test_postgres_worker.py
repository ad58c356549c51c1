"""The multi-machine path on one machine: a Prefect server on PostgreSQL, a process work
pool, a worker, `ragline deploy --pool`, and a run triggered through the API."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_support import Cli, artifact_keys, greet_workflow, own_server, run_on_a_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _admin(sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database on 127.0.0.1:5432, dropped afterwards; its asyncpg URL for Prefect."""
    name = f"ragline_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError) as err:
        message = f"PostgreSQL is not reachable on 127.0.0.1:5432 ({err})"
        if os.environ.get("RAGLINE_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_worker_runs_a_deployed_workflow_from_a_postgres_backed_server(
    tmp_path: Path, cli: Cli, database: str
) -> None:
    home = tmp_path / "prefect"
    with own_server(home, {"PREFECT_API_DATABASE_CONNECTION_URL": database}) as url:
        env = {"PREFECT_API_URL": url, "PREFECT_HOME": str(home)}
        workflow = greet_workflow(tmp_path, "ops-postgres")
        run = run_on_a_worker(workflow, cli, env, pool="ragline-postgres")
        assert run.state.is_completed(), run.state
        assert run.name.startswith("ops-postgres-")
        assert run.parameters == {"times": 2}
        assert "run-summary" in artifact_keys(run.id, env)

        listed = cli("runs", "--workflow", "ops-postgres", env=env)
        assert listed.returncode == 0, listed.stderr
        assert "Completed" in listed.stdout.splitlines()[1]
