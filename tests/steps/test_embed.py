"""`embed`: bad configs `ragline validate` refuses, and chunks embedded by the real local MiniLM.

Covered elsewhere, not repeated here: chunks longer than the model's window
(tests/data/invalid/chunk_over_model_window), remote embedders over HTTP and batching
(tests/retrieval/test_embed_index_retrieve.py), titles (tests/ingest/test_fields.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ragline.documents import Chunk
from ragline.sdk import RunServices, StepContext
from ragline.spec.model import Workflow
from ragline.steps.embed import EmbedConfig, embed

from .bad_configs import assert_refused, bad

CHUNKS = "chunks: ${{ steps.upstream.output }}"

BAD = [
    bad("model missing", CHUNKS, (1, 1), "missing required key 'model'", "'embed'"),
    bad("chunks missing", "model: embedder", (1, 1), "missing required key 'chunks'"),
    bad(
        "a model alias not defined",
        f"{CHUNKS}\nmodel: embeder",
        (2, 8),
        "unknown model alias 'embeder'",
        "did you mean 'embedder'?",
    ),
    bad(
        "chunks written as a literal",
        "chunks: []\nmodel: embedder",
        (1, 9),
        "'chunks' takes an earlier step's output",
    ),
    bad(
        "batch_size zero",
        f"{CHUNKS}\nmodel: embedder\nbatch_size: 0",
        (3, 13),
        "0 is out of range",
        "at least 1",
    ),
    bad(
        "batch_size over the limit",
        f"{CHUNKS}\nmodel: embedder\nbatch_size: 10000",
        (3, 13),
        "10000 is out of range",
        "at most 4096",
    ),
    bad(
        "include_title not a flag",
        f"{CHUNKS}\nmodel: embedder\ninclude_title: sometimes",
        (3, 16),
        "expected boolean",
    ),
    bad("a typo in a key", f"{CHUNKS}\nmodel: embedder\nbatch: 8", (3, 1), "'batch_size'?"),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "embed", body, at, words)


WORKFLOW = Workflow.model_validate(
    {
        "apiVersion": "ragline/v1",
        "name": "embed-test",
        "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2"}]},
        "steps": [{"id": "embed", "uses": "embed", "with": {"model": "embedder"}}],
    }
)
TEXTS = [
    "LanceDB keeps the vectors in a folder next to the workflow file.",
    "The vector store lives in a directory beside the workflow.",
    "Bananas are rich in potassium.",
]


@pytest.fixture(scope="module")
def services() -> RunServices:
    """One run's services for the module: the model service is built once."""
    return RunServices()


def test_chunks_get_unit_vectors_that_place_paraphrases_together(
    tmp_path: Path, services: RunServices
) -> None:
    chunks = [Chunk(id=f"c{i}", document_id="d", text=t) for i, t in enumerate(TEXTS)]
    ctx = StepContext(step_id="embed", workflow=WORKFLOW, workflow_dir=tmp_path, services=services)

    embedded = embed(EmbedConfig(chunks=chunks, model="embedder"), ctx)

    assert [c.id for c in embedded] == ["c0", "c1", "c2"]  # input order, fields kept
    vectors = [c.vector or [] for c in embedded]
    assert {len(v) for v in vectors} == {384}
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    assert (ctx.metrics["embedded"], ctx.metrics["reused"]) == (3, 0)

    again = StepContext(
        step_id="embed", workflow=WORKFLOW, workflow_dir=tmp_path, services=services
    )
    assert embed(EmbedConfig(chunks=chunks, model="embedder"), again) == embedded
    assert (again.metrics["embedded"], again.metrics["reused"]) == (0, 3)  # from the cache
