# ruff: noqa: RUF002  (homoglyphs are the subject here)
"""What the checks read: the text as a reader sees it, not as its code points spell it.

An attacker hides an instruction from pattern matching without hiding it from a
model: `ig\u200bnore` (a zero-width space inside the word), `Ignоre` (a Cyrillic
`о`), `ＩＧＮＯＲＥ` (fullwidth), `𝐢𝐠𝐧𝐨𝐫𝐞` (mathematical bold). So every check runs
on a normalised copy:

1. invisible characters are dropped: format characters (Unicode category Cf:
   zero-width space/joiners, word joiner, soft hyphen, BOM, bidi controls, tag
   characters) and variation selectors;
2. each character is NFKC-normalised (fullwidth, mathematical and other
   compatibility letters become plain ones; a combining mark composes with its
   letter where it can, and a stray combining diacritic left over is dropped);
3. homoglyphs are folded to the Latin letter they imitate, using Unicode's
   confusables data (UTS #39, shipped by `confusable_homoglyphs`), but only in
   words that mix Latin with look-alikes (`Ignоre`), or that consist of
   look-alikes only (`ΑΙ`, `рау`) in a text where their script shows no letter
   without a Latin twin. Russian or Greek prose always has such letters (`и`,
   `ж`, `λ`), so its words, short ones like `не` included, are left alone and
   the checks written for those languages still match.

Every character of the normalised text remembers the span of the original it
came from, so a finding in the normalised text maps back to the exact original
span (`Normalized.original`), and redaction replaces what the reader would see,
hidden characters included.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Words (letters only) with at least one character outside ASCII.
_WORD_WITH_NON_ASCII = re.compile(r"[^\W\d_]*[^\x00-\x7f][^\W\d_]*")
# Combining diacritics that decorate Latin-looking letters ("Zalgo" text): dropped
# when they do not compose. Marks of scripts such as Devanagari are kept.
_DIACRITIC_RANGES = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF))


@dataclass(frozen=True)
class Normalized:
    """The normalised text and, per character, the original span it came from
    (`starts`/`ends` are None when the text needed no change)."""

    text: str
    starts: list[int] | None = None
    ends: list[int] | None = None

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original span that normalised [start, end) came from, including any
        invisible characters between its first and last character."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


# A run of non-ASCII characters with none of these, and no combining mark, maps one
# character to one under NFKC (nothing composes), so it is normalised in one call:
# format characters (Cf, Unicode 15), variation selectors, and Hangul jamo (which compose).
_SLOW_PATH = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ufe00-\ufe0f"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef"
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]"
)


def _one_to_one(run: str) -> str | None:
    """NFKC of `run` when it maps character for character, else None."""
    if _SLOW_PATH.search(run) or any(unicodedata.combining(c) for c in run):
        return None
    nfkc = unicodedata.normalize("NFKC", run)
    return nfkc if len(nfkc) == len(run) else None


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F


def _stray_diacritic(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in _DIACRITIC_RANGES)


@lru_cache(maxsize=1)
def _homoglyphs() -> dict[str, str]:
    """Non-ASCII letter -> the ASCII letter or digit it imitates (Unicode confusables)."""
    data = json.loads(files("confusable_homoglyphs").joinpath("confusables.json").read_text())
    fold: dict[str, str] = {}
    for ch, entries in data.items():
        if len(ch) != 1 or ch.isascii() or not ch.isalpha():
            continue
        twins = [e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii()]
        twins = [c for c in twins if c.isalnum()]
        if not twins:
            continue
        letters = [c for c in twins if c.isalpha()]
        same_case = [c for c in letters if c.isupper() == ch.isupper()]
        twin = (same_case or letters or twins)[0]
        if ch.isupper() and twin == "l":  # Unicode's prototype for I-like capitals is "l"
            twin = "I"
        fold[ch] = twin
    return fold


def _script(ch: str) -> str:
    return unicodedata.name(ch, "?").split(" ", 1)[0]


def _fold_homoglyphs(text: str) -> str:
    words = [m for m in _WORD_WITH_NON_ASCII.finditer(text)]
    if not words:
        return text
    fold = _homoglyphs()
    # Scripts that this text really is written in: they have letters no Latin one imitates.
    genuine = {_script(c) for m in words for c in m.group() if not c.isascii() and c not in fold}
    chars: list[str] | None = None
    for m in words:
        word = m.group()
        foreign = [c for c in word if not c.isascii()]
        if not any(c in fold for c in foreign):
            continue
        mixed = any(c.isascii() for c in word)
        spoof = all(c in fold and _script(c) not in genuine for c in foreign)
        if not mixed and not spoof:
            continue
        chars = chars if chars is not None else list(text)
        for i, c in enumerate(word, m.start()):
            chars[i] = fold.get(c, c)
    return text if chars is None else "".join(chars)


def normalize(text: str) -> Normalized:
    """NFKC, invisible characters dropped, homoglyphs folded; spans kept (see module doc)."""
    if text.isascii():
        return Normalized(text)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for run in _NON_ASCII.finditer(text):
        if run.start() > pos:
            out.append(text[pos : run.start()])
            starts.extend(range(pos, run.start()))
            ends.extend(range(pos + 1, run.start() + 1))
        pos = run.end()
        fast = _one_to_one(run.group())
        if fast is not None:
            out.append(fast)
            starts.extend(range(run.start(), run.end()))
            ends.extend(range(run.start() + 1, run.end() + 1))
            continue
        for i in range(run.start(), run.end()):
            ch = text[i]
            if _invisible(ch):
                continue
            if unicodedata.combining(ch) and out:
                prev = out[-1][-1]
                composed = unicodedata.normalize("NFC", prev + ch)
                if len(composed) == 1:
                    out[-1] = out[-1][:-1] + composed
                    ends[-1] = i + 1
                    continue
                if _stray_diacritic(ch):
                    ends[-1] = i + 1
                    continue
            piece = unicodedata.normalize("NFKC", ch)
            out.append(piece)
            starts.extend([i] * len(piece))
            ends.extend([i + 1] * len(piece))
    if pos < len(text):
        out.append(text[pos:])
        starts.extend(range(pos, len(text)))
        ends.extend(range(pos + 1, len(text) + 1))
    return Normalized(_fold_homoglyphs("".join(out)), starts, ends)
