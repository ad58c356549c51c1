"""The tables of a run: one `ChunkTable` per store alias, opened once and shared by its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext
    from ragline.store.table import ChunkTable


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
