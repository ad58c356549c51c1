"""`chunk`: documents -> chunks with ids derived from document id + text.

Content-derived ids are what make ingestion incremental: re-chunking an
unchanged document gives the same ids, so `embed` reuses their vectors and
`index` writes nothing; an edited paragraph changes only its own chunks' ids.

Version 2 splits with semchunk and keeps each chunk an exact slice of the
document (version 1 re-joined pieces with single spaces): chunk texts, and so
chunk ids, differ from version 1, and the first run after the upgrade
re-embeds and replaces every chunk once.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from ragline.chunking import (
    char_counter,
    char_offsets,
    split_markdown,
    split_recursive,
    split_tokens,
    token_offsets,
)
from ragline.chunking import token_counter as make_token_counter
from ragline.chunking.defaults import DEFAULT_OVERLAP, DEFAULT_SIZE
from ragline.documents import Chunk, Document
from ragline.sdk.context import StepContext
from ragline.sdk.step import Ref, StepConfig, step


class ChunkConfig(StepConfig):
    """Split documents into chunks (tokens of the embedding model by default)."""

    documents: Ref[list[Document]] = Field(description="Documents, e.g. the output of `ingest`.")
    strategy: Literal["tokens", "recursive", "markdown"] = Field(
        "recursive",
        description="tokens: fixed windows; recursive: headings > paragraphs > sentences > "
        "words; markdown: one section per heading, heading path kept as metadata.",
    )
    size: int = Field(
        DEFAULT_SIZE,
        ge=8,
        le=100_000,
        description="Maximum chunk size, in `unit`s. The default fits the default embedding "
        "model's window (256 word pieces) with room for the document's title, which `embed` "
        "puts before each chunk; a larger size is an error when the `embed` step reading "
        "these chunks uses a model with a known, smaller window.",
    )
    # Defaults are validated too: `size: 20` alone must meet the default overlap.
    overlap: int = Field(
        DEFAULT_OVERLAP,
        ge=0,
        validate_default=True,
        description="How much consecutive chunks share, in `unit`s.",
    )
    unit: Literal["tokens", "chars"] = Field(
        "tokens",
        validate_default=True,
        description="tokens of the local embedding model's tokenizer, or characters.",
    )

    # Field validators rather than one model validator: each problem is then
    # reported at the key that has it (`overlap:`, `unit:`), not at `with:`.
    @field_validator("overlap")
    @classmethod
    def _overlap_below_size(cls, overlap: int, info: ValidationInfo) -> int:
        size = info.data.get("size")
        if isinstance(size, int) and overlap >= size:
            raise ValueError(
                f"overlap ({overlap}) must be smaller than size ({size}); "
                "lower overlap or raise size"
            )
        return overlap

    @field_validator("unit")
    @classmethod
    def _unit_counts_what_the_strategy_counts(cls, unit: str, info: ValidationInfo) -> str:
        if info.data.get("strategy") == "tokens" and unit == "chars":
            raise ValueError(
                "strategy tokens counts tokens: use unit: tokens, or strategy recursive"
            )
        return unit


def chunk_id(document_id: str, text: str, occurrence: int = 0) -> str:
    """Stable id; `occurrence` tells apart identical texts within one document."""
    key = f"{document_id}\0{text}" if occurrence == 0 else f"{document_id}\0{occurrence}\0{text}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@step("chunk", config=ChunkConfig, version="2", partition="documents")
def chunk(config: ChunkConfig, ctx: StepContext) -> list[Chunk]:
    """Split each document with the chosen strategy; ids from document id + chunk text."""
    count = make_token_counter() if config.unit == "tokens" else char_counter()
    offsets = token_offsets if config.unit == "tokens" else char_offsets
    chunks: list[Chunk] = []
    for doc in config.documents:
        if config.strategy == "markdown":
            pieces = split_markdown(doc.text, config.size, config.overlap, count, offsets)
        elif config.strategy == "tokens":
            pieces = [([], t) for t in split_tokens(doc.text, config.size, config.overlap, count)]
        else:
            pieces = [
                ([], t)
                for t in split_recursive(doc.text, config.size, config.overlap, count, offsets)
            ]
        seen: dict[str, int] = {}
        for index, (headings, text) in enumerate(pieces):
            occurrence = seen.get(text, 0)
            seen[text] = occurrence + 1
            metadata = dict(doc.metadata)
            if headings:
                metadata["headings"] = headings
            chunks.append(
                Chunk(
                    id=chunk_id(doc.id, text, occurrence),
                    document_id=doc.id,
                    text=text,
                    index=index,
                    source=doc.source,
                    title=doc.title,
                    metadata=metadata,
                )
            )
    ctx.metrics.update(documents=len(config.documents), chunks=len(chunks))
    return chunks
