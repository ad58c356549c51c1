"""Three ways to cut text: fixed token windows, recursive by structure, markdown sections.

`recursive` (the default) is semchunk: it splits at the largest structural
boundary present (runs of newlines, tabs, spaces, then sentence and clause
punctuation, then characters) and merges neighbours back up to `size - overlap`,
so a chunk is a slice of the document with its own newlines intact (a heading,
a paragraph and a code fence stay on their own lines). Each chunk after the
first then starts about `overlap` earlier, at a word start, repeating the end
of the one before. (semchunk's own overlap builds chunks from sub-chunks of
`min(overlap, size - overlap)`: on SciFact at size 400 / overlap 50 that made
33% more chunks, averaging 254 tokens instead of about 300.)

Bounded whatever the text:
- every chunk is at most `size` by the counter, checked here, not assumed (a
  chunk that comes out larger is cut again at the longest prefix that fits);
- the counters count at least one token per `MAX_CHARS_PER_TOKEN` characters,
  so text the tokenizer cannot see into (a 9 MB line without spaces is one
  [UNK] token to MiniLM) is still cut;
- text reaches semchunk and the tokenizer in windows of at most
  `window_chars(size)` characters, never a whole large document, so memory
  follows the window, not the document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from ragline.chunking.tokens import MAX_CHARS_PER_TOKEN, Counter, Offsets, token_offsets

Span = tuple[int, int]
_HEADING = re.compile(r"(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SPACE = re.compile(r"\s+")
_WINDOW = 200_000  # characters: a document up to this size is chunked in one piece


def window_chars(size: int) -> int:
    """How much text is handed to the splitter at once: room for many chunks."""
    return max(_WINDOW, 16 * size * MAX_CHARS_PER_TOKEN)


def _capped(count: Counter, size: int) -> Counter:
    """`count`, answering "too long" from the length alone for text that cannot fit."""
    limit = size * MAX_CHARS_PER_TOKEN
    # semchunk's last probe of a chunk is often the chunk itself, counted again by
    # _fit; only texts up to `limit` are cached, so the cache stays small
    cached = functools.lru_cache(maxsize=1024)(count)

    def capped(text: str) -> int:
        if len(text) > limit:
            return -(-len(text) // MAX_CHARS_PER_TOKEN)
        return cached(text)

    return capped


def _soft_end(text: str, start: int, end: int) -> int:
    """A cut at or before `end`: the last paragraph, line or space break in the
    window's second half, else `end` itself (one long run without breaks)."""
    floor = start + (end - start) // 2
    for mark in ("\n\n", "\n", " "):
        at = text.rfind(mark, floor, end)
        if at > floor:
            return at + len(mark)
    return end


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _fit(text: str, start: int, end: int, size: int, count: Counter) -> Iterator[Span]:
    """(start, end) itself if it fits, else the longest prefixes that do, in turn.

    Binary search over lengths; only a length whose count was seen within
    `size` is taken, so the result fits even where counts are not monotonic.
    """
    while start < end:
        if count(text[start:end]) <= size:
            yield start, end
            return
        good, low, high = 1, 1, min(end - start, size * MAX_CHARS_PER_TOKEN)
        if count(text[start : start + high]) <= size:  # text counted by its length
            good, low = high, high + 1
        while low <= high:
            middle = (low + high) // 2
            if count(text[start : start + middle]) <= size:
                good, low = middle, middle + 1
            else:
                high = middle - 1
        cut = start + good
        space = text.rfind(" ", start + good // 2, cut)
        if space > start and count(text[start:space]) <= size:
            cut = space  # a word boundary when there is one in the second half
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1


def _cores(text: str, start: int, end: int, size: int, count: Counter) -> Iterator[Span]:
    """semchunk over text[start:end], one window at a time; chunks of at most `size`.

    A window's last chunk may have been cut short by the window's end, so it is
    not kept: the next window starts where it started.
    """
    from semchunk.semchunk import chunk as semantic_chunks

    window = window_chars(size)
    while start < end:
        stop = end if end - start <= window else _soft_end(text, start, start + window)
        piece = text[start:stop]
        offsets: list[Span] = [(0, len(piece))]
        if not ((stop == end and count(piece) <= size) or not _SPACE.search(piece)):
            # else it all fits (the common case), or has no structure: _fit cuts it
            found = semantic_chunks(piece, size, count, offsets=True, memoize=False)
            assert isinstance(found, tuple)
            offsets = found[1]
        spans = [_trim(text, start + s, start + e) for s, e in offsets]
        spans = [(s, e) for s, e in spans if s < e]
        if stop < end and len(spans) > 1:
            spans, stop = spans[:-1], spans[-1][0]
        for s, e in spans:
            yield from _fit(text, s, e, size, count)
        start = stop


def _overlap_start(text: str, previous: int, core: int, overlap: int, offsets: Offsets) -> int:
    """Where a chunk starts to repeat about `overlap` units of the text before its core:
    the last `overlap` tokens (or characters) before `core`, from a word start."""
    region = max(previous, core - overlap * MAX_CHARS_PER_TOKEN)
    spans = offsets(text[region:core])
    if not spans:
        return core
    begin = region + spans[max(0, len(spans) - overlap)][0]
    if begin > 0 and not text[begin - 1].isspace():  # mid-word: start at the next word
        space = _SPACE.search(text, begin, core)
        begin = space.end() if space else core
    return begin


def _semantic(
    text: str, start: int, end: int, size: int, overlap: int, count: Counter, offsets: Offsets
) -> Iterator[Span]:
    """Chunks of at most `size`: semchunk cores of `size - overlap`, each after the
    first extended back over about `overlap` of the text before it."""
    capped = _capped(count, size)
    if capped(text[start:end]) <= size:  # the whole section fits: one chunk, no overlap
        stripped = text[start:end].strip()
        if stripped:
            begin = text.index(stripped[0], start)
            yield begin, begin + len(stripped)
        return
    held: Span | None = None
    for s, e in _cores(text, start, end, size - overlap, capped):
        begin = s
        if overlap and held is not None:
            begin = _overlap_start(text, held[0], s, overlap, offsets)
            if begin < s and capped(text[begin:e]) > size:
                begin = s
        # a chunk the next one repeats whole (a heading before a long paragraph) is dropped
        if held is not None and begin > held[0]:
            yield held
        held = (begin, e)
    if held is not None:
        yield held


def split_recursive(
    text: str, size: int, overlap: int, count: Counter, offsets: Offsets = token_offsets
) -> list[str]:
    """Chunks of at most `size` (by `count`), cut at the largest structural boundary."""
    return [text[s:e] for s, e in _semantic(text, 0, len(text), size, overlap, count, offsets)]


def _token_spans(text: str, window: int) -> Iterator[Span]:
    """Every model token's (start, end), tokenizing one window at a time; a token
    longer than MAX_CHARS_PER_TOKEN (an [UNK] word) is given in pieces of that length."""
    start = 0
    while start < len(text):
        stop = len(text) if len(text) - start <= window else _soft_end(text, start, start + window)
        for s, e in token_offsets(text[start:stop]):
            for cut in range(start + s, start + e, MAX_CHARS_PER_TOKEN):
                yield cut, min(cut + MAX_CHARS_PER_TOKEN, start + e)
        start = stop


def split_tokens(text: str, size: int, overlap: int, count: Counter) -> list[str]:
    """Windows of `size` model tokens, each starting `size - overlap` tokens after the last."""
    capped = _capped(count, size)
    step = size - overlap
    chunks: list[str] = []
    buffer: list[Span] = []
    spans = _token_spans(text, window_chars(size))
    exhausted = False
    while True:
        while not exhausted and len(buffer) < size:
            nxt = next(spans, None)
            if nxt is None:
                exhausted = True
            else:
                buffer.append(nxt)
        if not buffer:
            break
        window = buffer[:size]
        chunks.extend(text[s:e] for s, e in _fit(text, window[0][0], window[-1][1], size, capped))
        if exhausted and len(buffer) <= size:
            break
        del buffer[:step]
    return chunks


def _sections(text: str) -> Iterator[tuple[list[str], int, int]]:
    """(heading path, start, end) of each section; a section starts at its heading line."""
    path: list[tuple[int, str]] = []
    headings: list[str] = []
    section_start = 0
    in_fence = False
    for line in re.finditer(r"[^\n]*\n?", text):
        body = line.group().rstrip("\n")
        stripped = body.lstrip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        # a "heading" of a thousand characters is not one (and keeps the regex linear)
        match = None if in_fence or len(body) > 1000 else _HEADING.fullmatch(body.rstrip("\r"))
        if match:
            if line.start() > section_start:
                yield headings, section_start, line.start()
            level = len(match.group(1))
            path = [(lv, t) for lv, t in path if lv < level] + [(level, match.group(2))]
            headings = [t for _, t in path]
            section_start = line.start()
        if not line.group():
            break
    if len(text) > section_start:
        yield headings, section_start, len(text)


def split_markdown(
    text: str, size: int, overlap: int, count: Counter, offsets: Offsets = token_offsets
) -> list[tuple[list[str], str]]:
    """(heading path, chunk text) per section; long sections are split recursively."""
    return [
        (headings, text[s:e])
        for headings, start, end in _sections(text)
        for s, e in _semantic(text, start, end, size, overlap, count, offsets)
    ]
