"""Safety checks: precision/recall per check on the labelled corpus, false-positive
rate on its safe cases, and the time all checks add per 1,000-character answer.

Run: .venv/bin/python bench/bench_safety.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ragline.safety.checks import CHECKS, run_checks

CORPUS = Path(__file__).resolve().parents[1] / "tests/data/safety/cases.jsonl"
MSMARCO = Path(__file__).resolve().parents[2] / "shared/data/msmarco-sample/corpus.jsonl"


def quality() -> None:
    cases = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    print(f"{len(cases)} labelled cases ({sum(not c['labels'] for c in cases)} safe)")
    print(f"{'check':<16}{'tp':>4}{'fp':>4}{'fn':>4}{'precision':>11}{'recall':>8}")
    for name, fn in CHECKS.items():
        tp = fp = fn_ = 0
        for c in cases:
            hit, want = bool(fn(c["text"])), name in c["labels"]
            tp, fp, fn_ = tp + (hit and want), fp + (hit and not want), fn_ + (want and not hit)
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn_) if tp + fn_ else float("nan")
        print(f"{name:<16}{tp:>4}{fp:>4}{fn_:>4}{p:>11.2f}{r:>8.2f}")
    safe = [c for c in cases if not c["labels"]]
    flagged = [c["text"] for c in safe if run_checks(c["text"], list(CHECKS))]
    print(
        f"false-positive rate on safe cases: {len(flagged)}/{len(safe)}"
        f" = {len(flagged) / len(safe):.3f}"
    )
    for t in flagged:
        print(f"  flagged: {t[:80]!r}")


def speed() -> None:
    if MSMARCO.exists():
        texts = [json.loads(line)["text"] for line in MSMARCO.read_text().splitlines()[:500]]
    else:
        texts = CORPUS.read_text().splitlines()
    blob = " ".join(texts)
    answers = [blob[i : i + 1000] for i in range(0, min(len(blob), 200_000), 1000)]
    names = list(CHECKS)
    t0 = time.perf_counter()
    for a in answers:
        a.lower().split()
    base = (time.perf_counter() - t0) / len(answers)
    t0 = time.perf_counter()
    for a in answers:
        run_checks(a, names)
    per = (time.perf_counter() - t0) / len(answers)
    print(
        f"all checks: {per * 1000:.3f} ms per 1,000-char answer ({len(answers)} answers); "
        f"{per / base:.0f}x a lower().split() baseline ({base * 1e6:.1f} us)"
    )


if __name__ == "__main__":
    quality()
    speed()
