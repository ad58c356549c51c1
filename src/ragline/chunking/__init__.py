"""Splitting documents into chunks sized for the embedding model.

Sizes are counted in the embedding model's own tokens, so a chunk never
exceeds what the model reads (MiniLM truncates at 256 word pieces), and at
least one token per MAX_CHARS_PER_TOKEN characters, so no text, however
hostile, makes a chunk longer than `size * MAX_CHARS_PER_TOKEN` characters.
"""

from ragline.chunking.splitters import split_markdown, split_recursive, split_tokens
from ragline.chunking.tokens import (
    MAX_CHARS_PER_TOKEN,
    Counter,
    Offsets,
    char_counter,
    char_offsets,
    token_counter,
    token_offsets,
)

__all__ = [
    "MAX_CHARS_PER_TOKEN",
    "Counter",
    "Offsets",
    "char_counter",
    "char_offsets",
    "split_markdown",
    "split_recursive",
    "split_tokens",
    "token_counter",
    "token_offsets",
]
