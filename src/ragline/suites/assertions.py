"""Each assertion type as a small function of a case's facts: pass or fail, with a reason.

Reasons say what was expected and what was found, trimmed, so a failing
line in a CI log is enough to see why. Judges and embedders are reached
through `Models` (the suite's own deployments, LiteLLM's router), never
called directly.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.suites import model as m

if TYPE_CHECKING:
    from ragline.suites.judges import Models


@dataclass
class Facts:
    """What a case's run produced, as assertions see it."""

    output: Any
    latency_ms: float
    cost_usd: float
    error: str | None = None  # the run's error, when it failed


@dataclass
class AssertionResult:
    type: str
    passed: bool
    reason: str
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "passed": self.passed,
            "score": self.score,
            "reason": self.reason,
        }


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("\n", " ")
    return repr(text[: limit - 3] + "...") if len(text) > limit else repr(text)


def as_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    return json.dumps(output, default=str, ensure_ascii=False)


def _contains(a: m.Contains, facts: Facts, _: Models) -> AssertionResult:
    text, needle = as_text(facts.output), a.value
    if a.type.endswith("icontains"):
        text, needle = text.lower(), needle.lower()
    found = needle in text
    want = not a.type.startswith("not-")
    verb = "contains" if found else "does not contain"
    return AssertionResult(a.type, found == want, f"output {verb} {a.value!r}")


def _regex(a: m.RegexAssertion, facts: Facts, _: Models) -> AssertionResult:
    match = re.search(a.value, as_text(facts.output))
    want = a.type == "regex"
    if match:
        reason = f"/{a.value}/ matches {_short(match.group(0))}"
    else:
        reason = f"/{a.value}/ does not match {_short(facts.output)}"
    return AssertionResult(a.type, bool(match) == want, reason)


def _equals(a: m.Equals, facts: Facts, _: Models) -> AssertionResult:
    out = facts.output
    if isinstance(a.value, str):
        ok = as_text(out).strip() == a.value.strip()
    else:
        if isinstance(out, str):
            with contextlib.suppress(ValueError):
                out = json.loads(out)
        ok = out == a.value
    reason = (
        "output equals the expected value"
        if ok
        else (f"expected {_short(a.value)}, got {_short(facts.output)}")
    )
    return AssertionResult(a.type, ok, reason)


def _json_schema(a: m.JsonSchemaAssertion, facts: Facts, _: Models) -> AssertionResult:
    from jsonschema import Draft202012Validator

    data = facts.output
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as err:
            return AssertionResult(a.type, False, f"output is not JSON: {err}")
    errors = sorted(Draft202012Validator(a.value).iter_errors(data), key=lambda e: e.path)
    if not errors:
        return AssertionResult(a.type, True, "output is valid against the schema")
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return AssertionResult(a.type, False, f"at {where}: {first.message}{more}")


def _latency(a: m.MaxLatency, facts: Facts, _: Models) -> AssertionResult:
    ok = facts.latency_ms <= a.value
    word = "within" if ok else "over"
    return AssertionResult(
        a.type, ok, f"took {facts.latency_ms:.0f} ms, {word} the {a.value:g} ms bound"
    )


def _cost(a: m.MaxCost, facts: Facts, _: Models) -> AssertionResult:
    ok = facts.cost_usd <= a.value
    word = "within" if ok else "over"
    return AssertionResult(a.type, ok, f"cost ${facts.cost_usd:.6f}, {word} ${a.value:g}")


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _similar(a: m.SimilarTo, facts: Facts, models: Models) -> AssertionResult:
    vectors = models.embed(a.model, [as_text(facts.output), a.value])
    score = cosine(vectors[0], vectors[1])
    ok = score >= a.threshold
    word = "at least" if ok else "below"
    return AssertionResult(
        a.type, ok, f"similarity {score:.3f} is {word} the threshold {a.threshold:g}", score
    )


def _rubric(a: m.LlmRubric, facts: Facts, models: Models) -> AssertionResult:
    verdict = models.judge(a.model, a.value, as_text(facts.output))
    ok = verdict.passed and verdict.score >= a.threshold
    return AssertionResult(a.type, ok, f"judge: {verdict.reason}", verdict.score)


def _safety(a: m.SafetyAssertion, facts: Facts, _: Models) -> AssertionResult:
    from ragline.safety.checks import run_checks

    findings = run_checks(as_text(facts.output), list(a.checks))
    if not findings:
        return AssertionResult(a.type, True, f"passed {', '.join(a.checks)}")
    # Offsets, never the matched text: it may be a secret.
    where = ", ".join(f"{f.check}/{f.kind} at {f.start}-{f.end}" for f in findings[:5])
    return AssertionResult(a.type, False, f"unsafe output: {where}")


def _run_fails(a: m.RunFails, facts: Facts, _: Models) -> AssertionResult:
    if facts.error is None:
        return AssertionResult(a.type, False, "the run completed; expected it to fail")
    first = facts.error.splitlines()[0]
    if a.value is not None and a.value not in facts.error:
        return AssertionResult(
            a.type, False, f"the run failed, but not with {a.value!r}: {_short(first, 120)}"
        )
    return AssertionResult(a.type, True, f"the run failed as expected: {_short(first, 120)}")


_RUNNERS: dict[type[Any], Callable[[Any, Facts, Models], AssertionResult]] = {
    m.Contains: _contains,
    m.RegexAssertion: _regex,
    m.Equals: _equals,
    m.JsonSchemaAssertion: _json_schema,
    m.MaxLatency: _latency,
    m.MaxCost: _cost,
    m.SimilarTo: _similar,
    m.LlmRubric: _rubric,
    m.SafetyAssertion: _safety,
    m.RunFails: _run_fails,
}


def evaluate(assertion: m.Assertion, facts: Facts, models: Models) -> AssertionResult:
    """One assertion's verdict; a judge or embedder that fails makes the assertion fail."""
    from ragline.errors import RaglineError

    if facts.error is not None and not isinstance(assertion, m.WITHOUT_OUTPUT):
        return AssertionResult(assertion.type, False, "the run failed, so there is no output")
    try:
        result = _RUNNERS[type(assertion)](assertion, facts, models)
    except RaglineError as err:
        result = AssertionResult(assertion.type, False, f"could not evaluate: {err}")
    if not result.passed and assertion.description:
        result.reason = f"{assertion.description}: {result.reason}"
    return result
