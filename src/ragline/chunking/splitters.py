"""Three ways to cut text: fixed token windows, recursive by structure, markdown sections.

`recursive` (the default) cuts at the largest boundary that makes pieces fit:
headings, then paragraphs, lines, sentences, words; neighbouring pieces are
packed together up to `size`, and consecutive chunks share about `overlap`.
"""

from __future__ import annotations

import re

from ragline.chunking.tokens import Counter, token_offsets

SEPARATORS = [r"\n(?=#{1,6} )", r"\n\s*\n", r"\n", r"(?<=[.!?])\s+", r"\s+"]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def split_tokens(text: str, size: int, overlap: int) -> list[str]:
    """Windows of `size` model tokens, each starting `size - overlap` tokens after the last."""
    offsets = token_offsets(text)
    if not offsets:
        return [text] if text.strip() else []
    step = max(1, size - overlap)
    chunks = []
    for start in range(0, len(offsets), step):
        window = offsets[start : start + size]
        chunks.append(text[window[0][0] : window[-1][1]])
        if start + size >= len(offsets):
            break
    return chunks


def _split(text: str, separators: list[str], size: int, count: Counter) -> list[str]:
    """Pieces that each fit in `size`, cut at the first separator that works."""
    if count(text) <= size:
        return [text]
    if not separators:  # one unbreakable run longer than size: hard cut by characters
        cut = max(1, len(text) * size // max(1, count(text)))
        return [text[i : i + cut] for i in range(0, len(text), cut)]
    pieces = [p for p in re.split(separators[0], text) if p.strip()]
    if len(pieces) == 1:
        return _split(text, separators[1:], size, count)
    out: list[str] = []
    for piece in pieces:
        out.extend(_split(piece, separators[1:], size, count))
    return out


def _pack(pieces: list[str], size: int, overlap: int, count: Counter) -> list[str]:
    """Join neighbouring pieces up to `size`; start each chunk with ~`overlap` of the last."""
    chunks: list[str] = []
    current: list[tuple[str, int]] = []
    total = 0
    for piece in pieces:
        n = count(piece)
        if current and total + n + 1 > size:
            chunks.append(" ".join(p for p, _ in current))
            kept: list[tuple[str, int]] = []
            kept_total = 0
            for p, pn in reversed(current):
                if kept_total + pn > overlap or kept_total + pn + n + 1 > size:
                    break
                kept.insert(0, (p, pn))
                kept_total += pn
            current, total = kept, kept_total
        current.append((piece, n))
        total += n + 1
    if current:
        chunks.append(" ".join(p for p, _ in current))
    return chunks


def split_recursive(text: str, size: int, overlap: int, count: Counter) -> list[str]:
    pieces = [p.strip() for p in _split(text, SEPARATORS, size, count)]
    return _pack([p for p in pieces if p], size, overlap, count)


def split_markdown(
    text: str, size: int, overlap: int, count: Counter
) -> list[tuple[list[str], str]]:
    """(heading path, chunk text) per section; long sections are split recursively."""
    sections: list[tuple[list[str], list[str]]] = [([], [])]
    path: list[tuple[int, str]] = []
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            level = len(match.group(1))
            path = [(lv, t) for lv, t in path if lv < level] + [(level, match.group(2))]
            sections.append(([t for _, t in path], [line]))
        else:
            sections[-1][1].append(line)
    out: list[tuple[list[str], str]] = []
    for headings, lines in sections:
        body = "\n".join(lines).strip()
        if body:
            out.extend((headings, chunk) for chunk in split_recursive(body, size, overlap, count))
    return out
