"""`ragline serve`: the workflows' schedules run from this one process; Ctrl-C stops it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ops_support import Cli, api, greet_workflow, stop, wait_for


def _serve(*args: str) -> subprocess.Popen[str]:
    exe = shutil.which("ragline", path=str(Path(sys.executable).parent)) or "ragline"
    return subprocess.Popen(
        [exe, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_LOGGING_LEVEL": "INFO"},
    )


def _completed_runs_of(deployment_id: Any) -> list[Any]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    return list(
        api(
            lambda c: c.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.COMPLETED])
                    )
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=50,
            )
        )
    )


def test_serve_runs_a_short_interval_schedule_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, prefect: str
) -> None:
    path = greet_workflow(
        tmp_path, "ops-serve", "schedule:\n  - {interval: 3, parameters: {times: 3}}\n"
    )
    proc = _serve(str(path), "--limit", "1")
    try:
        deployment = wait_for(
            lambda: _deployment_or_none("ops-serve/default"), 60, "the served deployment"
        )
        completed = wait_for(
            lambda: _completed_runs_of(deployment.id),
            90,
            "a scheduled run to complete",
        )
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    except AssertionError:
        stop(proc)
        raise AssertionError(proc.stdout.read() if proc.stdout else "") from None
    finally:
        stop(proc)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert "serving   ops-serve/default: every 3 s with {'times': 3}" in output
    assert "stopped; schedules paused" in output
    run = completed[0]
    assert run.name.startswith("ops-serve-")
    assert run.parameters == {"times": 3}
    assert api(lambda c: c.read_deployment(deployment.id)).paused


def _deployment_or_none(name: str) -> Any:
    from prefect.exceptions import ObjectNotFound

    try:
        return api(lambda c: c.read_deployment_by_name(name))
    except ObjectNotFound:
        return None


def test_serve_refuses_an_invalid_workflow_before_touching_the_server(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    path = greet_workflow(tmp_path, "ops-serve-bad", "schedule:\n  - {cron: 'every day'}\n")
    result = cli("serve", str(path))
    assert result.returncode == 2
    assert f"{path}:14:" in result.stderr and "schedule[0].cron" in result.stderr
    assert _deployment_or_none("ops-serve-bad/default") is None
