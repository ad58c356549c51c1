"""Retrieval and answer metrics computed locally, without a model."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

from ragline.prompts.contexts import CITATION

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


Judgements = set[str] | Mapping[str, float]
"""Relevant ids, or id -> graded relevance (BEIR qrels: 1, 2, ...; 0 or less is not relevant)."""


def _grades(relevant: Judgements) -> dict[str, float]:
    if isinstance(relevant, Mapping):
        return {d: float(g) for d, g in relevant.items() if g > 0}
    return dict.fromkeys(relevant, 1.0)


def recall_at_k(retrieved: Sequence[str], relevant: Judgements, k: int) -> float:
    """Share of the relevant ids found in the first k."""
    grades = _grades(relevant)
    return len(set(retrieved[:k]) & grades.keys()) / len(grades) if grades else 0.0


def mrr(retrieved: Sequence[str], relevant: Judgements, k: int | None = None) -> float:
    """Reciprocal rank of the first relevant id (0 when none is in the first k)."""
    grades = _grades(relevant)
    ranked = retrieved if k is None else retrieved[:k]
    return next((1.0 / i for i, d in enumerate(ranked, 1) if d in grades), 0.0)


def ndcg_at_k(retrieved: Sequence[str], relevant: Judgements, k: int) -> float:
    """nDCG@k with linear gains (trec_eval's and BEIR's): a grade-2 document counts twice."""
    grades = _grades(relevant)
    dcg = sum(grades.get(d, 0.0) / math.log2(i + 1) for i, d in enumerate(retrieved[:k], 1))
    best = sorted(grades.values(), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 1) for i, g in enumerate(best, 1))
    return dcg / ideal if ideal else 0.0


def retrieval_scores(retrieved: Sequence[str], relevant: Judgements, k: int) -> dict[str, float]:
    """nDCG@k, recall@k and MRR@k of one ranking: the figures labelled-set evaluation reports."""
    return {
        f"ndcg@{k}": ndcg_at_k(retrieved, relevant, k),
        f"recall@{k}": recall_at_k(retrieved, relevant, k),
        f"mrr@{k}": mrr(retrieved, relevant, k),
    }


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
