"""The per-run model service: Router, cache, budget and usage around every call.

Steps get it through `model_service(ctx)`, which builds it once per run in
`ctx.services`; all calls of a run share the Router's rate windows and
cooldowns, the response cache and the budget.

Every call is one call of the Router's synchronous API, made in the step's own
thread: which deployment, whether and when to try again (Retry-After
included), which fallback, and the record of each failed attempt are the
Router's decisions; nothing here loops over providers or retries.
`bench/bench_generate.py` measures what the Router costs against a plain
`litellm.completion` (docs/models-and-caching.md has the figures).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.llm.budget import BudgetTracker
from ragline.llm.errors import model_error
from ragline.llm.redact import redact
from ragline.llm.usage import Usage, record_usage

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext
    from ragline.spec.model import Workflow

SERVICE_KEY = "ragline.llm.service"


@dataclass
class Completion:
    """One answered request: the text and the facts of how it was obtained."""

    text: str
    usage: Usage
    deployment: str = ""
    cache_hit: bool = False
    provider_metadata: dict[str, Any] = field(default_factory=dict)


class ModelService:
    """Everything between a step and LiteLLM, for one run of one workflow."""

    def __init__(self, workflow: Workflow, workflow_dir: Path) -> None:
        from ragline.llm.cache import build_cache
        from ragline.llm.router import model_list

        self.workflow = workflow
        self._router: Any = None
        self.deployments: dict[str, list[dict[str, Any]]] = {}
        for item in model_list(workflow):
            self.deployments.setdefault(item["model_name"], []).append(item)
        self.cache: Any = build_cache(workflow.cache, workflow_dir / ".ragline", workflow_dir)
        self._model_keys: dict[str, str] = {}
        self.budget = BudgetTracker(workflow.budget)
        self._lock = threading.Lock()

    @property
    def router(self) -> Any:
        """The run's LiteLLM Router, built on first need (a run without model calls has none)."""
        if self._router is None:
            with self._lock:
                if self._router is None:
                    from ragline.llm.router import build_router

                    self._router = build_router(self.workflow)
        return self._router

    # -- the call --------------------------------------------------------------
    def complete(
        self,
        alias: str,
        messages: list[dict[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        response_format: dict[str, Any] | None = None,
        stream: bool = False,
        on_text: Callable[[str], None] | None = None,
        params: dict[str, Any] | None = None,
        ctx: StepContext | None = None,
    ) -> Completion:
        """One completion; its usage is recorded on `ctx` (the step) whatever the outcome."""
        request: dict[str, Any] = {"messages": messages, **(params or {})}
        for key, value in (
            ("temperature", temperature),
            ("max_tokens", max_tokens),
            ("stop", stop),
            ("response_format", response_format),
        ):
            if value is not None:
                request[key] = value
        cache_key = self._cache_key(alias, request) if (temperature == 0 and not stream) else None
        if cache_key is not None:
            hit = self.cache.get_cache(cache_key=cache_key)
            if isinstance(hit, dict) and "text" in hit:
                usage = Usage(model=str(hit.get("model", "")), calls=1, cache_hits=1)
                self._record(usage, alias, ctx)
                return Completion(
                    str(hit["text"]),
                    usage,
                    str(hit.get("deployment", "")),
                    True,
                    dict(hit.get("provider_metadata") or {}),
                )
        self.budget.before_call(alias)
        metadata: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            if stream:
                result = self._stream(alias, request, metadata, on_text)
            else:
                result = _from_response(
                    self.router.completion(
                        model=alias, metadata=metadata, drop_params=True, **request
                    )
                )
        except Exception as exc:
            self._record(self._failed(alias, metadata, started), alias, ctx)
            raise model_error(exc, alias, metadata) from None
        result.text = redact(result.text)  # a key echoed in an answer never reaches the cache
        result.usage.latency_ms = (time.perf_counter() - started) * 1000
        # Recorded before the budget check: a call that crosses the budget was made and billed.
        self._record(result.usage, alias, ctx)
        self.budget.after_call(alias, result.usage)
        if cache_key is not None:
            # Stored before the answer is returned: the next lookup, of this process or
            # another, finds it. A store costs well under a millisecond (bench_generate).
            self.cache.add_cache(
                {
                    "text": result.text,
                    "model": result.usage.model,
                    "deployment": result.deployment,
                    "provider_metadata": result.provider_metadata,
                },
                cache_key=cache_key,
            )
        return result

    def _stream(
        self,
        alias: str,
        request: dict[str, Any],
        metadata: dict[str, Any],
        on_text: Callable[[str], None] | None,
    ) -> Completion:
        chunks = self.router.completion(
            model=alias,
            metadata=metadata,
            drop_params=True,
            stream=True,
            stream_options={"include_usage": True},
            **request,
        )
        parts: list[str] = []
        usage_obj: Any = None
        model = ""
        for chunk in chunks:
            model = model or str(getattr(chunk, "model", "") or "")
            if getattr(chunk, "usage", None):
                usage_obj = chunk.usage
            for choice in getattr(chunk, "choices", []) or []:
                delta = getattr(getattr(choice, "delta", None), "content", None)
                if delta:
                    parts.append(delta)
                    if on_text is not None:
                        on_text(delta)
        hidden = getattr(chunks, "_hidden_params", {}) or {}
        usage = Usage(
            model=str(hidden.get("litellm_model_name") or model),
            calls=1,
            prompt_tokens=int(getattr(usage_obj, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage_obj, "completion_tokens", 0) or 0),
            retries=int(metadata.get("attempted_retries") or 0),
            fallbacks=int(metadata.get("attempted_fallbacks") or 0),
        )
        return Completion("".join(parts), usage, str(hidden.get("model_id") or ""))

    def embed(
        self, alias: str, texts: list[str], ctx: StepContext | None = None
    ) -> tuple[list[list[float]], Usage]:
        """Vectors for `texts` in one routed call (retries, fallbacks and the budget apply).

        The usage is recorded on `ctx`, one row per alias and model for all of a step's batches.
        """
        self.budget.before_call(alias)
        metadata: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            response = self.router.embedding(model=alias, input=texts, metadata=metadata)
        except Exception as exc:
            self._record(self._failed(alias, metadata, started), alias, ctx, merge=True)
            raise model_error(exc, alias, metadata) from None
        hidden = getattr(response, "_hidden_params", {}) or {}
        data = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        vectors = [list(d["embedding"] if isinstance(d, dict) else d.embedding) for d in data]
        tokens = int(getattr(getattr(response, "usage", None), "prompt_tokens", 0) or 0)
        cost = hidden.get("response_cost")
        usage = Usage(
            model=str(hidden.get("litellm_model_name") or getattr(response, "model", "") or ""),
            calls=1,
            prompt_tokens=tokens,
            cost_usd=float(cost) if isinstance(cost, (int, float)) else 0.0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        self._record(usage, alias, ctx, merge=True)
        self.budget.after_call(alias, usage)
        return vectors, usage

    def _cache_key(self, alias: str, request: dict[str, Any]) -> str | None:
        if self.cache is None:
            return None
        model = self._model_keys.get(alias)
        if model is None:
            from ragline.llm.cache import cache_model_key

            model = self._model_keys[alias] = cache_model_key(self.workflow, alias)
        return str(self.cache.get_cache_key(model=model, **request))

    def close(self) -> None:
        """End of the run: unhook the Router from LiteLLM.

        Each Router adds its callbacks to LiteLLM's process-wide lists, and every
        later call of the process runs them; a long-lived process (`ragline serve`,
        a worker) would otherwise slow down with every run it has served.
        """
        if self._router is not None:
            self._router.discard()

    # -- usage -----------------------------------------------------------------
    def _record(
        self, usage: Usage, alias: str, ctx: StepContext | None, *, merge: bool = False
    ) -> None:
        if ctx is not None:
            record_usage(ctx, alias, usage, merge=merge)

    def _failed(self, alias: str, metadata: dict[str, Any], started: float) -> Usage:
        """The usage of a call that got no answer: one call, failed, its retries and time."""
        from ragline.llm.errors import attempts

        tried = metadata.get("deployment") or ",".join(
            sorted({str(d["litellm_params"]["model"]) for d in self.deployments.get(alias, [])})
        )
        return Usage(
            model=str(tried),
            calls=1,
            failed=1,
            retries=len(attempts(metadata)),
            latency_ms=(time.perf_counter() - started) * 1000,
        )


def _from_response(response: Any) -> Completion:
    hidden = getattr(response, "_hidden_params", {}) or {}
    headers = hidden.get("additional_headers") or {}
    usage_obj = getattr(response, "usage", None)
    choices = getattr(response, "choices", None) or []
    text = ""
    if choices:
        text = str(getattr(choices[0].message, "content", "") or "")
    cost = hidden.get("response_cost")
    usage = Usage(
        model=str(hidden.get("litellm_model_name") or getattr(response, "model", "") or ""),
        calls=1,
        prompt_tokens=int(getattr(usage_obj, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage_obj, "completion_tokens", 0) or 0),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else 0.0,
        retries=int(headers.get("x-litellm-attempted-retries") or 0),
        fallbacks=int(headers.get("x-litellm-attempted-fallbacks") or 0),
    )
    return Completion(
        text,
        usage,
        str(hidden.get("model_id") or ""),
        False,
        dict(hidden.get("ragline_local") or {}),
    )


def model_service(ctx: StepContext) -> ModelService:
    """The run's model service, built on first use and shared by every step of the run."""
    return ctx.services.get_or_create(
        SERVICE_KEY, lambda: ModelService(ctx.workflow, ctx.workflow_dir)
    )
