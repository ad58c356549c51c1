"""`retrieve`: the k chunks of a store that best answer a query.

`vector` finds paraphrases, `fulltext` (BM25) finds exact terms and names,
`hybrid` fuses both and is the default because it beats either alone on real
retrieval sets unlike each other (MS MARCO passages, SciFact claims; see
docs/retrieval-quality.md and bench/bench_quality.py). The default fusion
standardises each list's scores by its own mean and spread (dbsf), so neither
side wins merely because its scores are spread wider.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from ragline.documents import RetrievedChunk
from ragline.errors import ErrorCategory, StepError
from ragline.sdk.context import StepContext
from ragline.sdk.step import ModelAlias, StepConfig, StoreAlias, step
from ragline.store.run_tables import open_store

# Each list handed to the fusion is this many times deeper than k (at least 50).
HYBRID_DEPTH = 5


class RetrieveConfig(StepConfig):
    """Search a store by meaning (vector), by words (fulltext) or both (hybrid)."""

    query: str = Field(min_length=1, description="What to search for.")
    store: StoreAlias = Field(description="Store alias from `stores:`.")
    k: int = Field(5, ge=1, le=1000, description="How many chunks to return.")
    mode: Literal["vector", "fulltext", "hybrid"] = "hybrid"
    model: ModelAlias | None = Field(
        None,
        description="Embedding model alias for the query; default: the alias the store was "
        "indexed with.",
    )
    where: dict[str, Any] | None = Field(
        None,
        description="Metadata filter: {field: value}, {field: [values]} or {field: {op: value}} "
        "with op in, not_in, eq, ne, lt, lte, gt, gte; fields: id, document_id, source, title, "
        "format, chunk_index, headings, and metadata.<key> (equality or in) for any key of a "
        "chunk's metadata.",
    )
    min_score: float | None = Field(
        None,
        description="Drop chunks scoring below this (cosine similarity for vector, BM25 for "
        "fulltext, the fused score in [0, 1] for hybrid).",
    )
    fusion: Literal["convex", "dbsf", "rrf"] = Field(
        "dbsf",
        description="hybrid: convex combination of min-max-normalised scores, dbsf "
        "(distribution-based: each list's scores standardised by its own mean and spread), "
        "or reciprocal-rank fusion.",
    )
    alpha: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="hybrid dbsf and convex fusion: weight of the vector score (1 - alpha for "
        "BM25). 0.6 was chosen on the tuning splits of two unlike sets together (MS MARCO "
        "and SciFact; docs/retrieval-quality.md); raise it when dense search is much the "
        "stronger on your data, lower it when exact terms matter more.",
    )


def check_retrieve(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: each `where:` filter names a field and operators that exist."""
    from ragline.errors import ConfigError
    from ragline.spec.expressions import walk_strings
    from ragline.store.filters import where_sql  # plain Python: LanceDB loads only to search

    where = raw.get("where")
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for field, spec in where.items() if isinstance(where, dict) else ():
        if any("${{" in text for _, text in walk_strings(spec)):
            continue  # values resolve at run time
        try:
            where_sql({field: spec})
        except ConfigError as exc:
            problems.append((("where", field), str(exc)))
    return problems


