"""What a step task hands back, and what a run remembers of each step.

Kept apart from the flow that produces them, so the report, the partitions and
the suite runner can read them without importing the compiler's flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepResult:
    """What a step task returns: the output plus what downstream fingerprints need."""

    output: Any
    fingerprint: str
    duration_s: float
    metrics: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1


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
