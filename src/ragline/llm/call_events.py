"""One `model.call` event per LiteLLM call, from LiteLLM's own callback.

LiteLLM computes tokens, cost and latency for every call (retries and
fallbacks included, each attempt its own call) and hands them to registered
callbacks in a copy of the caller's context, so the event carries the run and
step ids the compiler set. The callback is registered once per process.
"""

from __future__ import annotations

import threading
from typing import Any

from ragline.monitoring.events import emit

_installed: Any = None
_lock = threading.Lock()


def _fields(kwargs: dict[str, Any], start_time: Any, end_time: Any) -> dict[str, Any]:
    payload = kwargs.get("standard_logging_object") or {}
    latency_s: float | None
    try:
        latency_s = (end_time - start_time).total_seconds()
    except (TypeError, AttributeError):
        latency_s = payload.get("response_time")
    cost = payload.get("response_cost", kwargs.get("response_cost"))
    return {
        "model": _qualified(payload.get("model") or kwargs.get("model"), payload),
        "alias": payload.get("model_group"),
        "call_type": payload.get("call_type"),
        "prompt_tokens": payload.get("prompt_tokens"),
        "completion_tokens": payload.get("completion_tokens"),
        "cost_usd": float(cost) if isinstance(cost, (int, float)) else None,
        "latency_ms": None if latency_s is None else round(float(latency_s) * 1000, 2),
        "cache_hit": payload.get("cache_hit"),
    }


def _qualified(model: Any, payload: dict[str, Any]) -> Any:
    """`openai/gpt-4o-mini` as in `models:`, however LiteLLM reports it.

    A routed call reports the deployment's model as written; some call paths of
    LiteLLM report it without its provider prefix.
    """
    provider = payload.get("custom_llm_provider")
    if isinstance(model, str) and provider and not model.startswith(f"{provider}/"):
        return f"{provider}/{model}"
    return model


def install_model_call_events() -> Any:
    """Register the callback with LiteLLM (once per process); return it."""
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        from ragline.llm._litellm import litellm

        lib = litellm()
        from litellm.integrations.custom_logger import CustomLogger

        class ModelCallEvents(CustomLogger):
            def log_success_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                emit("model.call", None, status="ok", **_fields(kwargs, start_time, end_time))

            def log_failure_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                error = kwargs.get("exception")
                emit(
                    "model.call",
                    None,
                    status="error",
                    error=type(error).__name__ if error is not None else None,
                    **_fields(kwargs, start_time, end_time),
                )

            async def async_log_success_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                self.log_success_event(kwargs, response_obj, start_time, end_time)

            async def async_log_failure_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                self.log_failure_event(kwargs, response_obj, start_time, end_time)

        _installed = ModelCallEvents()
        lib.callbacks.append(_installed)
        return _installed
