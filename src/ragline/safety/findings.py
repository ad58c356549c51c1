"""What a check reports: which check, what kind, and where (offsets, never the text)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str
    kind: str
    start: int
    end: int


Detector = Callable[[str], list[Finding]]


def without_overlaps(findings: list[Finding]) -> list[Finding]:
    """One finding per stretch of text: where patterns overlap, the earliest (then longest)
    wins, so a report lists each place once."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    return kept


def pattern_table(
    check: str,
    table: list[tuple[str, re.Pattern[str]]],
    needles: dict[str, tuple[str, ...]] | None = None,
) -> Detector:
    """A detector from (kind, regex) rows: each match of a row is a finding (overlaps merged).

    `needles` maps a kind to lowercase substrings one of which any match contains; a row
    whose needles are all absent is skipped. Substring search runs in C at memory speed,
    a regex scan does not, and most texts contain none of a row's needles.
    """
    needles = needles or {}

    def run(text: str) -> list[Finding]:
        low = text.lower()
        return without_overlaps(
            [
                Finding(check, kind, m.start(), m.end())
                for kind, rx in table
                if kind not in needles or any(n in low for n in needles[kind])
                for m in rx.finditer(text)
            ]
        )

    return run
