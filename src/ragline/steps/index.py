"""`index`: bring a store's LanceDB table in line with a set of embedded chunks.

Idempotent by construction (chunk ids derive from content): new ids are
inserted, ids a changed document no longer produces are deleted, and with
`sync: true` so are the chunks of documents that are gone. An unchanged corpus
writes nothing at all.

With `partition:` the write is split in two (see `ragline.store.fragments`):
each slice stages its new rows as uncommitted Lance fragments wherever it runs,
and one commit task adds them all in a single transaction, deletes, and builds
the indexes once. Exactly once across processes and machines, without a lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ragline.documents import Chunk
from ragline.sdk.context import StepContext
from ragline.sdk.step import Ref, StepConfig, StoreAlias, step
from ragline.store.run_tables import open_store

if TYPE_CHECKING:
    from ragline.store.fragments import Staged


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


class StagedSlice(BaseModel):
    """What one slice of a partitioned `index` hands to the commit: no vectors."""

    store: str
    sync: bool
    vector_index_threshold: int
    model: str
    alias: str
    staged: Any


def stage_index(config: IndexConfig, ctx: StepContext) -> StagedSlice:
    """One slice: write the rows the committed table lacks as fragments, commit nothing."""
    from ragline.llm.identity import alias_models
    from ragline.store.fragments import stage
    from ragline.store.identity import check_index

    table = open_store(ctx, config.store)
    alias = _embedding_alias(ctx)
    model = alias_models(ctx.workflow, alias) if alias else ""
    if model and config.chunks and table.table() is not None:  # never mix models in a table
        check_index(config.store, table.embedding_model, model, alias)
    staged = stage(table, config.chunks, model=model, alias=alias)
    ctx.metrics.update(staged=staged.rows, fragments=len(staged.fragments))
    ctx.logger.info(
        "store %s: staged %d new row(s) of %d in %d fragment(s)",
        config.store,
        staged.rows,
        len(staged.incoming),
        len(staged.fragments),
    )
    return StagedSlice(
        store=config.store,
        sync=config.sync,
        vector_index_threshold=config.vector_index_threshold,
        model=model,
        alias=alias,
        staged=staged,
    )


def commit_index(slices: list[StagedSlice], ctx: StepContext) -> IndexResult:
    """All slices' fragments in one transaction; then deletes, then the indexes, once."""
    from ragline.store.fragments import commit

    first = slices[0]
    table = open_store(ctx, first.store)
    staged: list[Staged] = [s.staged for s in slices]
    report = commit(
        table,
        staged,
        model=first.model,
        alias=first.alias,
        sync=first.sync,
        vector_index_threshold=first.vector_index_threshold,
    )
    ctx.metrics.update(
        added=report.added, deleted=report.deleted, rows=report.rows, partitions=len(slices)
    )
    ctx.logger.info(
        "store %s: committed %d slice(s): %d added, %d deleted, %d unchanged, %d rows",
        first.store,
        len(slices),
        report.added,
        report.deleted,
        report.unchanged,
        report.rows,
    )
    return IndexResult(table=table.name, **vars(report))


@step(
    "index",
    config=IndexConfig,
    version="1",
    cache=False,
    partition="chunks",
    stage=stage_index,
    commit=commit_index,
)
def index(config: IndexConfig, ctx: StepContext) -> IndexResult:
    """Diff against the table's ids under its write lock, then insert and delete in batches."""
    from ragline.llm.identity import alias_identity, alias_models
    from ragline.store.identity import check_index

    table = open_store(ctx, config.store)
    embed_alias = _embedding_alias(ctx)
    model = alias_models(ctx.workflow, embed_alias) if embed_alias else ""
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
