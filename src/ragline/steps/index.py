"""`index`: bring a store's LanceDB table in line with a set of embedded chunks.

Idempotent by construction (chunk ids derive from content): new ids are
inserted, ids a changed document no longer produces are deleted, and with
`sync: true` so are the chunks of documents that are gone. An unchanged corpus
writes nothing at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from ragline.documents import Chunk
from ragline.steps.base import Ref, StepConfig, StoreAlias, step
from ragline.steps.context import StepContext

if TYPE_CHECKING:
    from ragline.store import ChunkTable


class IndexConfig(StepConfig):
    """Upsert embedded chunks into a store (by chunk id); optionally delete what vanished."""

    chunks: Ref[list[Chunk]] = Field(description="Embedded chunks, e.g. the output of `embed`.")
    store: StoreAlias = Field(description="Store alias from `stores:`.")
    sync: bool = Field(
        False, description="Delete the chunks of documents that are not in this input."
    )
    vector_index_threshold: int = Field(
        100_000, ge=1, description="Build the ANN vector index once the table has this many rows."
    )
    include_title: bool = Field(
        True,
        description="Index the document's own title with each chunk's text for full-text "
        "search, so a title match counts (titles made up from file names are left out).",
    )
    on_model_change: Literal["error", "rebuild"] = Field(
        "error",
        description="When the table holds vectors of another model or backend than these "
        "chunks: stop with an error naming both (default), or rebuild the table from these "
        "chunks (the re-embed you ask for; the old vectors are dropped).",
    )


class IndexResult(BaseModel):
    table: str
    rows: int
    added: int
    deleted: int
    unchanged: int
    fts_rebuilt: bool = False
    vector_index: bool = False


def open_store(ctx: StepContext, alias: str) -> ChunkTable:
    """The run's `ChunkTable` for a store alias (one connection per run)."""
    from ragline.store import open_chunk_table

    spec = ctx.store(alias)
    uri = spec.uri if "://" in spec.uri else str(ctx.resolve_path(spec.uri))
    return ctx.services.get_or_create(
        ("ragline.store", uri, spec.table),
        lambda: open_chunk_table(
            uri,
            spec.table,
            alias=alias,
            storage_options=spec.storage_options,
            lock_dir=ctx.state_dir / "locks",
            fulltext=spec.fulltext.model_dump(),
        ),
    )


@step("index", config=IndexConfig, version="1", cache=False)
def index(config: IndexConfig, ctx: StepContext) -> IndexResult:
    """Diff against the table's ids under its write lock, then insert and delete in batches."""
    from ragline.llm.identity import alias_identity
    from ragline.store.identity import check_index
    from ragline.store.vectors import model_name

    table = open_store(ctx, config.store)
    embed_alias = _embedding_alias(ctx)
    model = model_name(ctx.workflow, embed_alias) if embed_alias else ""
    if model and config.chunks and table.table() is not None and config.on_model_change == "error":
        check_index(config.store, table.embedding_model, model, embed_alias)
    report = table.write(
        config.chunks,
        model=model,
        alias=embed_alias,
        identity=alias_identity(ctx.workflow, embed_alias) if embed_alias else "",
        sync=config.sync,
        vector_index_threshold=config.vector_index_threshold,
        include_title=config.include_title,
    )
    ctx.metrics.update(added=report.added, deleted=report.deleted, rows=report.rows)
    ctx.logger.info(
        "store %s: %d added, %d deleted, %d unchanged, %d rows",
        config.store,
        report.added,
        report.deleted,
        report.unchanged,
        report.rows,
    )
    return IndexResult(table=table.name, **vars(report))


def _embedding_alias(ctx: StepContext) -> str:
    """The alias of the `embed` step feeding this one, recorded so `retrieve` embeds alike."""
    me = next((s for s in ctx.workflow.steps if s.id == ctx.step_id), None)
    ref = str(me.with_.get("chunks", "")) if me else ""
    for other in ctx.workflow.steps:
        if other.uses == "embed" and f"steps.{other.id}." in ref:
            return str(other.with_.get("model", ""))
    return ""
