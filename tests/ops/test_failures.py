"""Failure behaviour: an unreachable server, a server lost mid-run, a deployment whose
workflow file was deleted, a PostgreSQL that refuses. Each says what and where."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ops_support import (
    Cli,
    api,
    execute_flow_run,
    greet_workflow,
    own_server,
    wait_for,
)

from ragline.testing.prefect_server import free_port

HERE = Path(__file__).resolve().parent
WAIT_STEP = {"PYTHONPATH": str(HERE), "RAGLINE_PLUGINS": "ragline_ops_steps"}


@pytest.mark.parametrize("command", ["deploy", "serve", "run"])
def test_an_unreachable_server_is_named_and_nothing_happens(
    tmp_path: Path, cli: Cli, command: str
) -> None:
    path = greet_workflow(tmp_path, "ops-fail-unreachable")
    url = f"http://127.0.0.1:{free_port()}/api"
    args = [command, str(path)] + (["-p", "times=1"] if command == "run" else [])
    result = cli(*args, env={"PREFECT_API_URL": url}, timeout=60)
    assert result.returncode == 2
    assert f"error: the Prefect API at {url} is not reachable" in result.stderr
    expected = "the workflow did not run" if command == "run" else "nothing was changed"
    assert expected in result.stderr
    assert "hint: check PREFECT_API_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.integration
def test_a_server_lost_mid_run_still_returns_the_local_result(tmp_path: Path) -> None:
    (tmp_path / "midrun.yaml").write_text(
        """\
apiVersion: ragline/v1
name: ops-fail-midrun
defaults: {cache: false}
steps:
  - id: first
    uses: value
    with: {value: 41}
  - id: wait
    uses: wait-for-file
    with: {started: started, go: go, value: "${{ steps.first.output }}"}
outputs:
  answer: "${{ steps.wait.output }}"
"""
    )
    exe = shutil.which("ragline", path=str(Path(sys.executable).parent)) or "ragline"
    with own_server(tmp_path / "prefect") as url:
        env = {
            **os.environ,
            **WAIT_STEP,
            "PREFECT_API_URL": url,
            "PREFECT_HOME": str(tmp_path / "prefect"),
            # Prefect's default 5 retries take minutes once the server is gone; none at
            # all turns a busy SQLite's 503 (which the client is meant to retry) into a
            # failed step before the server is stopped.
            "PREFECT_CLIENT_MAX_RETRIES": "2",
        }
        proc = subprocess.Popen(
            [exe, "run", "midrun.yaml", "--json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: (tmp_path / "started").exists(), 60, "the waiting step to start")
        except AssertionError:
            proc.kill()
            _, err = proc.communicate(timeout=30)
            message = f"the run did not reach its waiting step:\n{err[-3000:]}"
            raise AssertionError(message) from None
    # The server is gone; let the step finish.
    (tmp_path / "go").touch()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr[-3000:]
    report = json.loads(stdout)
    assert report["status"] == "unrecorded"
    assert report["outputs"] == {"answer": 41}
    assert report["flow_run_id"]
    assert report["error"].startswith(f"the Prefect API at {url} stopped answering during the run")
    assert "the run's final state, its artifacts (run summary, model usage)" in report["error"]
    assert "were not recorded" in report["error"]


def test_a_deployment_whose_workflow_file_was_deleted_fails_with_the_path(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    path = greet_workflow(tmp_path, "ops-fail-deleted")
    assert cli("deploy", str(path)).returncode == 0
    deployment = api(lambda c: c.read_deployment_by_name("ops-fail-deleted/default"))
    path.unlink()
    run = api(lambda c: c.create_flow_run_from_deployment(deployment.id, parameters={"times": 1}))

    execute_flow_run(str(run.id))
    state = api(lambda c: c.read_flow_run(run.id)).state
    assert state.is_failed(), state
    assert f"the workflow file {path} of this deployment no longer exists" in state.message
    assert "ragline deploy NEW_PATH" in state.message


def test_a_refused_postgres_is_one_clear_line(tmp_path: Path, cli: Cli) -> None:
    port = free_port()  # nothing listens there
    env = {
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://ragline:s3cret@127.0.0.1:{port}/prefect"
    }
    result = cli("server", env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: PostgreSQL at 127.0.0.1:{port}/prefect refused the connection"
    )
    assert "the Prefect server was not started" in result.stderr
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_api_without_auth_beyond_loopback_is_refused(cli: Cli) -> None:
    result = cli("server", "--host", "0.0.0.0", env={"PREFECT_SERVER_API_AUTH_STRING": ""})
    assert result.returncode == 2
    assert "refusing to serve the Prefect API on 0.0.0.0 without authentication" in result.stderr
    assert "PREFECT_SERVER_API_AUTH_STRING" in result.stderr
