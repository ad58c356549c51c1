"""The LiteLLM custom provider `local`: `local/extractive`, `local/smollm2` and the
embedding model `local/all-MiniLM-L6-v2` (its deployment's `backend` picks torch or ONNX).

Registered in `litellm.custom_provider_map`, so the Router treats these models
like any remote one: they can sit behind an alias, be a fallback, be cached,
and report usage. Unknown names fail like an unknown remote model would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import EmbeddingResponse, GenericStreamingChunk, ModelResponse

MODELS = ("extractive", "smollm2")
EMBEDDING_MODELS = ("all-MiniLM-L6-v2",)


def _words(messages: list[Any]) -> int:
    total = 0
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else getattr(m, "content", "")
        total += len(str(content or "").split())
    return total


class LocalProvider(CustomLLM):
    """Dispatches `local/<name>` to the offline model `<name>`."""

    def _run(
        self, model: str, messages: list[Any], optional_params: dict[str, Any]
    ) -> tuple[str, int, int, dict[str, Any]]:
        name = model.split("/", 1)[-1]
        if name == "extractive":
            from ragline.llm.providers import extractive

            text, meta = extractive.answer(messages)
            return text, _words(messages), len(text.split()), meta
        if name == "smollm2":
            from ragline.llm.providers import smollm2

            stop = optional_params.get("stop")
            text, p, c, backend = smollm2.chat(
                messages,
                max_tokens=int(
                    optional_params.get("max_tokens")
                    or optional_params.get("max_completion_tokens")
                    or 256
                ),
                temperature=float(optional_params.get("temperature") or 0.0),
                stop=[stop] if isinstance(stop, str) else stop,
            )
            return text, p, c, {"method": "generative", "backend": backend}
        raise CustomLLMError(  # type: ignore[no-untyped-call]
            status_code=404,
            message=f"unknown local model '{model}'; local models: "
            + ", ".join(f"local/{m}" for m in MODELS),
        )

    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        model = str(kwargs.get("model", ""))
        messages = list(kwargs.get("messages") or [])
        response: ModelResponse = kwargs.get("model_response") or ModelResponse()
        text, prompt_tokens, completion_tokens, meta = self._run(
            model, messages, kwargs.get("optional_params") or {}
        )
        choice: Any = response.choices[0]
        choice.message.content = text
        choice.finish_reason = "stop"
        response.model = f"local/{model.split('/', 1)[-1]}"
        response.created = int(time.time())
        from litellm.types.utils import Usage

        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        setattr(response, "usage", usage)  # noqa: B010 - ModelResponse declares usage dynamically
        response._hidden_params["ragline_local"] = meta
        response._hidden_params["response_cost"] = 0.0
        return response

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return await asyncio.to_thread(self.completion, *args, **kwargs)

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        response = self.completion(*args, **kwargs)
        usage: Any = getattr(response, "usage")  # noqa: B009
        choice: Any = response.choices[0]
        yield {
            "text": choice.message.content or "",
            "is_finished": True,
            "finish_reason": "stop",
            "index": 0,
            "tool_use": None,
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
        }

    def embedding(self, *args: Any, **kwargs: Any) -> EmbeddingResponse:
        from ragline.llm.providers import minilm

        model = str(kwargs.get("model", "")).split("/", 1)[-1]
        if model not in minilm.NAMES:
            raise CustomLLMError(  # type: ignore[no-untyped-call]
                status_code=404,
                message=f"unknown local embedding model '{model}'; local embedding models: "
                + ", ".join(f"local/{m}" for m in EMBEDDING_MODELS),
            )
        backend = str((kwargs.get("optional_params") or {}).get("backend") or "torch")
        if backend not in minilm.BACKENDS:
            raise CustomLLMError(  # type: ignore[no-untyped-call]
                status_code=400,
                message=f"unknown backend '{backend}' for local/all-MiniLM-L6-v2; "
                f"backends: {', '.join(minilm.BACKENDS)}",
            )
        raw = kwargs.get("input") or []
        texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
        vectors = minilm.embed(texts, backend)
        response: EmbeddingResponse = kwargs.get("model_response") or EmbeddingResponse()
        response.model = "local/all-MiniLM-L6-v2"
        response.data = [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ]
        from litellm.types.utils import Usage

        tokens = sum(len(t.split()) for t in texts)
        usage = Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens)
        setattr(response, "usage", usage)  # noqa: B010 - declared dynamically by LiteLLM
        response._hidden_params["response_cost"] = 0.0
        response._hidden_params["ragline_local"] = {"backend": backend}
        return response

    async def aembedding(self, *args: Any, **kwargs: Any) -> EmbeddingResponse:
        return await asyncio.to_thread(self.embedding, *args, **kwargs)
