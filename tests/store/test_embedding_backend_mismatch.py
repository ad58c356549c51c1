"""A table records the model and backend its vectors came from: querying or extending
it with vectors of another backend is refused with a message naming both, and a
backend never reads another backend's cached vectors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline.documents import Chunk
from ragline.errors import StepError
from ragline.llm.providers import onnx_minilm
from ragline.sdk.context import RunServices, StepContext
from ragline.spec.model import Workflow
from ragline.steps.embed import EmbedConfig, embed
from ragline.steps.index import IndexConfig, index
from ragline.steps.retrieve import RetrieveConfig, retrieve
from ragline.store import open_chunk_table

TEXTS = [
    "LanceDB keeps the vectors in a folder beside the workflow.",
    "A Prefect task is retried after a timeout.",
    "The cat slept on the warm windowsill.",
]


@pytest.fixture(scope="module", autouse=True)
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get(onnx_minilm.CACHE_ENV)
    os.environ[onnx_minilm.CACHE_ENV] = str(tmp_path_factory.getbasetemp() / "model-cache")
    yield
    if previous is None:
        os.environ.pop(onnx_minilm.CACHE_ENV, None)
    else:
        os.environ[onnx_minilm.CACHE_ENV] = previous


def workflow(**backends: str | None) -> Workflow:
    """One alias per keyword: `embedder="onnx-int8"` -> local MiniLM on that backend."""
    models = {
        alias: [{"model": "local/all-MiniLM-L6-v2", **({"backend": b} if b else {})}]
        for alias, b in backends.items()
    }
    first = next(iter(backends))
    return Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "backends",
            "models": models,
            "stores": {"docs": {"uri": "lancedb", "table": "docs"}},
            "steps": [
                {"id": "embed", "uses": "embed", "with": {"model": first}},
                {"id": "index", "uses": "index", "with": {"chunks": "${{ steps.embed.output }}"}},
            ],
        }
    )


def context(wf: Workflow, folder: Path) -> Any:
    services = RunServices()

    def make(step_id: str) -> StepContext:
        return StepContext(step_id=step_id, workflow=wf, workflow_dir=folder, services=services)

    return make


def chunks() -> list[Chunk]:
    return [
        Chunk(id=f"c{i}", document_id="d.md", text=t, source="d.md", index=i)
        for i, t in enumerate(TEXTS)
    ]


def ingest(wf: Workflow, folder: Path, alias: str) -> Any:
    make = context(wf, folder)
    embedded = embed(EmbedConfig(chunks=chunks(), model=alias), make("embed"))
    index(IndexConfig(chunks=embedded, store="docs"), make("index"))
    return make


def test_the_table_records_the_backend_and_queries_embed_alike(tmp_path: Path) -> None:
    make = ingest(workflow(embedder="onnx-int8"), tmp_path, "embedder")
    table = open_chunk_table(str(tmp_path / "lancedb"), "docs")
    assert table.embedding_model == "local/all-MiniLM-L6-v2@onnx-int8"
    query = RetrieveConfig(query="where are vectors stored", store="docs", k=1, mode="vector")
    [found] = retrieve(query, make("retrieve"))
    assert found.id == "c0"


def test_querying_an_int8_table_with_the_torch_backend_is_refused(tmp_path: Path) -> None:
    ingest(workflow(embedder="onnx-int8", torch=None), tmp_path, "embedder")
    make = context(workflow(embedder="onnx-int8", torch=None), tmp_path)
    query = RetrieveConfig(query="retries", store="docs", k=1, mode="vector", model="torch")
    with pytest.raises(StepError) as refused:
        retrieve(query, make("retrieve"))
    message = str(refused.value)
    assert (
        "store 'docs' was indexed with local/all-MiniLM-L6-v2@onnx-int8, but the query would "
        "be embedded by local/all-MiniLM-L6-v2@torch (alias 'torch')"
    ) in message
    assert "with `backend: onnx-int8`" in message  # how to fix it


def test_an_alias_switched_to_another_backend_is_refused_by_the_old_table(
    tmp_path: Path,
) -> None:
    ingest(workflow(embedder=None), tmp_path, "embedder")  # torch
    switched = context(workflow(embedder="onnx-int8"), tmp_path)
    query = RetrieveConfig(query="retries", store="docs", k=1, mode="hybrid")
    with pytest.raises(StepError, match=r"indexed with local/all-MiniLM-L6-v2@torch, but"):
        retrieve(query, switched("retrieve"))

    # Adding int8 vectors to the torch table is refused too, before anything is written.
    embedded = embed(EmbedConfig(chunks=chunks()[:1], model="embedder"), switched("embed"))
    with pytest.raises(StepError, match=r"holds vectors made by local/all-MiniLM-L6-v2@torch; "):
        index(IndexConfig(chunks=embedded, store="docs"), switched("index"))
    assert open_chunk_table(str(tmp_path / "lancedb"), "docs").count() == 3


def test_a_backend_never_reads_another_backends_cached_vectors(tmp_path: Path) -> None:
    torch_run = context(workflow(embedder=None), tmp_path)("embed")
    by_torch = embed(EmbedConfig(chunks=chunks(), model="embedder"), torch_run)
    int8_run = context(workflow(embedder="onnx-int8"), tmp_path)("embed")
    by_int8 = embed(EmbedConfig(chunks=chunks(), model="embedder"), int8_run)
    assert int8_run.metrics["embedded"] == 3 and int8_run.metrics["reused"] == 0
    assert [c.vector for c in by_int8] != [c.vector for c in by_torch]

    again = context(workflow(embedder="torch"), tmp_path)("embed")  # explicit = the default
    embed(EmbedConfig(chunks=chunks(), model="embedder"), again)
    assert again.metrics["reused"] == 3


def test_a_table_from_before_backends_counts_as_torch(tmp_path: Path) -> None:
    make = context(workflow(embedder=None, int8="onnx-int8"), tmp_path)
    embedded = embed(EmbedConfig(chunks=chunks(), model="embedder"), make("embed"))
    table = open_chunk_table(str(tmp_path / "lancedb"), "docs", alias="docs")
    table.write(embedded, model="local/all-MiniLM-L6-v2", alias="embedder")  # the old record

    query = RetrieveConfig(query="a sleeping cat", store="docs", k=1, mode="vector")
    assert retrieve(query, make("retrieve"))[0].id == "c2"
    with pytest.raises(StepError, match=r"indexed with local/all-MiniLM-L6-v2@torch, but"):
        retrieve(query.model_copy(update={"model": "int8"}), make("retrieve"))
