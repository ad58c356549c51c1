"""Exactly-once writes to one table from many processes and machines: stage, then commit.

A partitioned `index` writes in two phases. Each partition, wherever it runs,
diffs its slice's chunk ids against the table's committed version (read from
the shared storage) and writes only the new rows as Lance data files
(`write_fragments`): nothing is committed, and what goes back to the driver is
the fragments' metadata and their ids, not the vectors. One commit task then
adds every partition's fragments to the table in ONE transaction.

The commit reads the latest version, drops the rows whose ids it already holds
(a concurrent run, or an earlier attempt of this commit, committed them), and
commits with `read_version` as a `Merge` of the full fragment list: Lance
refuses it if any other transaction (an append, a delete, another commit like
this one) landed since that read, and the commit then starts over from the new
version. So there are never two rows with one id, without a lock, on a local
folder, a shared one or an object store alike. A retried partition writes new
files and only the attempt whose result the commit receives is committed; the
files of the failed attempts are never referenced and go with Lance's cleanup of
unreferenced files (`optimize` / `cleanup_old_versions`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.documents import Chunk
from ragline.errors import ErrorCategory, StepError

if TYPE_CHECKING:
    from ragline.store.table import ChunkTable, IndexReport

COMMIT_ATTEMPTS = 50


@dataclass
class Staged:
    """One partition's share of a write: fragments written, not committed."""

    fragments: list[str] = field(default_factory=list)  # FragmentMetadata as JSON
    ids: list[list[str]] = field(default_factory=list)  # each fragment's ids, in row order
    incoming: list[str] = field(default_factory=list)  # every id of the slice
    documents: list[str] = field(default_factory=list)
    dim: int = 0
    read_version: int | None = None

    @property
    def rows(self) -> int:
        return sum(len(ids) for ids in self.ids)


def dataset_uri(table: ChunkTable) -> str:
    return f"{table.uri.rstrip('/')}/{table.name}.lance"


def _dataset(table: ChunkTable) -> Any | None:
    import lance

    try:
        return lance.dataset(dataset_uri(table), storage_options=table.storage_options or None)
    except (FileNotFoundError, ValueError):
        return None


def _ids(ds: Any) -> dict[str, str]:
    ids = ds.to_table(columns=["id", "document_id"])
    return dict(
        zip(ids.column("id").to_pylist(), ids.column("document_id").to_pylist(), strict=True)
    )


def check_vectors(chunks: Sequence[Chunk]) -> None:
    missing = [c.id for c in chunks if c.vector is None]
    if missing:
        raise StepError(
            f"{len(missing)} chunk(s) have no vector (first: {missing[0]}): "
            "pass the output of an `embed` step to `index`",
            category=ErrorCategory.INPUT,
        )


def stage(table: ChunkTable, chunks: Sequence[Chunk], *, model: str, alias: str) -> Staged:
    """Write the rows of `chunks` the committed table lacks as uncommitted fragments."""
    from lance.fragment import write_fragments

    check_vectors(chunks)
    ds = _dataset(table)
    existing = _ids(ds) if ds is not None else {}
    incoming: dict[str, Chunk] = {}
    for c in chunks:
        incoming.setdefault(c.id, c)
    staged = Staged(
        incoming=list(incoming),
        documents=sorted({c.document_id for c in chunks}),
        read_version=ds.version if ds is not None else None,
    )
    new = [c for cid, c in incoming.items() if cid not in existing]
    if not new:
        return staged
    staged.dim = len(new[0].vector or [])
    schema = ds.schema if ds is not None else table._schema(staged.dim, model, alias)
    if ds is not None:
        table._check_dim(ds, staged.dim, model)
    data = table._arrow(new, schema)
    fragments = write_fragments(
        data, dataset_uri(table), schema=schema, storage_options=table.storage_options or None
    )
    start = 0
    for meta in fragments:
        rows = int(meta.physical_rows)
        staged.fragments.append(json.dumps(meta.to_json()))
        staged.ids.append([c.id for c in new[start : start + rows]])
        start += rows
    return staged


def _create(table: ChunkTable, dim: int, model: str, alias: str) -> None:
    """The empty table, created once even when several commits race to create it."""
    if _dataset(table) is not None:
        return
    try:
        table.db.create_table(table.name, schema=table._schema(dim, model, alias), exist_ok=True)
    except Exception:
        if _dataset(table) is None:  # not a lost race: a real failure
            raise


