"""What a step task hands back, and what a run remembers of each step.

Kept apart from the flow that produces them, so the report, the partitions and
the suite runner can read them without importing the compiler's flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class StepResult:
    """What a step task returns: the output plus what downstream fingerprints need.

    Deliberately not a dataclass (nor a list, dict or pydantic model). Prefect walks
    every task input looking for futures, twice on the worker (to record upstream
    runs, then to resolve them), and it walks into dataclasses and models. An
    `index` slice's input is an `embed` slice's output: a walk of every float of
    every vector, about 1 s of the worker's time per slice of 250 chunks. To
    Prefect's walk this class is a leaf, on any task runner.
    """

    __slots__ = ("attempt", "duration_s", "fingerprint", "metrics", "output")
    _FIELDS = ("output", "fingerprint", "duration_s", "metrics", "attempt")

    def __init__(
        self,
        output: Any,
        fingerprint: str,
        duration_s: float,
        metrics: dict[str, Any] | None = None,
        attempt: int = 1,
    ) -> None:
        self.output = output
        self.fingerprint = fingerprint
        self.duration_s = duration_s
        self.metrics: dict[str, Any] = {} if metrics is None else metrics
        self.attempt = attempt

    def summary(self) -> StepResult:
        """The same result without its output: what the driver needs of a slice on a worker."""
        return StepResult(None, self.fingerprint, self.duration_s, self.metrics, self.attempt)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StepResult):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._FIELDS)
        return f"StepResult({fields})"


@dataclass
class StepRecord:
    """One step's outcome in a run, for summaries and artifacts."""

    step_id: str
    uses: str
    state: str
    duration_s: float | None
    cached: bool
    retries: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
