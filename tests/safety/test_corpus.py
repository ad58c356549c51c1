"""The labelled corpus is well-formed and the checks keep the issue's goals on it.

bench/bench_safety.py prints the figures per half (tune / heldout) and per
family; this test guards the goals over the whole corpus so a pattern change
that loses recall or starts flagging safe text fails CI, not just a benchmark
nobody reads.

Cases written for hostile inputs (issue 12) carry a `family`: `<check>:<what>`
for texts that must be found (`injection:chinese`, `pii:phone_fr`) and
`benign:<what>` for look-alikes that must not (`benign:threat_lookalike`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragline.safety.checks import CHECKS, run_checks

CORPUS = Path(__file__).resolve().parents[1] / "data" / "safety" / "cases.jsonl"
CASES = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def test_the_corpus_is_large_labelled_and_split_in_two() -> None:
    assert len(CASES) >= 240
    assert len({c["text"] for c in CASES}) == len(CASES), "duplicate texts"
    for c in CASES:
        assert {"text", "labels", "split"} <= set(c) <= {"text", "labels", "split", "family"}, c
        assert set(c["labels"]) <= set(CHECKS), c
        assert c["split"] in ("tune", "heldout"), c
        if "family" in c:
            check, _, what = c["family"].partition(":")
            assert what, c
            assert check in c["labels"] if check != "benign" else c["labels"] == [], c
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
        # `_TABLE` rows with needles; the multilingual rows gate on script or needles
        # in injection_i18n and are checked by the family tests above.
        for kind, rx in module._TABLE:
            needles = module._NEEDLES.get(kind)
            if needles is None:
                continue
            for c in CASES:
                for m in rx.finditer(c["text"]):
                    low = c["text"].lower()
                    assert any(n in low for n in needles), (kind, c["text"], m.group())


FAMILIES = {c["family"] for c in CASES if "family" in c}
HOSTILE = sorted(f for f in FAMILIES if not f.startswith("benign:"))
# The families issue 12 names, each with several cases of its own.
NAMED = [
    "injection:portuguese",
    "injection:chinese",
    "injection:spaced",
    "injection:base64",
    "injection:zero_width",
    "injection:homoglyph",
    "toxicity:threat",
    "malicious_code:destructive",
    "malicious_code:reverse_shell",
    "pii:phone_fr",
    "pii:phone_in",
    "benign:portuguese",
    "benign:chinese",
    "benign:base64",
    "benign:security_prose",
    "benign:threat_lookalike",
    "benign:phone_fr_lookalike",
    "benign:phone_in_lookalike",
]


def _family(name: str) -> list[str]:
    return [c["text"] for c in CASES if c.get("family") == name]


@pytest.mark.parametrize("family", NAMED)
def test_each_hostile_family_has_several_cases(family: str) -> None:
    assert len(_family(family)) >= 5, family


def test_injections_in_at_least_eight_languages_besides_english() -> None:
    languages = {f for f in HOSTILE if f.startswith("injection:")} - {
        "injection:spaced",
        "injection:base64",
        "injection:zero_width",
        "injection:homoglyph",
    }
    assert len(languages) >= 8, languages


@pytest.mark.parametrize("family", HOSTILE)
def test_every_case_of_a_hostile_family_is_found(family: str) -> None:
    check = family.split(":")[0]
    missed = [t for t in _family(family) if not CHECKS[check](t)]
    assert missed == []


def test_benign_look_alikes_are_not_flagged_but_one_quoted_threat() -> None:
    """The one known false positive: a threat quoted as a phrase, which a word pattern
    cannot tell from the threat itself (see docs/safety.md, known limits)."""
    benign = [c["text"] for c in CASES if c.get("family", "").startswith("benign:")]
    flagged = [t for t in benign if run_checks(t, list(CHECKS))]
    assert len(benign) >= 50
    assert flagged == ["I know where you live is a common phrase in thrillers, the editor noted."]


def test_rows_gated_by_needles_never_match_without_them() -> None:
    """The same guard for the multilingual rows and the threat rows, on the normalised
    text that the checks read."""
    from ragline.safety import injection_i18n, toxicity
    from ragline.safety.checks import normalize

    rows = [
        *zip(injection_i18n._LATIN_NEEDLES, (rx for _, rx in injection_i18n._LATIN), strict=True),
        *toxicity._THREATS,
    ]
    for c in CASES:
        text = normalize(c["text"]).text
        low = text.lower()
        for needles, rx in rows:
            for m in rx.finditer(text):
                assert any(n in low for n in needles), (c["text"], m.group())
