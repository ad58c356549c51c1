"""The one place an exception becomes a StepError, classified.

So Prefect retries only what retrying can fix: a rate limit, never a bad input.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ragline.errors import (
    ConfigError,
    ErrorCategory,
    MissingValue,
    ParameterError,
    StepError,
    WorkflowError,
)

# LiteLLM's exception names (matched by name so this module never imports litellm).
_MODEL_RETRYABLE = {
    "RateLimitError",
    "APIConnectionError",
    "Timeout",
    "ServiceUnavailableError",
    "InternalServerError",
    "APIError",
    "BadGatewayError",
}
_MODEL_FINAL = {
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "BadRequestError",
    "UnprocessableEntityError",
    "ContentPolicyViolationError",
    "UnsupportedParamsError",
}


def as_step_error(exc: BaseException, step_id: str) -> StepError:
    """The StepError for anything a step raised, with the step id filled in."""
    if isinstance(exc, StepError):
        exc.failure.step_id = exc.failure.step_id or step_id
        return exc
    name = type(exc).__name__
    message = str(exc) or name
    kwargs: dict[str, Any]
    if isinstance(exc, (ValidationError, MissingValue, ParameterError, WorkflowError)):
        kwargs = {
            "category": ErrorCategory.INPUT,
            "retryable": False,
            "hint": "fix the step's `with:` or the values it reads",
        }
        if isinstance(exc, ValidationError):
            message = _pydantic_message(exc)
    elif isinstance(exc, ConfigError):
        kwargs = {"category": ErrorCategory.INFRASTRUCTURE, "retryable": False, "hint": exc.hint}
    elif name == "ContextWindowExceededError":
        kwargs = {
            "category": ErrorCategory.INPUT,
            "retryable": False,
            "hint": "lower k or max_input_tokens so the prompt fits the model",
        }
    elif name in _MODEL_RETRYABLE:
        kwargs = {"category": ErrorCategory.MODEL, "retryable": True}
    elif name in _MODEL_FINAL:
        kwargs = {"category": ErrorCategory.MODEL, "retryable": False}
    elif isinstance(exc, (TimeoutError, ConnectionError)):
        kwargs = {"category": ErrorCategory.INFRASTRUCTURE, "retryable": True}
    elif isinstance(exc, OSError):
        kwargs = {"category": ErrorCategory.INFRASTRUCTURE, "retryable": False}
    else:
        kwargs = {"category": ErrorCategory.BUSINESS_LOGIC, "retryable": False}
    if isinstance(exc, TimeoutError) and name not in _MODEL_RETRYABLE:
        message = f"the step did not finish within its timeout_seconds ({message})"
        kwargs["hint"] = "raise the step's timeout_seconds, or give it less work per run"
    return StepError(
        f"{name}: {message}" if name not in message else message, step_id=step_id, **kwargs
    )


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"with.{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)
