"""Models the assertions call: an llm-rubric judge and a similar-to embedder.

They go through one `ModelService` built from the suite's `deployments:`
(LiteLLM router, retries, cache), shared by every case of the command. Without
an embedding alias, similar-to uses the local all-MiniLM-L6-v2 that ships in a
pip package, so it works offline.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.errors import ErrorCategory, StepError

if TYPE_CHECKING:
    from ragline.llm.service import ModelService
    from ragline.suites.model import SuiteSpec

JUDGE_SYSTEM = (
    "You grade an output against a rubric. Reply with JSON only: "
    '{"pass": true or false, "score": a number from 0 to 1, "reason": "one short sentence"}.'
)


@dataclass
class Verdict:
    passed: bool
    score: float
    reason: str


def parse_verdict(text: str) -> Verdict:
    """The judge's JSON; a bare PASS/FAIL answer is accepted too (small models drift)."""
    match = re.search(r"\{.*\}", text, re.S)
    if match:
        try:
            data: Any = json.loads(match.group(0))
        except ValueError:
            data = None
        if isinstance(data, dict) and "pass" in data:
            passed = data["pass"] in (True, "true", "yes", 1)
            raw_score = data.get("score")
            score = float(raw_score) if isinstance(raw_score, (int, float)) else float(passed)
            return Verdict(passed, max(0.0, min(1.0, score)), str(data.get("reason", "")))
    words = re.findall(r"\b(PASS|FAIL)\b", text.upper())
    if words:
        passed = words[0] == "PASS"
        return Verdict(passed, float(passed), text.strip()[:200])
    raise StepError(
        f"the judge's answer is neither JSON with 'pass' nor PASS/FAIL: {text[:120]!r}",
        category=ErrorCategory.MODEL,
    )


class Models:
    """The suite's judge and embedder, built on first use, shared across threads."""

    def __init__(self, spec: SuiteSpec, directory: Path) -> None:
        self.spec = spec
        self.directory = directory
        self._service: ModelService | None = None
        self._lock = threading.Lock()

    def _svc(self) -> ModelService:
        with self._lock:
            if self._service is None:
                from ragline.llm.service import ModelService
                from ragline.spec.model import Workflow

                workflow = Workflow.model_validate(
                    {
                        "apiVersion": "ragline/v1",
                        "name": "ragline-test-judges",
                        "models": {
                            k: [d.model_dump(exclude_none=True, exclude_defaults=True) for d in v]
                            for k, v in self.spec.deployments.items()
                        },
                        "cache": {"type": "disk" if self.spec.cache else "none"},
                        "steps": [{"id": "judge", "uses": "value", "with": {"value": 0}}],
                    }
                )
                self._service = ModelService(workflow, self.directory)
            return self._service

    def embed(self, alias: str | None, texts: list[str]) -> list[list[float]]:
        if alias is None:
            from ragline.llm.providers.minilm import embed

            return embed(texts)
        vectors, _ = self._svc().embed(alias, texts)
        return vectors

    def judge(self, alias: str | None, rubric: str, output: str) -> Verdict:
        chosen = alias or self.spec.defaults.judge
        if chosen is None:  # the loader refuses this; kept for direct callers
            raise StepError("llm-rubric needs a judge alias", category=ErrorCategory.INPUT)
        completion = self._svc().complete(
            chosen,
            [
                {"role": "system", "content": JUDGE_SYSTEM},
                {"role": "user", "content": f"Rubric:\n{rubric}\n\nOutput:\n{output}"},
            ],
            temperature=0,
        )
        return parse_verdict(completion.text)
