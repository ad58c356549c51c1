"""Text hidden from word patterns in plain sight: letters spaced apart (`i g n o r e`,
`r.e.v.e.a.l`) and base64 (`SWdub3JlIGFsbC...`). Each helper yields the hidden text
with the span that carries it, and the checks look at the hidden text too.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

# Five or more single letters in a row, each followed by a short run of separators.
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ \t._*|/\\-]{1,4}){4,}[^\W\d_](?![^\W\d_])")
_LETTER = re.compile(r"[^\W\d_]")
# Context around a spaced run that joins its letters: "ignore all p r e v i o u s".
_CONTEXT = 40

_B64 = re.compile(r"(?<![\w+/-])(?:[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2})(?![\w+/=-])")
_PRINTABLE_SHARE = 0.95


def spaced_letters(text: str) -> Iterator[tuple[str, list[int]]]:
    """For each run of spaced-out letters: the letters of the run and of its context
    (`_CONTEXT` characters either side), lowercased and joined, with each letter's
    offset in `text`. Word gaps are lost on purpose: `i g n o r e  a l l` and
    `ignore all p r e v i o u s` both read `ignoreallprevious...`."""
    if not _SPACED.search(text):
        return
    for m in _SPACED.finditer(text):
        lo, hi = max(0, m.start() - _CONTEXT), min(len(text), m.end() + _CONTEXT)
        letters = list(_LETTER.finditer(text, lo, hi))
        yield "".join(c.group() for c in letters).lower(), [c.start() for c in letters]


def _decode(token: str) -> str | None:
    raw = token.rstrip("=")
    raw += "=" * (-len(raw) % 4)
    try:
        data = (
            base64.urlsafe_b64decode(raw)
            if "-" in raw or "_" in raw
            else base64.b64decode(raw, validate=True)
        )
        text = data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(c.isprintable() or c.isspace() for c in text)
    if len(text) < 8 or printable < _PRINTABLE_SHARE * len(text):
        return None
    if " " not in text and not _B64.fullmatch(text):  # words, or base64 again
        return None
    return text


def base64_texts(text: str) -> Iterator[tuple[int, int, str]]:
    """Base64 tokens that decode to readable text (words with spaces, or another
    base64 token), as (start, end, decoded). A key or a hash decodes to bytes and is
    skipped."""
    for m in _B64.finditer(text):
        token = m.group()
        if token.lower() == token or token.upper() == token:
            continue  # identifiers and hex; base64 of prose mixes cases
        decoded = _decode(token)
        if decoded is not None:
            yield m.start(), m.end(), decoded
