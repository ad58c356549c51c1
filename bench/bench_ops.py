"""Operations figures: deploying 10 workflows, schedule-to-start latency under
`ragline serve`, and the cost of a flow run against a Prefect server compared
with Prefect's ephemeral default (no PREFECT_API_URL).

Everything runs against a Prefect server this benchmark starts on a free
loopback port with a temporary home; baselines are measured in the same run:
`ragline validate` of the same 10 files (imports + validation, no server) for
deploy, and ephemeral in-process runs for the run overhead.

Run: .venv/bin/python -m bench.bench_ops
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ragline.testing.prefect_server import local_prefect_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKFLOWS = 10
RUNS = 7
SERVED_RUNS = 4

WORKFLOW = """\
apiVersion: ragline/v1
name: {name}
inputs:
  n: {{type: integer, default: 1}}
defaults: {{cache: false}}
steps:
  - {{id: first, uses: value, with: {{value: "${{{{ inputs.n }}}}"}}}}
  - {{id: second, uses: value, with: {{value: "${{{{ steps.first.output }}}}"}}}}
outputs:
  n: "${{{{ steps.second.output }}}}"
{schedule}"""

# One child process per mode: Prefect's settings are fixed per process.
RUN_SCRIPT = """
import json, statistics, sys, time
from ragline.compiler.flow import compile_workflow
from ragline.validation.workflow import load_workflow
flow = compile_workflow(load_workflow(sys.argv[1]))
flow(n=0)  # warm-up: imports, database, flow registration
times = []
for n in range(1, int(sys.argv[2]) + 1):
    started = time.perf_counter()
    assert flow(n=n) == {"n": n}
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def timed_cli(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "ragline"), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return elapsed


def flow_runs(url: str, env: dict[str, str], deployment: str) -> list[dict[str, Any]]:
    body = json.dumps(
        {
            "deployments": {"name": {"any_": [deployment]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": 50,
        }
    ).encode()
    request = urllib.request.Request(
        f"{url}/flow_runs/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        runs: list[dict[str, Any]] = json.loads(response.read())
    return runs


def seconds(a: str, b: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ragline-bench-ops-"))
    home = work / "prefect"
    home.mkdir()
    base_env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "ERROR",
    }
    os.environ.update(base_env)
    with local_prefect_server(home) as url:
        env = {**base_env, "PREFECT_API_URL": url}
        paths = []
        for i in range(WORKFLOWS):
            path = work / f"bench-ops-{i}.yaml"
            path.write_text(WORKFLOW.format(name=f"bench-ops-{i}", schedule=""))
            paths.append(str(path))
        validate = timed_cli("validate", *paths, env=env)
        deploy = timed_cli("deploy", *paths, env=env)
        redeploy = timed_cli("deploy", *paths, env=env)
        one = timed_cli("deploy", paths[0], "--name", "single", env=env)
        print(f"deploy of {WORKFLOWS} workflows (one `ragline deploy`, wall):")
        print(f"  validate {WORKFLOWS} (baseline, no server) {validate:7.2f} s")
        print(
            f"  deploy {WORKFLOWS}, new                   {deploy:7.2f} s"
            f"  ratio {deploy / validate:.2f}"
        )
        print(
            f"  deploy {WORKFLOWS}, unchanged             {redeploy:7.2f} s"
            f"  ratio {redeploy / validate:.2f}"
        )
        print(f"  deploy 1, new                        {one:7.2f} s  (fixed cost: imports, checks)")

        served = work / "bench-ops-served.yaml"
        served.write_text(
            WORKFLOW.format(name="bench-ops-served", schedule="schedule: {interval: 10}\n")
        )
        serve = subprocess.Popen(
            [str(BIN / "ragline"), "serve", str(served)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180
            runs: list[dict[str, Any]] = []
            while len(runs) < SERVED_RUNS and time.monotonic() < deadline:
                time.sleep(2)
                runs = flow_runs(url, env, "default")
                runs = [r for r in runs if r["name"].startswith("bench-ops-served")]
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=60)
        lags = [seconds(r["expected_start_time"], r["start_time"]) for r in runs]
        totals = [seconds(r["expected_start_time"], r["end_time"]) for r in runs]
        print(
            f"`ragline serve`, interval schedule, {len(runs)} runs, as the API records them "
            "(expected_start_time -> start_time / end_time):"
        )
        if lags:
            print(
                f"  scheduled time -> run start   median {statistics.median(lags):6.2f} s"
                f"  (max {max(lags):.2f})"
            )
            print(
                f"  scheduled time -> run end     median {statistics.median(totals):6.2f} s"
                "  (a new process per run: imports + pull step + compile)"
            )

        workflow = paths[0]
        modes = {
            "ephemeral (no PREFECT_API_URL)": {**base_env, "PREFECT_API_URL": ""},
            "Prefect server (PREFECT_API_URL)": env,
        }
        medians = {}
        for mode, mode_env in modes.items():
            out = subprocess.run(
                [sys.executable, "-c", RUN_SCRIPT, workflow, str(RUNS)],
                env=mode_env,
                capture_output=True,
                text=True,
                check=True,
            )
            medians[mode] = statistics.median(json.loads(out.stdout.strip().splitlines()[-1]))
        base = medians["ephemeral (no PREFECT_API_URL)"]
        print(f"flow-run overhead, 2-step workflow in-process, median of {RUNS} runs:")
        for mode, median in medians.items():
            print(f"  {mode:<34}{median:7.3f} s  ratio {median / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
