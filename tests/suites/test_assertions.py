"""Each assertion type on its own, as the runner calls it (no Prefect, no model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from ragline.errors import StepError
from ragline.suites.assertions import Facts, evaluate
from ragline.suites.judges import Models, parse_verdict
from ragline.suites.model import ASSERTION_MODELS, Assertion, SuiteSpec


def _check(
    raw: dict[str, Any],
    output: Any,
    latency_ms: float = 10,
    cost: float = 0.0,
    error: str | None = None,
) -> Any:
    assertion: Assertion = TypeAdapter(ASSERTION_MODELS[raw["type"]]).validate_python(raw)  # type: ignore[assignment]
    models = Models(SuiteSpec(), Path("."))
    return evaluate(assertion, Facts(output, latency_ms, cost, error), models)


@pytest.mark.parametrize(
    ("raw", "output", "passed"),
    [
        ({"type": "contains", "value": "Lance"}, "LanceDB stores vectors", True),
        ({"type": "contains", "value": "lance"}, "LanceDB stores vectors", False),
        ({"type": "icontains", "value": "lance"}, "LanceDB stores vectors", True),
        ({"type": "not-contains", "value": "sorry"}, "LanceDB stores vectors", True),
        ({"type": "not-icontains", "value": "SORRY"}, "Sorry, I cannot", False),
        ({"type": "regex", "value": r"\[\w+\.md#\d+\]"}, "see [cache.md#2]", True),
        ({"type": "not-regex", "value": r"(?i)as an ai"}, "As an AI model...", False),
        ({"type": "equals", "value": "yes"}, "  yes\n", True),
        ({"type": "equals", "value": {"a": 1}}, '{"a": 1}', True),
        ({"type": "equals", "value": [1, 2]}, [1, 2, 3], False),
        ({"type": "json-schema", "value": {"type": "object", "required": ["a"]}}, {"a": 1}, True),
        (
            {"type": "json-schema", "value": {"type": "object", "required": ["a"]}},
            '{"b": 1}',
            False,
        ),
        ({"type": "json-schema", "value": {"type": "object"}}, "not json", False),
        ({"type": "safety"}, "Prefect retries failed tasks.", True),
        ({"type": "safety", "checks": ["pii"]}, "mail ada@example.org", False),
        ({"type": "safety", "checks": ["secrets"]}, "mail ada@example.org", True),
    ],
)
def test_text_and_structure_assertions(raw: dict[str, Any], output: Any, passed: bool) -> None:
    assert _check(raw, output).passed is passed


def test_latency_and_cost_bounds_are_inclusive() -> None:
    assert _check({"type": "max-latency-ms", "value": 500}, "x", latency_ms=500).passed
    late = _check({"type": "max-latency-ms", "value": 500}, "x", latency_ms=501)
    assert not late.passed and late.reason == "took 501 ms, over the 500 ms bound"
    assert not _check({"type": "max-cost", "value": 0.01}, "x", cost=0.02).passed


def test_a_failure_reason_leads_with_the_description() -> None:
    result = _check({"type": "contains", "value": "[", "description": "cites a source"}, "no")
    assert result.reason == "cites a source: output does not contain '['"


def test_regex_failure_shows_what_was_searched() -> None:
    result = _check({"type": "regex", "value": "^\\d+$"}, "forty two")
    assert result.reason == "/^\\d+$/ does not match 'forty two'"


@pytest.mark.parametrize(
    ("text", "passed", "score"),
    [
        ('{"pass": true, "score": 0.8, "reason": "ok"}', True, 0.8),
        ('Sure! ```json\n{"pass": false, "reason": "off topic"}\n```', False, 0.0),
        ("PASS - the answer is polite", True, 1.0),
        ('{"pass": true, "score": 7}', True, 1.0),
    ],
)
def test_judge_answers_are_parsed_leniently(text: str, passed: bool, score: float) -> None:
    verdict = parse_verdict(text)
    assert (verdict.passed, verdict.score) == (passed, score)


def test_a_judge_answer_without_a_verdict_is_an_error() -> None:
    with pytest.raises(StepError, match="neither JSON with 'pass' nor PASS/FAIL"):
        parse_verdict("I think it is fine")


def test_run_fails_checks_the_error_and_output_checks_fail_without_output() -> None:
    error = "step 'guard' failed [security]: unsafe text: injection/override at 0-28"
    assert _check({"type": "run-fails", "value": "injection/override"}, None, error=error).passed
    wrong = _check({"type": "run-fails", "value": "pii/email"}, None, error=error)
    assert not wrong.passed and wrong.reason.startswith("the run failed, but not with 'pii/email'")
    assert not _check({"type": "run-fails"}, "an answer").passed
    missing = _check({"type": "contains", "value": "x"}, None, error=error)
    assert (missing.passed, missing.reason) == (False, "the run failed, so there is no output")
    assert _check({"type": "max-latency-ms", "value": 100}, None, latency_ms=50, error=error).passed
