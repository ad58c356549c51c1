"""What a suite run found: one result per case and target, and the suite's verdict.

Apart from the runner, so the report renders results without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragline.suites.assertions import AssertionResult


@dataclass
class CaseResult:
    """One case on one target: what it produced and each assertion's verdict."""

    target: str
    case: str
    passed: bool
    latency_ms: float
    cost_usd: float
    output: Any = None
    error: str | None = None
    flow_run_id: str | None = None
    assertions: list[AssertionResult] = field(default_factory=list)
    expected_failure: bool = False  # the case asserts run-fails, so its error is a result

    @property
    def crashed(self) -> bool:
        """The run failed and the case did not expect it."""
        return self.error is not None and not self.expected_failure

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "case": self.case,
            "passed": self.passed,
            "latency_ms": round(self.latency_ms, 1),
            "cost_usd": round(self.cost_usd, 8),
            "output": self.output,
            "error": self.error,
            "flow_run_id": self.flow_run_id,
            "assertions": [a.as_dict() for a in self.assertions],
        }


@dataclass
class SuiteResult:
    suite: str
    file: str
    results: list[CaseResult]
    duration_s: float
    flow_run_id: str | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]
