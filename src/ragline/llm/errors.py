"""Turn what LiteLLM raised into a StepError that names every deployment that failed.

The Router records each failed attempt in the request's metadata
(`previous_models`); the final exception carries the last error and any
fallback's. The category and retryability come from `compiler.failures`
(which classifies LiteLLM exceptions by class name), so Prefect retries a
rate limit but not a bad request. Every message is redacted of known keys.
"""

from __future__ import annotations

import re
from typing import Any

from ragline.errors import RaglineError, StepError
from ragline.llm.redact import redact

_PREFIX = re.compile(r"^(?:litellm\.)?(\w*(?:Error|Exception|Timeout)):\s*")
_FALLBACK = re.compile(r"Fallback to (?P<alias>[\w.-]+) also failed:\s*(?P<err>.*)", re.S)


def _short(text: str, limit: int = 300) -> str:
    """A provider error without LiteLLM's repeated prefixes and retry footers."""
    text = " ".join(text.split())
    text = _FALLBACK.sub("", text)
    for footer in (
        " LiteLLM Retried:",
        " LiteLLM: model group",
        " Debug Information",
        ", Received response",
    ):
        cut = text.find(footer)
        if cut > 0:
            text = text[:cut]
    while True:
        m = _PREFIX.match(text)
        if not m:
            break
        text = text[m.end() :]
    text = text.replace("litellm.", "").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fallback_errors(text: str) -> list[str]:
    m = _FALLBACK.search(" ".join(text.split()))
    return [f"fallback '{m.group('alias')}': {_short(m.group('err'))}"] if m else []


def _label(where: object, model: object) -> str:
    return f"{where} ({model})" if model and str(model) not in str(where) else str(where)


def attempts(metadata: dict[str, Any]) -> list[str]:
    """'deployment (model): ErrorType: message' for each attempt the Router recorded."""
    out = []
    for item in metadata.get("previous_models") or ():
        if not isinstance(item, dict):
            continue
        where = item.get("deployment_id") or item.get("model") or item.get("model_group") or "?"
        error = _short(str(item.get("exception_string", "")))
        out.append(f"{_label(where, item.get('model'))}: {item.get('exception_type')}: {error}")
    return out


def _counted(lines: list[str]) -> list[str]:
    """Identical attempts once, with how many times they happened."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    return [line if n == 1 else f"{line} (x{n})" for line, n in counts.items()]


def model_error(exc: BaseException, alias: str, metadata: dict[str, Any]) -> BaseException:
    """A StepError for a failed model call (ragline's own errors pass through)."""
    if isinstance(exc, RaglineError):
        return exc
    from ragline.errors.classify import as_step_error

    classified = as_step_error(exc, "")
    info = metadata.get("model_info")
    where = info.get("id") if isinstance(info, dict) else None
    last = f"{_label(where or alias, metadata.get('deployment'))}: {type(exc).__name__}: "
    last += _short(str(exc), 600)
    recorded = attempts(metadata)
    if not recorded or recorded[-1] != last:
        recorded.append(last)
    tried = _counted(recorded) + _fallback_errors(str(exc))
    lines = "\n    ".join(tried)
    head = f"model alias '{alias}': no deployment answered ({len(recorded)} failed attempts)"
    message = redact(f"{head}:\n    {lines}")
    return StepError(
        message,
        category=classified.category,
        retryable=classified.retryable,
        hint=classified.failure.hint
        or "check the deployments under `models:` (api_base, key, model name)",
        details={"alias": alias, "error_type": type(exc).__name__},
    )
