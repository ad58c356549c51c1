"""embed -> index -> retrieve as a real Prefect flow, embeddings through LiteLLM over
HTTP (the fake OpenAI server), metadata filters, the full-text index kept current,
and the query model found from what the table records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import StepRecord, compile_workflow
from ragline.documents import Chunk
from ragline.errors import ConfigError, StepError
from ragline.sdk.context import RunServices, StepContext
from ragline.spec.model import Workflow
from ragline.steps.embed import EmbedConfig, embed
from ragline.steps.index import IndexConfig, index
from ragline.steps.retrieve import RetrieveConfig, retrieve
from ragline.store import where_sql
from ragline.store.vectors import EmbeddingCache
from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI
from ragline.validation.workflow import load_workflow

CHUNKS: list[dict[str, Any]] = [
    {
        "id": "faq-0",
        "document_id": "faq.md",
        "text": "Retries apply to timeouts and rate limits only.",
        "source": "faq.md",
        "title": "FAQ",
        "metadata": {"format": "md", "lang": "en", "team": "ops"},
    },
    {
        "id": "faq-1",
        "document_id": "faq.md",
        "text": "The lancedb folder sits next to the workflow file.",
        "source": "faq.md",
        "title": "FAQ",
        "index": 1,
        "metadata": {"format": "md", "lang": "en", "team": "data"},
    },
    {
        "id": "guide-0",
        "document_id": "guide.html",
        "text": "Ein Plugin registriert einen Schritt über einen Entry Point.",
        "source": "guide.html",
        "title": "Leitfaden",
        "metadata": {"format": "html", "lang": "de", "nested": {"lang": "en"}},
    },
]


# The fake server's vectors are equal only for equal texts, and these tests ask with a
# chunk's own text: they embed the text alone (titles: tests/ingest/test_fields.py).


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_KEY_ENV, "sk-test-embeddings")


def context_for(workflow: Workflow, folder: Path, services: RunServices) -> Any:
    def make(step_id: str) -> StepContext:
        return StepContext(
            step_id=step_id, workflow=workflow, workflow_dir=folder, services=services
        )

    return make


def remote_workflow(server: FakeOpenAI, model: str = "emb") -> Workflow:
    return Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "remote-embeddings",
            "models": {"embedder": fake_deployments(server, model)},
            "stores": {"docs": {"uri": "lancedb", "table": "docs"}},
            "steps": [
                {"id": "embed", "uses": "embed", "with": {"model": "embedder"}},
                {"id": "index", "uses": "index", "with": {"chunks": "${{ steps.embed.output }}"}},
            ],
        }
    )


def test_embed_goes_through_litellm_over_http_in_batches_and_caches(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    context = context_for(remote_workflow(openai_server), tmp_path, RunServices())
    chunks = [Chunk.model_validate(c) for c in CHUNKS]
    ctx = context("embed")
    embedded = embed(
        EmbedConfig(include_title=False, chunks=chunks, model="embedder", batch_size=2), ctx
    )

    assert [len(c.vector or []) for c in embedded] == [8, 8, 8]  # the fake server's dimension
    sent = [r.body["input"] for r in openai_server.calls("emb")]
    longest_first = sorted((c["text"] for c in CHUNKS), key=len, reverse=True)
    assert sent == [longest_first[:2], longest_first[2:]]  # batches of similar lengths
    assert [c.id for c in embedded] == [c["id"] for c in CHUNKS]  # returned in input order
    assert (ctx.metrics["embedded"], ctx.metrics["reused"]) == (3, 0)

    again = context("embed")
    assert (
        embed(EmbedConfig(include_title=False, chunks=chunks, model="embedder"), again) == embedded
    )
    assert (again.metrics["embedded"], again.metrics["reused"]) == (0, 3)
    assert len(openai_server.calls("emb")) == 2  # no new request

    # Pointing the alias at another model must not reuse the first model's vectors.
    other = context_for(remote_workflow(openai_server, "emb-2"), tmp_path, RunServices())
    switched = other("embed")
    embed(EmbedConfig(include_title=False, chunks=chunks, model="embedder"), switched)
    assert switched.metrics["embedded"] == 3 and len(openai_server.calls("emb-2")) == 1


def test_a_remote_embedder_indexes_and_retrieves_with_the_recorded_alias(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    context = context_for(remote_workflow(openai_server), tmp_path, RunServices())
    chunks = [Chunk.model_validate(c) for c in CHUNKS]
    embedded = embed(
        EmbedConfig(include_title=False, chunks=chunks, model="embedder"), context("embed")
    )
    result = index(IndexConfig(chunks=embedded, store="docs"), context("index"))
    assert (result.added, result.rows, result.fts_rebuilt) == (3, 3, True)
    assert (tmp_path / "lancedb" / "docs.lance").is_dir()  # uri relative to the workflow

    # No `model:`: the query is embedded with the alias the table was indexed with.
    query = RetrieveConfig(query=CHUNKS[1]["text"], store="docs", k=1, mode="vector")
    [found] = retrieve(query, context("retrieve"))
    assert (found.id, found.rank, found.title) == ("faq-1", 1, "FAQ")
    assert found.score == pytest.approx(1.0, abs=1e-5)
    assert found.metadata["team"] == "data"  # citation metadata survives the round trip


def test_a_workflow_naming_the_model_differently_finds_it_by_model_name(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    context = context_for(remote_workflow(openai_server), tmp_path, RunServices())
    embedded = embed(
        EmbedConfig(
            include_title=False, chunks=[Chunk.model_validate(c) for c in CHUNKS], model="embedder"
        ),
        context("embed"),
    )
    index(IndexConfig(chunks=embedded, store="docs"), context("index"))
    asker = remote_workflow(openai_server).model_copy(
        update={"models": {"vectors": remote_workflow(openai_server).models["embedder"]}}
    )
    ask = context_for(asker, tmp_path, RunServices())  # another workflow's run
    query = RetrieveConfig(query=CHUNKS[0]["text"], store="docs", k=1, mode="vector")
    assert retrieve(query, ask("retrieve"))[0].id == "faq-0"

    elsewhere = remote_workflow(openai_server, "another-model")
    with pytest.raises(StepError, match=r"indexed with openai/emb, but the query would be embed"):
        retrieve(query, context_for(elsewhere, tmp_path, RunServices())("retrieve"))


@pytest.fixture
def indexed(tmp_path: Path, openai_server: FakeOpenAI) -> Any:
    context = context_for(remote_workflow(openai_server), tmp_path, RunServices())
    embedded = embed(
        EmbedConfig(
            include_title=False, chunks=[Chunk.model_validate(c) for c in CHUNKS], model="embedder"
        ),
        context("embed"),
    )
    index(IndexConfig(chunks=embedded, store="docs"), context("index"))
    return context


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"metadata.lang": "en"}, {"faq-0", "faq-1"}),  # guide's nested "lang": "en" is not it
        ({"metadata.lang": {"in": ["de"]}}, {"guide-0"}),
        ({"metadata.team": ["ops", "data"], "title": "FAQ"}, {"faq-0", "faq-1"}),
        ({"format": "html"}, {"guide-0"}),
        ({"document_id": {"ne": "faq.md"}}, {"guide-0"}),
        ({"metadata.missing": "x"}, set()),
    ],
)
def test_where_filters_columns_and_metadata_keys(
    indexed: Any, where: dict[str, Any], expected: set[str]
) -> None:
    for mode in ("vector", "fulltext", "hybrid"):
        query = RetrieveConfig(query="plugin lancedb retries", store="docs", k=10, where=where)
        found = retrieve(query.model_copy(update={"mode": mode}), indexed("retrieve"))
        if mode == "fulltext":
            assert {c.id for c in found} <= expected  # BM25 returns only matching words
        else:
            assert {c.id for c in found} == expected, mode


def test_metadata_filter_values_are_quoted_and_range_operators_refused() -> None:
    sql = where_sql({"metadata.lang": "x') OR 1=1 --"})
    assert sql == (
        "(strpos(metadata, '\"lang\": \"x'') OR 1=1 --\",') > 0"
        " OR strpos(metadata, '\"lang\": \"x'') OR 1=1 --\"}') > 0)"
    )
    with pytest.raises(ConfigError, match=r"metadata keys support only equality"):
        where_sql({"metadata.pages": {"gt": 3}})


def test_new_rows_are_found_by_full_text_after_a_later_write(indexed: Any, tmp_path: Path) -> None:
    late = Chunk(
        id="late-0",
        document_id="late.md",
        text="Zebras never appear in the first batch.",
        source="late.md",
    )
    embedded = embed(
        EmbedConfig(include_title=False, chunks=[late], model="embedder"), indexed("embed")
    )
    result = index(IndexConfig(chunks=embedded, store="docs"), indexed("index"))
    assert (result.added, result.rows, result.fts_rebuilt) == (1, 4, False)
    query = RetrieveConfig(query="zebras", store="docs", k=3, mode="fulltext")
    assert [c.id for c in retrieve(query, indexed("retrieve"))] == ["late-0"]


def test_the_embedding_cache_looks_up_thousands_of_keys_in_one_go(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings")
    keys = [EmbeddingCache.key("model", f"text {i}") for i in range(3000)]
    cache.set_many([(k, i.to_bytes(4, "little")) for i, k in enumerate(keys) if i % 2 == 0])
    found = cache.get_many([*keys, keys[0]])
    assert found[:4] == [(0).to_bytes(4, "little"), None, (2).to_bytes(4, "little"), None]
    assert found[-1] == found[0] and sum(v is not None for v in found) == 1501
    cache.close()


FLOW = {
    "inputs": {"question": {"type": "string"}},
    "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2"}]},
    "stores": {"docs": {"uri": ".ragline/lancedb", "table": "docs"}},
    "steps": [
        {"id": "chunks", "uses": "value", "with": {"value": CHUNKS}},
        {
            "id": "embed",
            "uses": "embed",
            "with": {"chunks": "${{ steps.chunks.output }}", "model": "embedder"},
        },
        {
            "id": "index",
            "uses": "index",
            "with": {"chunks": "${{ steps.embed.output }}", "store": "docs"},
        },
        {
            "id": "retrieve",
            "uses": "retrieve",
            "needs": ["index"],
            "with": {"query": "${{ inputs.question }}", "store": "docs", "k": 2},
        },
    ],
    "outputs": {
        "found": "${{ steps.retrieve.output }}",
        "index": "${{ steps.index.output }}",
    },
}


@pytest.mark.slow
def test_embed_index_retrieve_as_a_prefect_flow(tmp_path: Path, prefect: str) -> None:
    path = write_workflow(tmp_path, FLOW)
    records: dict[str, StepRecord] = {}

    def run() -> dict[str, Any]:
        flow = compile_workflow(
            load_workflow(path),
            on_finish=lambda recs, outs: records.update({r.step_id: r for r in recs}),
        )
        result: dict[str, Any] = flow(question="Where does the lancedb folder live?")
        return result

    first = run()
    assert first["index"].added == 3 and first["found"][0].id == "faq-1"
    assert first["found"][0].source == "faq.md" and first["found"][0].rank == 1

    second = run()
    assert second["index"].added == second["index"].deleted == 0
    assert second["index"].unchanged == 3
    assert [c.id for c in second["found"]] == [c.id for c in first["found"]]
