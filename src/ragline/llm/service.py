"""The per-run model service: Router, cache, budget and usage around every call.

Steps get it through `model_service(ctx)`, which builds it once per run in
`ctx.services`; all calls of a run share the Router's rate windows and
cooldowns, the cache and the budget. Retries and fallbacks are the Router's;
nothing here loops over providers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragline.llm.budget import BudgetTracker
from ragline.llm.direct import DirectRoute, direct_routes
from ragline.llm.errors import model_error
from ragline.llm.loop import run
from ragline.llm.redact import redact
from ragline.llm.types import Usage
from ragline.llm.writeback import CacheWriter, shared_writer

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
        from ragline.llm.cache import build_cache, cache_location
        from ragline.llm.router import model_list

        self.workflow = workflow
        self._router: Any = None
        self.deployments: dict[str, list[dict[str, Any]]] = {}
        items = model_list(workflow)
        for item in items:
            self.deployments.setdefault(item["model_name"], []).append(item)
        self.direct = direct_routes(workflow, items)
        state_dir = workflow_dir / ".ragline"
        location = cache_location(workflow.cache, state_dir, workflow_dir)
        self._writer: CacheWriter | None = None
        self.cache: Any = None
        if location is not None:
            self._writer = shared_writer(
                location, lambda: build_cache(workflow.cache, state_dir, workflow_dir)
            )
            self.cache = self._writer.cache
        self._model_keys: dict[str, str] = {}
        self.budget = BudgetTracker(workflow.budget)
        self._usage: list[Usage] = []
        self._lock = threading.Lock()

    @property
    def router(self) -> Any:
        """The run's LiteLLM Router, built on first need.

        A run whose aliases all have nothing to route (see `ragline.llm.direct`)
        and whose calls all succeed at once never builds one.
        """
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
        if cache_key is not None and self._writer is not None:
            hit = self._writer.get(cache_key)
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
                response, deployment, extra_retries = self._call(alias, request, metadata)
                result = _from_response(response)
                result.deployment = deployment or result.deployment
                result.usage.retries += extra_retries
        except Exception as exc:
            self._record(self._failed(alias, metadata, started), alias, ctx)
            raise model_error(exc, alias, metadata) from None
        result.text = redact(result.text)  # a key echoed in an answer never reaches the cache
        result.usage.latency_ms = (time.perf_counter() - started) * 1000
        # Recorded before the budget check: a call that crosses the budget was made and billed.
        self._record(result.usage, alias, ctx)
        self.budget.after_call(alias, result.usage.tokens, result.usage.cost_usd)
        if cache_key is not None and self._writer is not None:
            self._writer.add(
                cache_key,
                {
                    "text": result.text,
                    "model": result.usage.model,
                    "deployment": result.deployment,
                    "provider_metadata": result.provider_metadata,
                },
            )
        return result

    def _call(
        self, alias: str, request: dict[str, Any], metadata: dict[str, Any]
    ) -> tuple[Any, str, int]:
        """A completion call, direct first for an alias with nothing to route."""
        from ragline.llm._litellm import litellm

        return self._direct_first(
            alias,
            metadata,
            direct=lambda route: litellm().completion(
                **route.params,
                **request,
                metadata={"model_group": alias},
                drop_params=True,
                num_retries=0,
            ),
            routed=lambda retries: self.router.acompletion(
                model=alias, metadata=metadata, drop_params=True, **retries, **request
            ),
        )

    def _embedding(self, alias: str, texts: list[str], metadata: dict[str, Any]) -> Any:
        """An embedding call, direct first for an alias with nothing to route."""
        from ragline.llm._litellm import litellm

        response, _, _ = self._direct_first(
            alias,
            metadata,
            direct=lambda route: litellm().embedding(
                **route.params, input=texts, metadata={"model_group": alias}, num_retries=0
            ),
            routed=lambda retries: self.router.aembedding(
                model=alias, input=texts, metadata=metadata, **retries
            ),
        )
        return response

    def _direct_first(
        self,
        alias: str,
        metadata: dict[str, Any],
        direct: Callable[[DirectRoute], Any],
        routed: Callable[[dict[str, int]], Coroutine[Any, Any, Any]],
    ) -> tuple[Any, str, int]:
        """(response, deployment id when known here, retries the Router did not count).

        An alias with nothing to route makes its first attempt as a plain
        synchronous LiteLLM call in the step's own thread (`direct`): no hand-over
        to the event loop, no Router. If that fails, the Router makes the call
        with one retry fewer. Every other alias is routed at once, on the
        process's one event loop (`ragline.llm.loop`).
        """
        route = self.direct.get(alias)
        if route is None:
            return run(routed({})), "", 0
        try:
            return direct(route), route.deployment_id, 0
        except Exception as exc:
            self._before_router_retry(exc, route, metadata)
        retries = {"num_retries": self.workflow.routing.num_retries - 1}
        return run(routed(retries)), "", 1

    def _before_router_retry(
        self, exc: Exception, route: DirectRoute, metadata: dict[str, Any]
    ) -> None:
        """After a failed direct attempt: give up as the Router would, or wait as it would.

        A retried attempt is recorded, so a final error lists it with the Router's own.
        """
        from ragline.llm._litellm import litellm

        lib = litellm()
        status = getattr(exc, "status_code", None)
        if isinstance(exc, lib.NotFoundError) or (
            isinstance(status, int) and not lib.should_retry(status)
        ):
            # A bad request or a wrong key: the Router does not retry these either.
            metadata["model_info"] = {"id": route.deployment_id}
            metadata["deployment"] = route.params.get("model")
            raise exc
        metadata["previous_models"] = [
            {
                "deployment_id": route.deployment_id,
                "model": route.params.get("model"),
                "exception_type": type(exc).__name__,
                "exception_string": str(exc),
            }
        ]
        headers = getattr(exc, "litellm_response_headers", None)
        if headers is None:
            headers = getattr(getattr(exc, "response", None), "headers", None)
        retries = self.workflow.routing.num_retries
        time.sleep(
            lib.calculate_retry_after(
                remaining_retries=retries,
                max_retries=retries,
                response_headers=headers,
                min_timeout=self.workflow.routing.retry_after,
            )
        )

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
            response = self._embedding(alias, texts, metadata)
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
        self.budget.after_call(alias, tokens, usage.cost_usd)
        return vectors, usage

    def _cache_key(self, alias: str, request: dict[str, Any]) -> str | None:
        if self.cache is None:
            return None
        model = self._model_keys.get(alias)
        if model is None:
            from ragline.llm.cache import cache_model_key

            model = self._model_keys[alias] = cache_model_key(self.workflow, alias)
        return str(self.cache.get_cache_key(model=model, **request))

    def flush(self) -> None:
        """Wait until every answer of this run is stored in the response cache."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """End of the run: land pending cache writes, unhook the Router from LiteLLM.

        Each Router adds its callbacks to LiteLLM's process-wide lists, and every
        later call of the process runs them; a long-lived process (`ragline serve`,
        a worker) would otherwise slow down with every run it has served.
        """
        try:
            self.flush()
        finally:
            if self._router is not None:
                self._router.discard()

    # -- usage -----------------------------------------------------------------
    def _record(
        self, usage: Usage, alias: str, ctx: StepContext | None, *, merge: bool = False
    ) -> None:
        with self._lock:
            self._usage.append(usage)
        if ctx is not None:
            from ragline.llm.usage import record_usage

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

    def usage(self) -> list[Usage]:
        with self._lock:
            return list(self._usage)


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
