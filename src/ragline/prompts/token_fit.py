"""Fit a prompt into `max_input_tokens` by dropping the lowest-scored contexts first.

Tokens are counted with LiteLLM's token counter for the target model (its own
tokenizer where LiteLLM knows it, tiktoken's cl100k otherwise). Each dropped
context is recorded, so a run shows what the model never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragline.llm.types import Message


@dataclass
class Fitted:
    messages: list[Message]
    input_tokens: int
    kept: list[dict[str, Any]]
    trimmed: list[dict[str, Any]] = field(default_factory=list)


def count_tokens(model: str, messages: list[Message]) -> int:
    from ragline.llm._litellm import litellm

    return int(litellm().token_counter(model=model, messages=[m.model_dump() for m in messages]))


def fit(
    contexts: list[dict[str, Any]],
    build: Callable[[list[dict[str, Any]]], list[Message]],
    *,
    max_input_tokens: int,
    model: str,
    counter: Callable[[str, list[Message]], int] = count_tokens,
) -> Fitted:
    """Drop contexts, lowest score first, until the rendered prompt fits; keep their order."""
    kept = list(contexts)
    trimmed: list[dict[str, Any]] = []
    messages = build(kept)
    tokens = counter(model, messages)
    while tokens > max_input_tokens and kept:
        worst = min(range(len(kept)), key=lambda i: (float(kept[i].get("score") or 0.0), -i))
        dropped = kept.pop(worst)
        trimmed.append(
            {
                "id": dropped["id"],
                "score": dropped.get("score"),
                "rank": dropped.get("rank"),
                "tokens_before": tokens,
            }
        )
        messages = build(kept)
        tokens = counter(model, messages)
    return Fitted(messages, tokens, kept, trimmed)
