"""Safety checks: precision/recall per check on the labelled corpus, the false-positive
rate on its safe cases, and the time all checks add per 1,000-character answer.

The corpus (tests/data/safety/cases.jsonl) is split in two halves by a hash of
each text: patterns are tuned on `tune` only, and `heldout` is reported beside
it, so overfitting to the tuning cases shows as a gap between the two columns.
Misses and false positives are listed for `tune` only (pass --show-heldout to
list those of `heldout` too, after which it is no longer held out).

Goals (issue 6): recall >= 0.95 on pii and secrets, >= 0.85 on injection,
false-positive rate <= 0.05 on safe texts, < 10 ms per 1,000-char answer.

Run: .venv/bin/python bench/bench_safety.py [--show-heldout]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ragline.safety.checks import CHECKS, run_checks

CORPUS = Path(__file__).resolve().parents[1] / "tests/data/safety/cases.jsonl"
MSMARCO = Path(__file__).resolve().parents[2] / "shared/data/msmarco-sample/corpus.jsonl"
GOALS = {"pii": 0.95, "secrets": 0.95, "injection": 0.85}
MAX_FPR = 0.05


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def _scores(cases: list[dict[str, Any]], name: str) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for c in cases:
        hit, want = bool(CHECKS[name](c["text"])), name in c["labels"]
        tp, fp, fn = tp + (hit and want), fp + (hit and not want), fn + (want and not hit)
    return tp, fp, fn


def _fmt(x: float) -> str:
    return "   -" if x != x else f"{x:.2f}"


def quality(show_heldout: bool) -> None:
    cases = load()
    splits = {s: [c for c in cases if c["split"] == s] for s in ("tune", "heldout")}
    safe_n = sum(not c["labels"] for c in cases)
    print(
        f"{len(cases)} labelled cases ({safe_n} safe): "
        + ", ".join(f"{s} {len(v)}" for s, v in splits.items())
    )
    print(f"{'':16}{'tune':^30}{'heldout':^30}{'goal':>8}")
    head = f"{'tp':>4}{'fp':>4}{'fn':>4}{'precision':>10}{'recall':>8}"
    print(f"{'check':<16}{head}  {head}  {'recall':>6}")
    for name in CHECKS:
        cells = []
        for part in splits.values():
            tp, fp, fn = _scores(part, name)
            p = tp / (tp + fp) if tp + fp else float("nan")
            r = tp / (tp + fn) if tp + fn else float("nan")
            cells.append(f"{tp:>4}{fp:>4}{fn:>4}{_fmt(p):>10}{_fmt(r):>8}")
        goal = f">={GOALS[name]:.2f}" if name in GOALS else ""
        print(f"{name:<16}{cells[0]}  {cells[1]}  {goal:>6}")
    rates = []
    for split, part in splits.items():
        safe = [c for c in part if not c["labels"]]
        flagged = [c for c in safe if run_checks(c["text"], list(CHECKS))]
        rates.append(f"{split} {len(flagged)}/{len(safe)} = {len(flagged) / len(safe):.3f}")
    print(f"false-positive rate on safe texts: {', '.join(rates)} (goal <= {MAX_FPR})")
    for split, part in splits.items():
        if split == "heldout" and not show_heldout:
            continue
        for c in part:
            fired = {f.check for f in run_checks(c["text"], list(CHECKS))}
            missed = set(c["labels"]) - fired
            extra = fired - set(c["labels"])
            if missed or extra:
                what = ", ".join(
                    [f"missed {m}" for m in sorted(missed)] + [f"false {e}" for e in sorted(extra)]
                )
                print(f"  [{split}] {what}: {c['text'][:70]!r}")


def natural_text() -> None:
    """Unlabelled web passages: almost all benign, so a high rate here means noisy patterns."""
    if not MSMARCO.exists():
        return
    texts = [json.loads(line)["text"] for line in MSMARCO.read_text().splitlines()]
    rates = []
    for name, check in CHECKS.items():
        hits = sum(1 for t in texts if check(t))
        rates.append(f"{name} {hits}")
    print(f"flagged among {len(texts)} MS MARCO passages (unlabelled web text): {', '.join(rates)}")


def speed() -> None:
    if MSMARCO.exists():
        texts = [json.loads(line)["text"] for line in MSMARCO.read_text().splitlines()[:500]]
    else:
        texts = [c["text"] for c in load()]
    blob = " ".join(texts)
    answers = [blob[i : i + 1000] for i in range(0, min(len(blob), 200_000), 1000)]
    names = list(CHECKS)
    t0 = time.perf_counter()
    for a in answers:
        a.lower().split()
    base = (time.perf_counter() - t0) / len(answers)
    per_check = {}
    for name in names:
        t0 = time.perf_counter()
        for a in answers:
            CHECKS[name](a)
        per_check[name] = (time.perf_counter() - t0) / len(answers)
    t0 = time.perf_counter()
    for a in answers:
        run_checks(a, names)
    per = (time.perf_counter() - t0) / len(answers)
    print(
        f"all checks: {per * 1000:.3f} ms per 1,000-char answer ({len(answers)} answers; "
        f"goal < 10 ms); {per / base:.0f}x a lower().split() baseline ({base * 1e6:.1f} us)"
    )
    print("  per check: " + ", ".join(f"{k} {v * 1000:.3f} ms" for k, v in per_check.items()))


def main() -> None:
    quality("--show-heldout" in sys.argv)
    natural_text()
    speed()


if __name__ == "__main__":
    main()