@step("retrieve", config=RetrieveConfig, version="1", cache=False, check=check_retrieve)
def retrieve(
    config: RetrieveConfig, ctx: StepContext, *, vector: list[float] | None = None
) -> list[RetrievedChunk]:
    """Search, fuse when hybrid, filter by score, and number the ranks from 1.

    `vector` is the query's embedding when the caller already has it: a batch
    evaluation (`evaluate-retrieval`) embeds many queries in one model call.
    """
    from ragline.store import where_sql
    from ragline.store.filters import metadata_matches
    from ragline.store.fusion import (
        convex_fusion,
        distribution_fusion,
        reciprocal_rank_fusion,
    )

    table = open_store(ctx, config.store)
    table.require()
    where = where_sql(config.where)
    depth = config.k if config.mode != "hybrid" else max(50, HYBRID_DEPTH * config.k)
    if config.mode == "fulltext":
        rows = table.search_text(config.query, depth, where)
    elif config.mode == "vector":
        query_vector = vector if vector is not None else _query_vector(config, ctx, table)
        rows = table.search_vector(query_vector, depth, where)
    else:
        from concurrent.futures import ThreadPoolExecutor

        # BM25 runs while the query is embedded and the vectors searched: LanceDB
        # and the model release the GIL, so hybrid costs about the slower of the two.
        with ThreadPoolExecutor(max_workers=1) as pool:
            text_rows = pool.submit(table.search_text, config.query, depth, where)
            query_vector = vector if vector is not None else _query_vector(config, ctx, table)
            vector_rows = table.search_vector(query_vector, depth, where)
            if config.fusion == "rrf":
                rows = reciprocal_rank_fusion([vector_rows, text_rows.result()])
            elif config.fusion == "dbsf":
                rows = distribution_fusion(vector_rows, text_rows.result(), alpha=config.alpha)
            else:
                rows = convex_fusion(vector_rows, text_rows.result(), alpha=config.alpha)
    if config.min_score is not None:
        rows = [r for r in rows if r["score"] >= config.min_score]
    if not any(field.startswith("metadata.") for field in config.where or {}):
        rows = rows[: config.k]  # nothing to re-check: build only what is returned
    chunks = (_chunk(row) for row in rows)
    kept = [c for c in chunks if metadata_matches(config.where, c.metadata)][: config.k]
    found = [c.model_copy(update={"rank": rank}) for rank, c in enumerate(kept, start=1)]
    ctx.metrics["retrieved"] = len(found)
    return found


def _query_vector(config: RetrieveConfig, ctx: StepContext, table: Any) -> list[float]:
    from ragline.llm.service import model_service

    vectors, _ = model_service(ctx).embed(query_alias(config, ctx, table), [config.query], ctx)
    return vectors[0]


def query_alias(config: RetrieveConfig, ctx: StepContext, table: Any) -> str:
    """The `models:` alias that embeds queries for this store (checked against the table)."""
    from ragline.llm.identity import alias_models
    from ragline.store.identity import check_query

    alias = config.model or _indexed_alias(ctx, table) or table.embedding_alias
    if alias and alias in ctx.workflow.models:
        # The alias that indexed the table may since point at another backend.
        check_query(config.store, table.embedding_model, alias_models(ctx.workflow, alias), alias)
    else:
        recorded = table.embedding_model or "unknown"
        raise StepError(
            f"retrieve: no embedding model for the query; store '{config.store}' was indexed "
            f"with {recorded}. Set `model:` to a `models:` alias that embeds with it",
            category=ErrorCategory.INPUT,
        )
    return alias


def _indexed_alias(ctx: StepContext, table: Any) -> str | None:
    """The workflow's alias for the model the table was indexed with.

    The alias recorded at index time when this workflow has it (the usual case:
    one workflow ingests and answers); otherwise any alias routing to the same
    model name, so a separate question-answering workflow may name it differently.
    Queries are embedded through the workflow's aliases only, never a model the
    workflow does not declare, so keys, api_base and budgets always apply.
    """
    from ragline.llm.identity import alias_models
    from ragline.store.identity import same_embedding

    recorded_alias, recorded_model = table.embedding_alias, table.embedding_model
    if (
        recorded_alias
        and recorded_alias in ctx.workflow.models
        and same_embedding(recorded_model, alias_models(ctx.workflow, recorded_alias))
    ):
        return str(recorded_alias)
    for alias in ctx.workflow.models:
        if recorded_model and same_embedding(recorded_model, alias_models(ctx.workflow, alias)):
            return alias
    return None


def _chunk(row: dict[str, Any], rank: int = 0) -> RetrievedChunk:
    metadata = json.loads(row.get("metadata") or "{}")
    return RetrievedChunk(
        id=row["id"],
        document_id=row["document_id"],
        text=row["text"],
        index=int(row.get("chunk_index") or 0),
        source=row.get("source") or "",
        title=row.get("title") or None,
        metadata=metadata,
        score=float(row["score"]),
        rank=rank,
    )
