"""The exception tree users catch: one root, one branch per kind of fault.

`WorkflowError` is the YAML's fault and carries every problem found in one
pass; `StepError` is a run-time failure that knows whether retrying can help;
`ConfigError` is the environment's fault (a missing secret, an unreachable
store). Each carries the user's own words back to them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RaglineError(Exception):
    """Root of every error ragline raises on purpose."""


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a workflow file, positioned for an editor (1-based)."""

    file: str
    line: int
    col: int
    path: str
    message: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def render(self, width: int = 0) -> str:
        """`file:line:col  json.path` then the message; `width` aligns the paths of a list."""
        return f"{self.where.ljust(width)}  {self.path}\n  {self.message}"


class WorkflowError(RaglineError):
    """The workflow file is wrong; holds every problem found, sorted by position."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__(self.render())

    @property
    def file(self) -> str:
        return self.diagnostics[0].file if self.diagnostics else "<workflow>"

    def render(self) -> str:
        width = max((len(d.where) for d in self.diagnostics), default=0)
        body = "\n".join(d.render(width) for d in self.diagnostics)
        count = len(self.diagnostics)
        noun = "problem" if count == 1 else "problems"
        files = sorted({d.file for d in self.diagnostics})
        return f"{body}\n{count} {noun} in {', '.join(files)}"


class ErrorCategory(StrEnum):
    INPUT = "input"
    MODEL = "model"
    INFRASTRUCTURE = "infrastructure"
    SECURITY = "security"
    BUSINESS_LOGIC = "business_logic"


class Severity(StrEnum):
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


def new_error_id() -> str:
    """A short id to find one failure across the log, the Prefect UI and the CLI."""
    return f"rl-{uuid.uuid4().hex[:10]}"


# Retrying helps with a flaky network or a rate limit, never with bad input.
_RETRYABLE_BY_DEFAULT = {ErrorCategory.MODEL, ErrorCategory.INFRASTRUCTURE}


@dataclass
class StepFailure:
    """The structured form of a StepError, as `--json` prints it."""

    step_id: str
    category: ErrorCategory
    severity: Severity
    retryable: bool
    error_id: str
    message: str
    hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "category": str(self.category),
            "severity": str(self.severity),
            "retryable": self.retryable,
            "error_id": self.error_id,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


class StepError(RaglineError):
    """A step failed at run time.

    Steps raise it with a category; the compiler fills in the step id. Whether
    Prefect retries is decided by `retryable`, which defaults from the category.
    """

    def __init__(
        self,
        message: str,
        *,
        category: ErrorCategory | str = ErrorCategory.BUSINESS_LOGIC,
        severity: Severity | str = Severity.ERROR,
        retryable: bool | None = None,
        step_id: str = "",
        hint: str | None = None,
        error_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        category = ErrorCategory(category)
        self.failure = StepFailure(
            step_id=step_id,
            category=category,
            severity=Severity(severity),
            retryable=category in _RETRYABLE_BY_DEFAULT if retryable is None else retryable,
            error_id=error_id or new_error_id(),
            message=message,
            hint=hint,
            details=details or {},
        )
        super().__init__(message)

    @property
    def step_id(self) -> str:
        return self.failure.step_id

    @property
    def retryable(self) -> bool:
        return self.failure.retryable

    @property
    def error_id(self) -> str:
        return self.failure.error_id

    @property
    def category(self) -> ErrorCategory:
        return self.failure.category

    def __str__(self) -> str:
        f = self.failure
        where = f"step '{f.step_id}'" if f.step_id else "step"
        text = f"{where} failed [{f.category}, {f.error_id}]: {f.message}"
        if f.hint:
            text += f"\n  hint: {f.hint}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Prefect pickles exceptions into task results; keep every field.
        f = self.failure
        return (
            _rebuild_step_error,
            (
                f.message,
                str(f.category),
                str(f.severity),
                f.retryable,
                f.step_id,
                f.hint,
                f.error_id,
                f.details,
            ),
        )


def _rebuild_step_error(
    message: str,
    category: str,
    severity: str,
    retryable: bool,
    step_id: str,
    hint: str | None,
    error_id: str,
    details: dict[str, Any],
) -> StepError:
    return StepError(
        message,
        category=category,
        severity=severity,
        retryable=retryable,
        step_id=step_id,
        hint=hint,
        error_id=error_id,
        details=details,
    )


class ConfigError(RaglineError):
    """The environment is wrong: a missing secret, an unreachable store or server."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n  hint: {hint}")


class ParameterError(RaglineError):
    """A run parameter (`-p key=value` or a deployment parameter) does not fit its input.

    `problems` pairs each message with the input it is about ("" when the
    parameter names no input), so the CLI can point at the input's declaration.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        self.problems = problems if problems is not None else [("", message)]
        super().__init__(message)


class MissingValue(LookupError):
    """A `${{ }}` expression named a value the run does not have (yet)."""
