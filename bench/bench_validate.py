"""`ragline validate` wall time per call on workflows/*.yaml, against a bare
`python -c pass` measured in the same run (target: under 0.5 s per call);
then validate time per step on chains of 1,000 to 10,000 steps, as a ratio to
the 1,000-step chain (linear: ratios near 1).

Each call of the first part is a fresh process, as a user or an editor hook
would run it, so the figure includes interpreter start-up and every import
validate needs. The chains are validated in this process after a warm-up, so
start-up and imports do not dilute the per-step figure.

Run: .venv/bin/python -m bench.bench_validate [--chains-only]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAGLINE = Path(sys.executable).parent / "ragline"
REPEAT = 7
TARGET_S = 0.5
CHAINS = (1_000, 3_000, 5_000, 10_000)
CHAIN_REPEAT = 3
LINEAR_LIMIT = 2.0  # per-step time of the longest chain over the 1,000-step one


def wall(cmd: list[str]) -> float:
    """Median wall time of REPEAT runs (after one warm-up run)."""
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if result.returncode not in (0, 2):
            raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return statistics.median(times)


def chain_workflow(steps: int) -> str:
    """A workflow where each step reads the previous one's output: one reference per step."""
    lines = [
        "apiVersion: ragline/v1",
        "name: chain",
        "steps:",
        "  - {id: s0, uses: value, with: {value: 1}}",
    ]
    lines += [
        f'  - {{id: s{i}, uses: value, with: {{value: "${{{{ steps.s{i - 1}.output }}}}"}}}}'
        for i in range(1, steps)
    ]
    lines += ["outputs:", f'  last: "${{{{ steps.s{steps - 1}.output }}}}"']
    return "\n".join(lines) + "\n"


def chains() -> bool:
    """Validate time per step for each chain length; True when it stays near linear."""
    from ragline.validation.workflow import load_workflow

    print(f"\n{'chain steps':>12}{'s (median)':>12}{'us/step':>10}{'x 1,000':>9}")
    per_step: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for steps in CHAINS:
            path = Path(tmp) / f"chain{steps}.yaml"
            path.write_text(chain_workflow(steps))
            load_workflow(path)  # warm-up: registry, schema, caches
            times = []
            for _ in range(CHAIN_REPEAT):
                started = time.perf_counter()
                load_workflow(path)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            per_step[steps] = seconds / steps
            ratio = per_step[steps] / per_step[CHAINS[0]]
            print(f"{steps:>12,}{seconds:>12.2f}{per_step[steps] * 1e6:>10.0f}{ratio:>9.2f}")
    worst = max(per_step.values()) / per_step[CHAINS[0]]
    verdict = "linear" if worst < LINEAR_LIMIT else "NOT LINEAR"
    print(f"worst per-step ratio {worst:.2f} (limit {LINEAR_LIMIT}): {verdict}")
    return worst < LINEAR_LIMIT


def main() -> int:
    if "--chains-only" in sys.argv[1:]:
        return 0 if chains() else 1
    baseline = wall([sys.executable, "-c", "pass"])
    print(f"baseline `python -c pass`: {baseline * 1000:.0f} ms (median of {REPEAT})")
    print(f"{'workflow':<40}{'ms/call':>9}{'x baseline':>12}{'target':>10}")
    worst = 0.0
    files = sorted((ROOT / "workflows").glob("*.yaml"))
    files.append(ROOT / "tests/data/invalid/unknown_keys.yaml")  # the error path costs the same
    for path in files:
        seconds = wall([str(RAGLINE), "validate", str(path)])
        worst = max(worst, seconds)
        verdict = "ok" if seconds < TARGET_S else "SLOW"
        print(
            f"{path.relative_to(ROOT)!s:<40}{seconds * 1000:>9.0f}"
            f"{seconds / baseline:>12.1f}{verdict:>10}"
        )
    print(
        f"slowest: {worst * 1000:.0f} ms per call = "
        f"{worst / TARGET_S:.2f} of the {TARGET_S} s target"
    )
    linear = chains()
    return 0 if worst < TARGET_S and linear else 1


if __name__ == "__main__":
    sys.exit(main())
