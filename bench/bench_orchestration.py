"""Orchestration overhead: 8 trivial steps run through ragline vs the same 8
functions as a hand-written Prefect flow, in the same process and the same
Prefect backend (target: ragline / Prefect <= 1.2).

Both are a chain of 8 identity functions on a thread pool. Each run passes a
new input, so ragline's fingerprint cache misses every time and its
bookkeeping (fingerprints, persisted results, run summary artifact) is
measured in full; the "no cache" row turns that cache off.

Run: .venv/bin/python -m bench.bench_orchestration
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HOME = Path(tempfile.mkdtemp(prefix="ragline-bench-"))
os.environ.setdefault("PREFECT_HOME", str(_HOME / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")

from prefect import flow, task  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from ragline.compiler.flow import compile_workflow  # noqa: E402
from ragline.validation.workflow import load_workflow  # noqa: E402

STEPS = 8
REPEAT = 7


def workflow_text(cache: bool) -> str:
    lines = [
        "apiVersion: ragline/v1",
        "name: eight-steps",
        "inputs:",
        "  n: {type: integer}",
        f"defaults: {{cache: {str(cache).lower()}}}",
        "steps:",
        '  - {id: s1, uses: value, with: {value: "${{ inputs.n }}"}}',
    ]
    lines += [
        f'  - {{id: s{i}, uses: value, with: {{value: "${{{{ steps.s{i - 1}.output }}}}"}}}}'
        for i in range(2, STEPS + 1)
    ]
    lines += ["outputs:", f'  last: "${{{{ steps.s{STEPS}.output }}}}"']
    return "\n".join(lines) + "\n"


@task
def identity(value: Any) -> Any:
    return value


@flow(name="eight-steps-prefect", task_runner=ThreadPoolTaskRunner(max_workers=STEPS))
def hand_written(n: int) -> dict[str, Any]:
    future = identity.with_options(name="s1").submit(n)
    for i in range(2, STEPS + 1):
        future = identity.with_options(name=f"s{i}").submit(future)
    return {"last": future.result()}


def timed(fn: Any, n: int) -> float:
    started = time.perf_counter()
    result = fn(n=n)
    assert result == {"last": n}, result
    return time.perf_counter() - started


def main() -> int:
    folder = _HOME / "workflows"
    folder.mkdir()
    flows = {"prefect (hand-written)": hand_written}
    for cache in (True, False):
        path = folder / f"eight-{cache}.yaml"
        path.write_text(workflow_text(cache))
        flows["ragline" if cache else "ragline (no cache)"] = compile_workflow(load_workflow(path))
    times: dict[str, list[float]] = {name: [] for name in flows}
    n = 0
    for fn in flows.values():  # warm-up: imports, database, first flow registration
        n += 1
        timed(fn, n)
    for _ in range(REPEAT):  # interleaved, so drift hits every variant alike
        for name, fn in flows.items():
            n += 1
            times[name].append(timed(fn, n))
    base = statistics.median(times["prefect (hand-written)"])
    print(f"{STEPS} trivial steps, median of {REPEAT} runs each, same process and backend")
    print(f"{'variant':<26}{'s/run':>8}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<26}{median:>8.3f}{median / base:>8.2f}")
    ratio = statistics.median(times["ragline"]) / base
    print(f"ragline / prefect = {ratio:.2f} (target <= 1.2)")
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
