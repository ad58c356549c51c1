"""A workflow with the real local MiniLM and a LanceDB store in the test's folder.

`index` records which alias embedded the chunks by looking at the `embed` step that
feeds it, and `retrieve` embeds its query with that alias: so the workflow has both.
"""

from __future__ import annotations

from pathlib import Path

from ragline.documents import Chunk
from ragline.sdk import RunServices, StepContext
from ragline.spec.model import Workflow
from ragline.steps.chunk import chunk_id
from ragline.steps.embed import EmbedConfig, embed

WORKFLOW = Workflow.model_validate(
    {
        "apiVersion": "ragline/v1",
        "name": "local-rag",
        "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2"}]},
        "stores": {"docs": {"uri": "lancedb", "table": "docs"}},
        "steps": [
            {"id": "embed", "uses": "embed", "with": {"model": "embedder"}},
            {"id": "index", "uses": "index", "with": {"chunks": "${{ steps.embed.output }}"}},
            {"id": "retrieve", "uses": "retrieve", "with": {"query": "q", "store": "docs"}},
        ],
    }
)
CORPUS = {
    "plugins.md": "A plugin adds a step type through the ragline.steps entry point group.",
    "retries.md": "Prefect retries a failed task after the configured delays, with jitter.",
    "stores.md": "LanceDB keeps the vectors in a folder next to the workflow file.",
}


def context(folder: Path, services: RunServices, step_id: str) -> StepContext:
    return StepContext(step_id=step_id, workflow=WORKFLOW, workflow_dir=folder, services=services)


def embedded(folder: Path, services: RunServices, corpus: dict[str, str]) -> list[Chunk]:
    """One chunk per document, embedded by the `embed` step."""
    chunks = [
        Chunk(id=chunk_id(doc, text), document_id=doc, text=text, source=doc, title=doc)
        for doc, text in corpus.items()
    ]
    out: list[Chunk] = embed(
        EmbedConfig(chunks=chunks, model="embedder"), context(folder, services, "embed")
    )
    return out
