"""`embed`, `index` and `retrieve` against a real LanceDB table and the real local model."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ragline.documents import Chunk
from ragline.errors import ConfigError, StepError
from ragline.sdk.context import RunServices, StepContext
from ragline.spec.model import Workflow
from ragline.steps.chunk import chunk_id
from ragline.steps.embed import EmbedConfig, embed
from ragline.steps.index import IndexConfig, index
from ragline.steps.retrieve import RetrieveConfig, retrieve
from ragline.store import open_chunk_table

WORKFLOW = Workflow.model_validate(
    {
        "apiVersion": "ragline/v1",
        "name": "store-test",
        "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2"}]},
        "stores": {"docs": {"uri": ".ragline/lancedb", "table": "docs"}},
        "steps": [
            {"id": "embed", "uses": "embed", "with": {"model": "embedder"}},
            {"id": "index", "uses": "index", "with": {"chunks": "${{ steps.embed.output }}"}},
        ],
    }
)
TEXTS = {
    "plugins.md": [
        "A plugin adds a step type through the ragline.steps entry point group.",
        "The config model subclasses StepConfig and the function is decorated with @step.",
    ],
    "retries.md": [
        "Prefect retries a failed task after the configured delays, with jitter.",
        "Only errors marked retryable, such as timeouts and rate limits, are retried.",
    ],
    "stores.md": [
        "LanceDB keeps the vectors in a folder next to the workflow file.",
        "Hybrid search fuses BM25 full-text ranks with vector ranks.",
    ],
}


def chunks_of(texts: dict[str, list[str]]) -> list[Chunk]:
    return [
        Chunk(id=chunk_id(doc, t), document_id=doc, text=t, index=i, source=doc, title=doc)
        for doc, lines in texts.items()
        for i, t in enumerate(lines)
    ]


@pytest.fixture(scope="module")
def services() -> RunServices:
    """One model service for the module: the model loads once."""
    return RunServices()


@pytest.fixture
def context(tmp_path: Path, services: RunServices):  # type: ignore[no-untyped-def]
    def make(step_id: str) -> StepContext:
        return StepContext(
            step_id=step_id, workflow=WORKFLOW, workflow_dir=tmp_path, services=services
        )

    return make


def ingest(context, texts: dict[str, list[str]], *, sync: bool = False):  # type: ignore[no-untyped-def]
    embed_ctx = context("embed")
    embedded = embed(EmbedConfig(chunks=chunks_of(texts), model="embedder"), embed_ctx)
    result = index(IndexConfig(chunks=embedded, store="docs", sync=sync), context("index"))
    return embed_ctx.metrics, result


def table_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_chunk_table(str(tmp_path / ".ragline" / "lancedb"), "docs").require()


def test_an_unchanged_corpus_embeds_and_writes_nothing(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    metrics, first = ingest(context, TEXTS)
    assert (metrics["embedded"], first.added, first.rows) == (6, 6, 6)
    version = table_of(tmp_path).version
    metrics, again = ingest(context, TEXTS)
    assert (metrics["embedded"], metrics["reused"]) == (0, 6)
    assert (again.added, again.deleted, again.unchanged) == (0, 0, 6)
    assert table_of(tmp_path).version == version


def test_an_edited_document_replaces_only_its_changed_chunks(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    edited = {**TEXTS, "retries.md": [TEXTS["retries.md"][0], "Timeouts are retried twice."]}
    metrics, result = ingest(context, edited)
    assert (metrics["embedded"], result.added, result.deleted, result.rows) == (1, 1, 1, 6)
    texts = set(table_of(tmp_path).search().select(["text"]).limit(None).to_pandas()["text"])
    assert "Timeouts are retried twice." in texts and TEXTS["retries.md"][1] not in texts


def test_sync_deletes_the_chunks_of_removed_documents(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    without = {k: v for k, v in TEXTS.items() if k != "stores.md"}
    _, kept = ingest(context, without)
    assert (kept.deleted, kept.rows) == (0, 6)  # without sync, other documents stay
    _, synced = ingest(context, without, sync=True)
    assert (synced.deleted, synced.rows) == (2, 4)


@pytest.mark.parametrize("mode", ["vector", "fulltext", "hybrid"])
def test_each_mode_finds_the_relevant_chunk(context, mode: str) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    found = retrieve(
        RetrieveConfig(query="how do I add a plugin step type", store="docs", k=3, mode=mode),
        context("retrieve"),
    )
    assert found[0].source == "plugins.md"
    assert [c.rank for c in found] == list(range(1, len(found) + 1))
    assert found == sorted(found, key=lambda c: -c.score)


@pytest.mark.parametrize("fusion", ["convex", "dbsf", "rrf"])
def test_hybrid_scores_are_normalised_and_min_score_filters(context, fusion: str) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    query = RetrieveConfig(query="LanceDB vectors folder", store="docs", k=6, fusion=fusion)
    found = retrieve(query, context("retrieve"))
    scores = [c.score for c in found]
    assert found[0].source == "stores.md"  # first by words and by meaning: 1.0 either way
    assert scores[0] == pytest.approx(1.0) and all(0 <= s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    strict = query.model_copy(update={"min_score": 0.5})
    kept = [c.score for c in retrieve(strict, context("retrieve"))]
    assert kept == [s for s in scores if s >= 0.5] and len(kept) < len(scores)


def test_where_filters_by_metadata(context) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    found = retrieve(
        RetrieveConfig(query="retries", store="docs", k=5, where={"source": ["stores.md"]}),
        context("retrieve"),
    )
    assert found and {c.source for c in found} == {"stores.md"}
    with pytest.raises(ConfigError, match="cannot filter on 'colour'; filterable fields"):
        retrieve(RetrieveConfig(query="x", store="docs", where={"colour": "red"}), context("r"))


def test_a_quote_in_a_filter_value_stays_a_value(context) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    sneaky = {"source": "x' OR '1'='1"}
    assert retrieve(RetrieveConfig(query="plugins", store="docs", where=sneaky), context("r")) == []


def test_retrieving_from_an_empty_store_says_to_ingest_first(context) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StepError, match=r"store 'docs' has no table 'docs'.*run an ingestion"):
        retrieve(RetrieveConfig(query="anything", store="docs"), context("retrieve"))


def test_vectors_of_another_dimension_are_refused(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ingest(context, TEXTS)
    odd = [Chunk(id="x", document_id="x.md", text="x", vector=[0.1, 0.2, 0.3])]
    with pytest.raises(ConfigError, match=r"holds 384-dimensional vectors.*these chunks have 3"):
        index(IndexConfig(chunks=odd, store="docs"), context("index"))


def test_the_vector_index_is_built_once_the_table_is_big_enough(tmp_path: Path) -> None:
    rng = random.Random(7)
    table = open_chunk_table(str(tmp_path / "db"), "big")
    rows = [
        Chunk(
            id=f"c{i}",
            document_id=f"d{i % 50}",
            text=f"text {i}",
            vector=[rng.uniform(-1, 1) for _ in range(16)],
        )
        for i in range(600)
    ]
    small = table.write(rows[:100], model="m", alias="a", vector_index_threshold=500)
    assert (small.vector_index, small.fts_rebuilt) == (False, True)
    big = table.write(rows, model="m", alias="a", vector_index_threshold=500)
    assert big.vector_index and big.rows == 600
    assert table.search_vector(rows[3].vector or [], 1, None)[0]["id"] == "c3"


def test_any_litellm_embedding_provider_works_by_alias(
    tmp_path: Path, openai_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """An OpenAI-compatible embedding endpoint over real HTTP, through the same alias mechanism."""
    from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments

    monkeypatch.setenv(TEST_KEY_ENV, "sk-test-embeddings")
    spec = WORKFLOW.model_dump(by_alias=True, exclude={"models"})
    models = {"embedder": fake_deployments(openai_server, "text-embed")}
    workflow = Workflow.model_validate({**spec, "models": models})

    def ctx(step_id: str) -> StepContext:
        return StepContext(step_id=step_id, workflow=workflow, workflow_dir=tmp_path)

    chunks = chunks_of(TEXTS)
    embedded = embed(EmbedConfig(chunks=chunks, model="embedder", batch_size=4), ctx("embed"))
    assert len(openai_server.calls()) == 2  # 6 texts in batches of 4
    assert {len(c.vector or []) for c in embedded} == {openai_server.embedding_dim}
    index(IndexConfig(chunks=embedded, store="docs"), ctx("index"))
    found = retrieve(
        RetrieveConfig(query=TEXTS["stores.md"][1], store="docs", mode="vector"), ctx("retrieve")
    )
    assert found[0].text == TEXTS["stores.md"][1]  # the fake embeds equal texts equally
    assert len(openai_server.calls()) == 3
