"""Wall times of `ragline run` as a user types it, without PREFECT_API_URL.

Each figure is a fresh `ragline` process in a copy of workflows/ in a tmp
folder, with its own PREFECT_HOME (so the first run really is cold), next to
`python -c pass` and `ragline --help` measured in the same run:

- cold: the first run, which starts the local Prefect server (migrations too);
- warm 2-step: a two-step workflow without models, the server already up;
- warm re-ingestion: `workflows/ingest_docs.yaml` unchanged since the last run
  (every step cached), the edit-run loop of issue 16;
- `ragline runs` against the warm server.

The cpu column (user + system time of the `ragline` process) moves far less
with the machine's load than the wall column does.

Targets (issue 16): re-ingestion <= 3 s, 2-step <= 2.5 s on the warm path.
Run: .venv/bin/python -m bench.bench_cli [--repeat N]
"""

from __future__ import annotations

import argparse
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


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one process; the detached server's CPU
    is not counted (it is not this process's child once the run has exited)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed, _children_cpu() - cpu


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
    cwd = folder / "workflows"
    rows: list[tuple[str, tuple[float, float]]] = []
    try:
        rows.append(("python -c pass", median_of([sys.executable, "-c", "pass"], cwd, env, repeat)))
        rows.append(("ragline --help", median_of([RAGLINE, "--help"], cwd, env, repeat)))
        rows.append(
            ("cold first run (starts the server)", timed([RAGLINE, "run", "two.yaml"], cwd, env))
        )
        rows.append(("warm 2-step run", median_of([RAGLINE, "run", "two.yaml"], cwd, env, repeat)))
        ingest = [RAGLINE, "run", "ingest_docs.yaml"]
        rows.append(("first ingestion (embeds, loads the model)", timed(ingest, cwd, env)))
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
