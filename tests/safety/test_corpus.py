"""The labelled corpus is well-formed and the checks keep the issue's goals on it.

bench/bench_safety.py prints the figures per half (tune / heldout); this test
guards the goals over the whole corpus so a pattern change that loses recall
or starts flagging safe text fails CI, not just a benchmark nobody reads.
"""

from __future__ import annotations

import json
from pathlib import Path

from ragline.safety.checks import CHECKS, run_checks

CORPUS = Path(__file__).resolve().parents[1] / "data" / "safety" / "cases.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def test_the_corpus_is_large_labelled_and_split_in_two() -> None:
    assert len(CASES) >= 240
    assert len({c["text"] for c in CASES}) == len(CASES), "duplicate texts"
    for c in CASES:
        assert set(c) == {"text", "labels", "split"}, c
        assert set(c["labels"]) <= set(CHECKS), c
        assert c["split"] in ("tune", "heldout"), c
    for split in ("tune", "heldout"):
        part = [c for c in CASES if c["split"] == split]
        assert len(part) >= 100
        assert sum(not c["labels"] for c in part) >= 40  # safe texts, incl. tricky ones


def _recall(check: str) -> float:
    wanted = [c["text"] for c in CASES if check in c["labels"]]
    return sum(bool(CHECKS[check](t)) for t in wanted) / len(wanted)


def test_recall_goals_hold_on_the_corpus() -> None:
    assert _recall("pii") >= 0.95
    assert _recall("secrets") >= 0.95
    assert _recall("injection") >= 0.85


def test_false_positive_rate_on_safe_texts_is_at_most_five_percent() -> None:
    safe = [c["text"] for c in CASES if not c["labels"]]
    flagged = [t for t in safe if run_checks(t, list(CHECKS))]
    assert len(flagged) / len(safe) <= 0.05, flagged


def test_every_pattern_match_in_the_corpus_contains_one_of_its_needles() -> None:
    """Needles let a row be skipped; a pattern edit that outgrows its needles shows here."""
    from ragline.safety import code, injection, secrets

    for module in (code, injection, secrets):
        for kind, rx in module._TABLE:
            needles = module._NEEDLES.get(kind)
            if needles is None:
                continue
            for c in CASES:
                for m in rx.finditer(c["text"]):
                    low = c["text"].lower()
                    assert any(n in low for n in needles), (kind, c["text"], m.group())