def _without(table: ChunkTable, meta: Any, drop: set[str]) -> tuple[Any, list[str]] | None:
    """A staged fragment rewritten without the rows whose ids are in `drop`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from lance.file import LanceFileReader
    from lance.fragment import write_fragments

    base = dataset_uri(table)
    parts = [
        LanceFileReader(f"{base}/data/{f.path}", storage_options=table.storage_options or None)
        .read_all()
        .to_table()
        for f in meta.files
    ]
    data = pa.concat_tables(parts)
    data = data.filter(pc.invert(pc.is_in(data.column("id"), pa.array(sorted(drop)))))
    if data.num_rows == 0:
        return None
    ds = _dataset(table)
    assert ds is not None
    (fresh,) = write_fragments(
        data.cast(ds.schema),
        base,
        schema=ds.schema,
        storage_options=table.storage_options or None,
        max_rows_per_file=max(1, data.num_rows),
    )
    return fresh, data.column("id").to_pylist()


def commit(
    table: ChunkTable,
    staged: Sequence[Staged],
    *,
    model: str,
    alias: str,
    sync: bool = False,
    vector_index_threshold: int = 100_000,
) -> IndexReport:
    """Add every staged fragment in one transaction, then delete the stale rows, then index."""
    import lance
    from lance import LanceOperation
    from lance.fragment import FragmentMetadata
    from lance.schema import LanceSchema

    from ragline.store.table import IndexReport

    incoming = {cid for s in staged for cid in s.incoming}
    documents = {d for s in staged for d in s.documents}
    pending = [
        (FragmentMetadata.from_json(js), ids)
        for s in staged
        for js, ids in zip(s.fragments, s.ids, strict=True)
    ]
    added = 0
    if pending:
        dim = next(s.dim for s in staged if s.fragments)
        _create(table, dim, model, alias)
        for _ in range(COMMIT_ATTEMPTS):
            ds = _dataset(table)
            assert ds is not None
            seen = set(_ids(ds))
            keep: list[Any] = []
            rows = 0
            for meta, ids in pending:
                dup = {i for i in ids if i in seen}
                if len(set(ids)) != len(ids) or dup:
                    redone = _without(table, meta, dup) if len(dup) < len(ids) else None
                    if redone is None:
                        continue
                    meta, ids = redone
                keep.append(meta)
                seen.update(ids)
                rows += len(ids)
            if not keep:
                break
            fragments = [f.metadata for f in ds.get_fragments()] + keep
            try:
                lance.LanceDataset.commit(
                    dataset_uri(table),
                    LanceOperation.Merge(fragments, LanceSchema.from_pyarrow(ds.schema)),
                    read_version=ds.version,
                    storage_options=table.storage_options or None,
                    max_retries=0,
                )
            except Exception as exc:
                if not _conflict(exc):
                    raise
                continue  # another writer committed since our read: diff again
            added = rows
            break
        else:
            raise StepError(
                f"store '{table.alias}': the commit lost to concurrent writers "
                f"{COMMIT_ATTEMPTS} times in a row",
                category=ErrorCategory.INFRASTRUCTURE,
                retryable=True,
            )
    table._table = None  # reopen at the new version
    existing = table.existing_ids()
    stale = [
        cid for cid, doc in existing.items() if cid not in incoming and (sync or doc in documents)
    ]
    handle = table.table()
    if stale and handle is not None:
        for start in range(0, len(stale), 1000):
            quoted = ", ".join(
                "'" + s.replace("'", "''") + "'" for s in stale[start : start + 1000]
            )
            handle.delete(f"id IN ({quoted})")
    changed = bool(added or stale) or (handle is not None and not table._has_index("text"))
    fts, vector_index = _indexes(table, vector_index_threshold) if changed else (False, False)
    return IndexReport(
        rows=table.count(),
        added=added,
        deleted=len(stale),
        unchanged=len(incoming) - added,
        fts_rebuilt=fts,
        vector_index=vector_index or table._has_index("vector"),
    )


def _conflict(exc: BaseException) -> bool:
    """Lance refused a transaction because another landed first: retry on the new version."""
    return "onflict" in type(exc).__name__ or "preempted by concurrent" in str(exc)


def _indexes(table: ChunkTable, vector_index_threshold: int) -> tuple[bool, bool]:
    """Build or refresh the indexes once; a concurrent run building them too is no error."""
    import random
    import time

    for attempt in range(COMMIT_ATTEMPTS):
        table._table = None
        try:
            return table._refresh_indexes(vector_index_threshold)
        except Exception as exc:
            if not _conflict(exc) or attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.05, 0.3))
    raise AssertionError("unreachable")
