"""LLM-judged faithfulness and answer relevance, through the workflow's own router.

The judge is just another model alias, so it gets the same retries, fallbacks,
cache and budget as any call. It answers in JSON; a reply that cannot be read
as a score is an error naming the judge, not a silent zero.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from ragline.errors import ErrorCategory, StepError

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext

QUESTIONS = {
    "faithfulness": (
        "Rate how well every claim of the ANSWER is supported by the CONTEXTS "
        "(1 = fully supported, 0 = unsupported or contradicted)."
    ),
    "answer_relevance": (
        "Rate how directly the ANSWER addresses the QUESTION (1 = fully answers it, 0 = off topic)."
    ),
}
_NUMBER = re.compile(r"\"?score\"?\s*[:=]\s*(-?[0-9.]+)", re.IGNORECASE)


def parse_score(reply: str) -> float | None:
    """A score in [0, 1] from `{"score": 0.8, ...}` or text containing `score: 0.8`."""
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        value = json.loads(text).get("score")
    except (json.JSONDecodeError, AttributeError):
        match = _NUMBER.search(reply)
        value = match.group(1) if match else None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0.0 <= score <= 1.0 else None


def judge(
    ctx: StepContext, alias: str, question: str | None, answer: str, contexts: list[str]
) -> dict[str, float]:
    from ragline.llm.service import model_service

    service = model_service(ctx)
    scores: dict[str, float] = {}
    shown = "\n\n".join(f"[{i + 1}] {c}" for i, c in enumerate(contexts)) or "(none)"
    for metric, instruction in QUESTIONS.items():
        if metric == "answer_relevance" and not question:
            continue
        prompt = (
            f'{instruction}\nReply with JSON only: {{"score": <number 0..1>, "reason": '
            f'"..."}}\n\nQUESTION:\n{question or "(not given)"}\n\nCONTEXTS:\n{shown}\n\n'
            f"ANSWER:\n{answer}"
        )
        completion = service.complete(
            alias, [{"role": "user", "content": prompt}], temperature=0, max_tokens=200, ctx=ctx
        )
        score = parse_score(completion.text)
        if score is None:
            raise StepError(
                f"judge '{alias}' did not return a score for {metric}: {completion.text[:120]!r}; "
                "use a model that follows JSON instructions",
                category=ErrorCategory.MODEL,
                retryable=False,
            )
        scores[metric] = score
    return scores
