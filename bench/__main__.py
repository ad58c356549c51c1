"""`python -m bench [NAME ...]`: run the benchmarks one after another, each in its own process.

Each module prints its own figures as ratios against a baseline it measures in
the same run; nothing here is timed by the test suite.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    chosen = [m for m in modules if not names or any(n in m for n in names)]
    failed = []
    for module in chosen:
        print(f"\n=== {module} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{module}"], cwd=HERE.parent)
        print(f"--- {module}: exit {code} in {time.perf_counter() - started:.1f} s", flush=True)
        if code:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
