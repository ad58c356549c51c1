"""`embed`: vectors for chunks, batched, through the workflow's model aliases.

Every call goes through LiteLLM (so an alias may point at the local MiniLM,
OpenAI or Ollama alike); vectors of texts embedded before are read from the
content-addressed cache, so re-ingesting an unchanged corpus calls no model.
"""

from __future__ import annotations

from pydantic import Field

from ragline.documents import Chunk
from ragline.llm.types import Usage
from ragline.steps.base import ModelAlias, Ref, StepConfig, step
from ragline.steps.context import StepContext
from ragline.store.vectors import (
    EmbeddingCache,
    RedisEmbeddingCache,
    model_identity,
    open_embedding_cache,
)


class EmbedConfig(StepConfig):
    """Embed chunks with a model alias (e.g. `local/all-MiniLM-L6-v2`), in batches."""

    chunks: Ref[list[Chunk]] = Field(description="Chunks to embed, e.g. the output of `chunk`.")
    model: ModelAlias = Field(description="Embedding model alias from `models:`.")
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per model call.")


@step("embed", config=EmbedConfig, version="1", partition="chunks")
def embed(config: EmbedConfig, ctx: StepContext) -> list[Chunk]:
    """Look every text up in the cache, embed only the missing ones, in batches."""
    import numpy as np

    identity = model_identity(ctx.workflow, config.model)
    cache = open_embedding_cache(ctx.workflow, ctx.state_dir)
    try:
        keys = [EmbeddingCache.key(identity, c.text) for c in config.chunks]
        found = cache.get_many(keys)
        todo: dict[str, str] = {}  # key -> text, each distinct text once
        for key, hit, chunk in zip(keys, found, config.chunks, strict=True):
            if hit is None:
                todo.setdefault(key, chunk.text)
        vectors: dict[str, bytes] = {k: v for k, v in zip(keys, found, strict=True) if v}
        if todo:
            vectors.update(_embed_missing(config, ctx, todo, cache))
    finally:
        cache.close()
    ctx.metrics["embedded"] = len(todo)
    ctx.metrics["reused"] = len(config.chunks) - sum(1 for k in keys if k in todo)
    ctx.logger.info(
        "embedded %d chunk text(s), reused %d cached vector(s)",
        ctx.metrics["embedded"],
        ctx.metrics["reused"],
    )
    return [
        c.model_copy(update={"vector": np.frombuffer(vectors[k], dtype=np.float32).tolist()})
        for c, k in zip(config.chunks, keys, strict=True)
    ]


def _embed_missing(
    config: EmbedConfig,
    ctx: StepContext,
    todo: dict[str, str],
    cache: EmbeddingCache | RedisEmbeddingCache,
) -> dict[str, bytes]:
    import numpy as np

    from ragline.llm.service import model_service
    from ragline.llm.usage import record_usage

    service = model_service(ctx)
    # Longest first, so each batch holds texts of about the same length: a batch
    # is padded to its longest text, and a mixed batch (a document's full chunks
    # beside its short last one) made the model do a third more work.
    items = sorted(todo.items(), key=lambda item: len(item[1]), reverse=True)
    total = Usage()
    out: dict[str, bytes] = {}
    for start in range(0, len(items), config.batch_size):
        batch = items[start : start + config.batch_size]
        vectors, usage = service.embed(config.model, [text for _, text in batch])
        blobs = [np.asarray(v, dtype=np.float32).tobytes() for v in vectors]
        pairs = [(key, blob) for (key, _), blob in zip(batch, blobs, strict=True)]
        cache.set_many(pairs)
        out.update(pairs)
        total = Usage(
            model=usage.model,
            calls=total.calls + usage.calls,
            prompt_tokens=total.prompt_tokens + usage.prompt_tokens,
            cost_usd=total.cost_usd + usage.cost_usd,
            latency_ms=total.latency_ms + usage.latency_ms,
        )
        ctx.progress(start + len(batch), len(items), "embedded")
    record_usage(ctx, config.model, total)
    return out
