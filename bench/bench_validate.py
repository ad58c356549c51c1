"""`ragline validate` wall time per call on workflows/*.yaml, against a bare
`python -c pass` measured in the same run (target: under 0.5 s per call).

Each call is a fresh process, as a user or an editor hook would run it, so the
figure includes interpreter start-up and every import validate needs.

Run: .venv/bin/python -m bench.bench_validate
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAGLINE = Path(sys.executable).parent / "ragline"
REPEAT = 7
TARGET_S = 0.5


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


def main() -> int:
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
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
