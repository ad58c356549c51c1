"""Retrieval and answer metrics computed locally, without a model."""

from __future__ import annotations

import math
import re
from collections import Counter

from ragline.prompts.contexts import CITATION

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def recall_at_k(retrieved: list[str], relevant: set[str], k: int) -> float:
    return len(set(retrieved[:k]) & relevant) / len(relevant) if relevant else 0.0


def mrr(retrieved: list[str], relevant: set[str]) -> float:
    return next((1.0 / i for i, d in enumerate(retrieved, 1) if d in relevant), 0.0)


def ndcg_at_k(retrieved: list[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 1) for i, d in enumerate(retrieved[:k], 1) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def exact_match(answer: str, reference: str) -> float:
    return float(_tokens(answer) == _tokens(reference))


def token_f1(answer: str, reference: str) -> float:
    a, r = _tokens(answer), _tokens(reference)
    common = sum((Counter(a) & Counter(r)).values())
    if not common:
        return 0.0
    p, rec = common / len(a), common / len(r)
    return 2 * p * rec / (p + rec)


_CITATION = CITATION


# "The contexts do not contain an answer", "I don't know": a sentence that declines
# to answer claims nothing, so there is nothing in it to ground.
_ABSTAIN = re.compile(
    r"\b(?:"
    r"(?:contexts?|passages?|documents?|documentation|sources?)\b[^.!?]*?"
    r"\b(?:do|does|did)\s*(?:not|n't)\s+(?:contain|include|mention|say|provide|cover|answer)"
    r"|(?:i|we)\s+(?:do|did)\s*(?:not|n't)\s+know"
    r"|(?:cannot|can't|can not|unable to)\s+(?:be\s+)?(?:answer|find|determine)"
    r"|no\s+(?:information|answer|mention)\b"
    r"|not\s+(?:enough|sufficient)\s+information"
    r")",
    re.IGNORECASE,
)


def _sentences(answer: str) -> list[str]:
    # Citations such as [faq.html#1] point at contexts; they are not claims to check.
    uncited = _CITATION.sub(" ", answer).strip()
    return [s for s in _SENTENCE.split(uncited) if _tokens(s)]


def abstains(answer: str) -> bool:
    """True when every sentence of the answer declines to answer (and so claims nothing)."""
    sentences = _sentences(answer)
    return bool(sentences) and all(_ABSTAIN.search(s) for s in sentences)


def groundedness(
    answer: str, contexts: list[str], threshold: float = 0.5
) -> tuple[float, list[str]]:
    """Share of answer sentences whose content words mostly appear in one context.

    Returns the score and the unsupported sentences (the worst examples a gate shows).
    Sentences that decline to answer make no claim and are not checked; an
    answer made only of them (an abstention) is grounded: 1.0.
    """
    sentences = _sentences(answer)
    if not sentences:
        return 0.0, []
    claims = [s for s in sentences if not _ABSTAIN.search(s)]
    if not claims:
        return 1.0, []
    sentences = claims
    ctx_sets = [set(_tokens(c)) for c in contexts]
    unsupported = []
    for s in sentences:
        words = {w for w in _tokens(s) if len(w) > 3}
        if not words:
            continue
        best = max((len(words & c) / len(words) for c in ctx_sets), default=0.0)
        if best < threshold:
            unsupported.append(s)
    return 1 - len(unsupported) / len(sentences), unsupported
