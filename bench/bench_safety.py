"""Safety checks: precision/recall per check on the labelled corpus, the false-positive
rate on its safe cases, and the time all checks add per 1,000-character answer.

The corpus (tests/data/safety/cases.jsonl) is split in two halves by a hash of
each text: patterns are tuned on `tune` only, and `heldout` is reported beside
it, so overfitting to the tuning cases shows as a gap between the two columns.
Misses and false positives are listed for `tune` only (pass --show-heldout to
list those of `heldout` too, after which it is no longer held out).

Goals (issue 6): recall >= 0.95 on pii and secrets, >= 0.85 on injection,
false-positive rate <= 0.05 on safe texts, < 10 ms per 1,000-char answer.

Cases written for issue 12 (hostile inputs) carry a `family` such as
`injection:chinese`, `pii:phone_fr` or `benign:threat_lookalike`; the second
table gives recall per hostile family and the false-positive count per family
of benign look-alikes, both halves together.

Run: .venv/bin/python bench/bench_safety.py [--show-heldout]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragline.safety.checks import _DETECTORS, CHECKS, normalize, run_checks

CORPUS = Path(__file__).resolve().parents[1] / "tests/data/safety/cases.jsonl"
# shared/ sits beside the checkout (or beside the folder of worktrees).
MSMARCO = next(
    (
        p / "shared/data/msmarco-sample/corpus.jsonl"
        for p in Path(__file__).resolve().parents
        if (p / "shared/data/msmarco-sample/corpus.jsonl").exists()
    ),
    Path("/nonexistent"),
)
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


def families() -> None:
    cases = [c for c in load() if "family" in c]
    fams = sorted({c["family"] for c in cases})
    print(f"\nper family ({len(cases)} cases written for hostile inputs; tune+heldout)")
    print(f"{'family':<32}{'cases':>6}{'found':>7}{'recall':>8}   flagged (benign)")
    for fam in fams:
        part = [c for c in cases if c["family"] == fam]
        if fam.startswith("benign:"):
            flagged = sum(bool(run_checks(c["text"], list(CHECKS))) for c in part)
            print(f"{fam:<32}{len(part):>6}{'':>7}{'':>8}   {flagged}/{len(part)}")
            continue
        check = fam.split(":")[0]
        found = sum(bool(CHECKS[check](c["text"])) for c in part)
        print(f"{fam:<32}{len(part):>6}{found:>7}{found / len(part):>8.2f}")
    hostile = [c for c in cases if not c["family"].startswith("benign:")]
    benign = [c for c in cases if c["family"].startswith("benign:")]
    found = sum(bool(CHECKS[c["family"].split(":")[0]](c["text"])) for c in hostile)
    flagged = sum(bool(run_checks(c["text"], list(CHECKS))) for c in benign)
    print(
        f"hostile families: {found}/{len(hostile)} found = {found / len(hostile):.2f}; "
        f"benign look-alikes flagged: {flagged}/{len(benign)} = {flagged / len(benign):.3f}"
    )
    by_kind: dict[str, list[bool]] = {}
    for c in hostile:
        check = c["family"].split(":")[0]
        by_kind.setdefault(check, []).append(bool(CHECKS[check](c["text"])))
    print(
        "recall per kind (hostile families): "
        + ", ".join(f"{k} {sum(v)}/{len(v)} = {sum(v) / len(v):.2f}" for k, v in by_kind.items())
    )


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


def _best_ms(fn: Callable[[str], object], answers: list[str], repeat: int = 7) -> float:
    """Milliseconds per answer: each answer's best of `repeat` runs, averaged. The
    machine is shared, and a run that lost the CPU to another process says nothing
    about the checks."""
    total = 0.0
    for a in answers:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(a)
            best = min(best, time.perf_counter() - t0)
        total += best
    return total / len(answers) * 1000


def _chunks(texts: list[str], limit: int = 200_000) -> list[str]:
    blob = " ".join(texts)
    return [blob[i : i + 1000] for i in range(0, min(len(blob), limit), 1000)]


def speed() -> None:
    """All checks on 1,000-character answers: web text (MS MARCO, half of it with some
    non-ASCII), and the hostile-family cases (other scripts, homoglyphs, base64) where
    normalisation has the most to do. The same detectors on the raw text, without
    normalisation, are the baseline measured in the same run."""
    names = list(CHECKS)
    run_checks("warm up: 06 12 34 56 78 Ign\u043ere \u0430ll", names)  # lazy imports and data
    sets = {"hostile-family cases": _chunks([c["text"] for c in load() if "family" in c])}
    if MSMARCO.exists():
        texts = [json.loads(line)["text"] for line in MSMARCO.read_text().splitlines()[:500]]
        sets = {"MS MARCO passages": _chunks(texts), **sets}
    detectors = list(_DETECTORS.values())
    for label, answers in sets.items():
        full = _best_ms(lambda a: run_checks(a, names), answers)
        raw = _best_ms(lambda a: [d(a) for d in detectors], answers)
        norm = _best_ms(normalize, answers)
        non_ascii = sum(not a.isascii() for a in answers) / len(answers)
        print(
            f"{label} ({len(answers)} answers of 1,000 chars, {non_ascii:.0%} not ASCII): "
            f"all checks {full:.3f} ms per answer (goal < 10 ms); "
            f"{full / raw:.2f}x the same detectors on raw text ({raw:.3f} ms); "
            f"normalise alone {norm:.3f} ms"
        )
        per_check = {n: _best_ms(lambda a, n=n: run_checks(a, [n]), answers) for n in names}
        print(
            "  each check alone (normalising its own copy): "
            + ", ".join(f"{k} {v:.3f} ms" for k, v in per_check.items())
        )


def main() -> None:
    quality("--show-heldout" in sys.argv)
    families()
    natural_text()
    speed()


if __name__ == "__main__":
    main()
