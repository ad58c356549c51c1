"""Splitting documents into chunks sized for the embedding model.

Sizes are counted in the embedding model's own tokens, so a chunk never
exceeds what the model reads (MiniLM truncates at 256 word pieces).
"""

from ragline.chunking.splitters import split_markdown, split_recursive, split_tokens
from ragline.chunking.tokens import Counter, char_counter, token_counter

__all__ = [
    "Counter",
    "char_counter",
    "split_markdown",
    "split_recursive",
    "split_tokens",
    "token_counter",
]
