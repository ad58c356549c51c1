"""`embed`: vectors for chunks, batched, through the workflow's model aliases.

Every call goes through LiteLLM (so an alias may point at the local MiniLM,
OpenAI or Ollama alike); vectors of texts embedded before are read from the
content-addressed cache, so re-ingesting an unchanged corpus calls no model.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ragline.documents import Chunk
from ragline.llm.identity import alias_identity
from ragline.sdk.context import StepContext
from ragline.sdk.step import ModelAlias, Ref, StepConfig, step
from ragline.store.fields import searchable_text
from ragline.store.vectors import (
    EmbeddingCache,
    RedisEmbeddingCache,
    open_embedding_cache,
)

# Word pieces a model reads (special tokens included); the rest of a longer text is cut off.
MODEL_WINDOWS = {"local/all-minilm-l6-v2": 256, "local/minilm": 256}
SPECIAL_TOKENS = 2  # [CLS] and [SEP]


def check_embed(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: the chunks fed to this step fit the model's window."""
    from ragline.chunking.defaults import DEFAULT_SIZE

    model = raw.get("model")
    chunks = raw.get("chunks")
    models = workflow.get("models")
    steps = workflow.get("steps")
    if not isinstance(model, str) or not isinstance(chunks, str) or not isinstance(models, dict):
        return []
    routes = models.get(model)
    names = (
        [d.get("model") for d in routes if isinstance(d, dict)] if isinstance(routes, list) else []
    )
    windows = [
        MODEL_WINDOWS[n.lower()] for n in names if isinstance(n, str) and n.lower() in MODEL_WINDOWS
    ]
    if not windows:
        return []
    window = min(windows)
    for other in steps if isinstance(steps, list) else []:
        if not isinstance(other, dict) or other.get("uses") != "chunk":
            continue
        sid, with_ = other.get("id"), other.get("with")
        if not isinstance(sid, str) or f"steps.{sid}." not in chunks or not isinstance(with_, dict):
            continue
        size = with_.get("size", DEFAULT_SIZE)
        unit = with_.get("unit", "tokens")
        if unit == "tokens" and isinstance(size, int) and size > window - SPECIAL_TOKENS:
            return [
                (
                    ("chunks",),
                    f"step '{sid}' makes chunks of up to {size} tokens, but {names[0]} reads "
                    f"only {window} word pieces ({window - SPECIAL_TOKENS} of text): the rest "
                    f"of every longer chunk would never be embedded. Set `size:` of step "
                    f"'{sid}' to {window - SPECIAL_TOKENS} or less ({DEFAULT_SIZE}, "
                    "the default, leaves room for the title)",
                )
            ]
    return []


class EmbedConfig(StepConfig):
    """Embed chunks with a model alias (e.g. `local/all-MiniLM-L6-v2`), in batches."""

    chunks: Ref[list[Chunk]] = Field(description="Chunks to embed, e.g. the output of `chunk`.")
    model: ModelAlias = Field(description="Embedding model alias from `models:`.")
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per model call.")
    include_title: bool = Field(
        True,
        description="Embed the document's own title (a record's `title` field, a markdown "
        "document's first heading, an HTML <title>, a PDF's title) before each chunk's text. "
        "Titles made up from file names are never embedded.",
    )


@step("embed", config=EmbedConfig, version="2", check=check_embed, partition="chunks")
def embed(config: EmbedConfig, ctx: StepContext) -> list[Chunk]:
    """Look every text up in the cache, embed only the missing ones, in batches."""
    import numpy as np

    identity = alias_identity(ctx.workflow, config.model)
    cache = open_embedding_cache(ctx.workflow, ctx.state_dir)
    try:
        texts = [searchable_text(c, title=config.include_title) for c in config.chunks]
        keys = [EmbeddingCache.key(identity, text) for text in texts]
        found = cache.get_many(keys)
        todo: dict[str, str] = {}  # key -> text, each distinct text once
        for key, hit, text in zip(keys, found, texts, strict=True):
            if hit is None:
                todo.setdefault(key, text)
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

    service = model_service(ctx)
    # Longest first, so each batch holds texts of about the same length: a batch
    # is padded to its longest text, and a mixed batch (a document's full chunks
    # beside its short last one) made the model do a third more work.
    items = sorted(todo.items(), key=lambda item: len(item[1]), reverse=True)
    out: dict[str, bytes] = {}
    for start in range(0, len(items), config.batch_size):
        batch = items[start : start + config.batch_size]
        vectors, _ = service.embed(config.model, [text for _, text in batch], ctx)
        blobs = [np.asarray(v, dtype=np.float32).tobytes() for v in vectors]
        pairs = [(key, blob) for (key, _), blob in zip(batch, blobs, strict=True)]
        cache.set_many(pairs)
        out.update(pairs)
        ctx.progress(start + len(batch), len(items), "embedded")
    return out
