"""Wall times of `ragline run` as a user types it, without PREFECT_API_URL.

Each figure is a fresh `ragline` process in a copy of workflows/ in a tmp
folder, with its own PREFECT_HOME (so the first run really is cold), next to
`python -c pass` and `ragline --help` measured in the same run:

- cold: the first run, which starts the local Prefect server (migrations too);
- first ingestion of `workflows/ingest_docs.yaml` (embeds every chunk);
- in the run's own process (`RAGLINE_WARM=0`): a two-step workflow without
  models and the unchanged re-ingestion (every step cached), the server up;
- the run that starts the warm process (`ragline.cli.warm`), then the same two
  workflows served by it: the default path, the edit-run loop of issue 16;
- `ragline runs` against the warm server.

The cpu column is the user + system time of the `ragline` process, plus, on the
warm path, the child the warm process forked for it (its CPU is read from the
warm process's reaped-children counters). It moves far less with the machine's
load than the wall column does.

Targets (issue 16): re-ingestion <= 3 s, 2-step <= 2.5 s on the warm path.
Run: .venv/bin/python -m bench.bench_cli [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAGLINE = str(Path(sys.executable).parent / "ragline")
TARGETS = {"warm 2-step run": 2.5, "warm unchanged re-ingestion": 3.0}

TWO_STEPS = """\
apiVersion: ragline/v1
name: bench-two-steps
steps:
  - {id: a, uses: value, with: {value: 1}}
  - {id: b, uses: value, with: {value: "${{ steps.a.output }}"}}
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _warm_children_cpu(home: Path) -> float:
    """CPU of the runs the warm processes of `home` forked and reaped (their cutime, cstime)."""
    total = 0.0
    for state in (home / "ragline-warm").glob("*.json"):
        try:
            pid = json.loads(state.read_text())["pid"]
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, KeyError):
            continue
        total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return total


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one command: its process, plus the child a
    warm process forked for it; the detached server's CPU is not counted."""
    home = Path(env["PREFECT_HOME"])
    cpu = _children_cpu() + _warm_children_cpu(home)
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    time.sleep(0.05)  # the warm process reaps its child just after the caller hears the code
    return elapsed, _children_cpu() + _warm_children_cpu(home) - cpu


def wait_for_warm_process(home: Path, timeout: float = 60.0) -> None:
    """Until the warm process the last run started listens (a user's next run would wait too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list((home / "ragline-warm").glob("*.json")):  # written once it listens
            return
        time.sleep(0.1)
    log = home / "ragline-warm" / "warm.log"
    raise SystemExit(f"no warm process listens after {timeout:g} s; {log}:\n{log.read_text()}")


def median_of(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    runs = [timed(cmd, cwd, env) for _ in range(repeat)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    folder = Path(tempfile.mkdtemp(prefix="ragline-bench-cli-"))
    shutil.copytree(ROOT / "workflows", folder / "workflows")
    shutil.copytree(ROOT / "docs", folder / "docs")  # ingest_docs.yaml reads ../docs
    (folder / "workflows" / "two.yaml").write_text(TWO_STEPS)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(folder / "prefect-home")
    env.pop("RAGLINE_WARM", None)
    off = {**env, "RAGLINE_WARM": "0"}
    cwd = folder / "workflows"
    rows: list[tuple[str, tuple[float, float]]] = []
    try:
        rows.append(("python -c pass", median_of([sys.executable, "-c", "pass"], cwd, env, repeat)))
        rows.append(("ragline --help", median_of([RAGLINE, "--help"], cwd, env, repeat)))
        rows.append(
            ("cold first run (starts the server)", timed([RAGLINE, "run", "two.yaml"], cwd, off))
        )
        two = [RAGLINE, "run", "two.yaml"]
        ingest = [RAGLINE, "run", "ingest_docs.yaml"]
        rows.append(("first ingestion (embeds, loads the model)", timed(ingest, cwd, off)))
        # In the run's own process (RAGLINE_WARM=0): what every run cost before warm processes.
        rows.append(("warm 2-step run, in its own process", median_of(two, cwd, off, repeat)))
        rows.append(("warm re-ingestion, in its own process", median_of(ingest, cwd, off, repeat)))
        # The default: the first run starts the warm process, which the next ones use.
        rows.append(("run that starts the warm process", timed(two, cwd, env)))
        wait_for_warm_process(Path(env["PREFECT_HOME"]))
        rows.append(("warm 2-step run", median_of(two, cwd, env, repeat)))
        rows.append(("warm unchanged re-ingestion", median_of(ingest, cwd, env, repeat)))
        rows.append(("ragline runs (warm server)", median_of([RAGLINE, "runs"], cwd, env, repeat)))
    finally:
        subprocess.run([RAGLINE, "server", "stop"], cwd=cwd, env=env, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    baseline, help_wall = rows[0][1][0], rows[1][1][0]
    print(f"{'command':<44}{'wall s':>8}{'cpu s':>8}{'x pass':>8}{'x help':>8}{'target':>8}")
    failed = False
    for name, (seconds, cpu) in rows:
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = "ok" if seconds <= target else "SLOW"
            failed |= seconds > target
        print(
            f"{name:<44}{seconds:>8.2f}{cpu:>8.2f}{seconds / baseline:>8.1f}"
            f"{seconds / help_wall:>8.1f}{verdict:>8}"
        )
    print(f"(medians of {repeat}; the cold and first-ingestion rows are single runs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
