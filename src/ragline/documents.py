"""The data that flows between retrieval steps: documents, chunks, retrieved chunks.

Shared by `ingest`, `chunk`, `embed`, `index`, `retrieve`, `prompt` and `evaluate`;
ids derive from content so re-running on the same text gives the same ids.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Document(BaseModel):
    """One ingested file (or record of a json/jsonl/csv file)."""

    id: str = Field(description="Stable id: derived from the source path (and record key).")
    text: str
    source: str = Field(description="Path of the file it came from.")
    title: str | None = None
    format: str = "text"
    size: int = 0
    modified: float = 0.0
    content_hash: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Chunk(BaseModel):
    """A piece of a document sized for the embedding model; `vector` is set by `embed`."""

    id: str = Field(description="Derived from document id + content.")
    document_id: str
    text: str
    index: int = 0
    source: str = ""
    title: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    vector: list[float] | None = None


class RetrievedChunk(Chunk):
    """A chunk returned by `retrieve`, with its score and rank (1 = best)."""

    score: float = 0.0
    rank: int = 0
