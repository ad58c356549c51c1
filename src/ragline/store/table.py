"""One LanceDB table of chunks: schema, idempotent writes under a lock, indexes, search.

Chunk ids derive from content, so the table can be brought in line with a
corpus by set difference: insert the ids it lacks, delete the ids no document
still produces. Nothing is rewritten when nothing changed, which keeps a
nightly re-ingest free and the table's version history meaningful.

LanceDB's concurrent `merge_insert` can duplicate rows, so every write to a
table runs under an inter-process file lock; the diff is computed inside the
lock, and inserts are keyed on `id` so a run killed after its insert and
re-run inserts nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragline.documents import Chunk
from ragline.errors import ConfigError, ErrorCategory, StepError

MODEL_KEY = b"ragline.embedding_model"
ALIAS_KEY = b"ragline.embedding_alias"
IDENTITY_KEY = b"ragline.embedding_identity"
COLUMNS = [
    "id",
    "document_id",
    "text",
    "source",
    "title",
    "format",
    "chunk_index",
    "headings",
    "metadata",
]
# The full-text index reads this column: the document's own title, then the chunk's
# text (store/fields.py). Tables written before it existed are searched on `text`.
SEARCH_COLUMN = "search_text"
WRITE_BATCH = 50_000
ANN_EF = 100
# LanceDB's tokenizer options; the store's `fulltext:` overrides them.
FULLTEXT_DEFAULTS: dict[str, Any] = {
    "language": "English",
    "stem": True,
    "remove_stop_words": True,
    "ascii_folding": True,
    "lower_case": True,
}


@dataclass
class IndexReport:
    """What one `write` changed."""

    rows: int
    added: int
    deleted: int
    unchanged: int
    fts_rebuilt: bool
    vector_index: bool


def _is_remote(uri: str) -> bool:
    return "://" in uri


class ChunkTable:
    """A store alias's table; opened lazily, created on the first write."""

    def __init__(
        self,
        uri: str,
        name: str,
        *,
        alias: str = "",
        storage_options: dict[str, str] | None = None,
        lock_dir: Path | None = None,
        fulltext: dict[str, Any] | None = None,
    ) -> None:
        from ragline.store.lazy_imports import defer_namespace_rest_client

        defer_namespace_rest_client()  # before lancedb's import: seconds saved per step
        import lancedb

        self.fulltext = {**FULLTEXT_DEFAULTS, **(fulltext or {})}

        self.uri = uri
        self.name = name
        self.alias = alias or name
        self.storage_options = dict(storage_options or {})
        self.db = lancedb.connect(uri, storage_options=storage_options or None)
        if _is_remote(uri):
            # Object stores have no file locks: serialise this machine's writers.
            digest = hashlib.sha256(f"{uri}/{name}".encode()).hexdigest()[:16]
            base = lock_dir or Path.home() / ".ragline" / "locks"
            self.lock_path = base / f"{digest}.lock"
        else:
            self.lock_path = Path(uri) / f"{name}.lock"
        self._table: Any = None

    # -- opening -----------------------------------------------------------------
    def table(self) -> Any | None:
        """The LanceDB table, or None when nothing was ever indexed into it."""
        if self._table is None:
            try:
                self._table = self.db.open_table(self.name)
            except (FileNotFoundError, ValueError):
                return None
        return self._table

    def require(self) -> Any:
        table = self.table()
        if table is None:
            raise StepError(
                f"store '{self.alias}' has no table '{self.name}' at {self.uri}: "
                "run an ingestion (ingest -> chunk -> embed -> index) into it first",
                category=ErrorCategory.INPUT,
            )
        return table

    def metadata(self) -> dict[str, str]:
        table = self.table()
        if table is None:
            return {}
        raw = table.schema.metadata or {}
        return {k.decode(): v.decode() for k, v in raw.items()}

    @property
    def embedding_model(self) -> str | None:
        return self.metadata().get(MODEL_KEY.decode())

    @property
    def embedding_alias(self) -> str | None:
        return self.metadata().get(ALIAS_KEY.decode())

    def count(self) -> int:
        table = self.table()
        return 0 if table is None else int(table.count_rows())

    @contextmanager
    def write_lock(self, timeout: float = 600) -> Iterator[None]:
        from filelock import FileLock

        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.lock_path), timeout=timeout):
            yield

    # -- writing -----------------------------------------------------------------
    def _schema(self, dim: int, model: str, alias: str, identity: str = "") -> Any:
        import pyarrow as pa

        fields = [pa.field(c, pa.string()) for c in COLUMNS if c != "chunk_index"]
        fields.insert(COLUMNS.index("chunk_index"), pa.field("chunk_index", pa.int32()))
        fields.append(pa.field(SEARCH_COLUMN, pa.string()))
        fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
        metadata = {MODEL_KEY: model.encode(), ALIAS_KEY: alias.encode()}
        if identity:
            metadata[IDENTITY_KEY] = identity.encode()
        return pa.schema(fields, metadata=metadata)

    def _embedded_by_another_model(self, model: str, identity: str) -> bool:
        """The table's vectors come from another model than these chunks' (see llm.identity)."""
        stored = self.metadata()
        if not stored:
            return False
        if identity and IDENTITY_KEY.decode() in stored:
            return stored[IDENTITY_KEY.decode()] != identity
        return bool(model) and stored.get(MODEL_KEY.decode()) != model

    def _arrow(self, chunks: Sequence[Chunk], schema: Any, *, include_title: bool = True) -> Any:
        import numpy as np
        import pyarrow as pa

        from ragline.store.fields import searchable_text

        dim = schema.field("vector").type.list_size
        vectors = np.asarray([c.vector for c in chunks], dtype=np.float32).reshape(-1, dim)
        columns = {
            "id": [c.id for c in chunks],
            "document_id": [c.document_id for c in chunks],
            "text": [c.text for c in chunks],
            "source": [c.source for c in chunks],
            "title": [c.title or "" for c in chunks],
            "format": [str(c.metadata.get("format", "")) for c in chunks],
            "chunk_index": [c.index for c in chunks],
            "headings": [" > ".join(c.metadata.get("headings", []) or []) for c in chunks],
            "metadata": [json.dumps(c.metadata, sort_keys=True, default=str) for c in chunks],
            SEARCH_COLUMN: [searchable_text(c, title=include_title) for c in chunks],
        }
        names = [n for n in schema.names if n != "vector"]
        arrays = [pa.array(columns[c], type=schema.field(c).type) for c in names]
        arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim))
        return pa.Table.from_arrays(arrays, schema=schema)

    def existing_ids(self) -> dict[str, str]:
        """id -> document_id of every stored row (two narrow columns, no vectors)."""
        table = self.table()
        if table is None:
            return {}
        ids = table.search().select(["id", "document_id"]).limit(None).to_arrow()
        return dict(
            zip(ids.column("id").to_pylist(), ids.column("document_id").to_pylist(), strict=True)
        )

    def write(
        self,
        chunks: Sequence[Chunk],
        *,
        model: str,
        alias: str,
        identity: str = "",
        sync: bool = False,
        vector_index_threshold: int = 100_000,
        include_title: bool = True,
    ) -> IndexReport:
        """Insert the chunks the table lacks; delete the stale ones; keep indexes current.

        A table embedded by another model (the alias now points elsewhere) is
        rebuilt from these chunks: its vectors cannot be searched with the new
        model's queries, whatever their ids say.
        """
        missing = [c.id for c in chunks if c.vector is None]
        if missing:
            raise StepError(
                f"{len(missing)} chunk(s) have no vector (first: {missing[0]}): "
                "pass the output of an `embed` step to `index`",
                category=ErrorCategory.INPUT,
            )
        with self.write_lock():
            self._table = None  # another process may have created or changed it
            replaced = 0
            if self._embedded_by_another_model(model, identity):
                replaced = self.count()
                self.db.drop_table(self.name)
                self._table = None
            existing = self.existing_ids()
            incoming = {c.id: c for c in chunks}
            documents = {c.document_id for c in chunks}
            new = [c for cid, c in incoming.items() if cid not in existing]
            stale = [
                cid
                for cid, doc in existing.items()
                if cid not in incoming and (sync or doc in documents)
            ]
            table = self.table()
            if new:
                dim = len(new[0].vector or [])
                if table is None:
                    schema = self._schema(dim, model, alias, identity)
                    table = self.db.create_table(self.name, schema=schema, exist_ok=True)
                    self._table = table
                self._check_dim(table, dim, model)
                for start in range(0, len(new), WRITE_BATCH):
                    batch = self._arrow(
                        new[start : start + WRITE_BATCH], table.schema, include_title=include_title
                    )
                    (table.merge_insert("id").when_not_matched_insert_all().execute(batch))
            if stale and table is not None:
                for start in range(0, len(stale), 1000):
                    quoted = ", ".join(
                        "'" + s.replace("'", "''") + "'" for s in stale[start : start + 1000]
                    )
                    table.delete(f"id IN ({quoted})")
            changed = bool(new or stale) or (table is not None and not self._fulltext_current())
            fts, vector_index = (
                self._refresh_indexes(vector_index_threshold) if changed else (False, False)
            )
            return IndexReport(
                rows=self.count(),
                added=len(new),
                deleted=len(stale) + replaced,
                unchanged=len(incoming) - len(new),
                fts_rebuilt=fts,
                vector_index=vector_index or self._has_index("vector"),
            )

    def _check_dim(self, table: Any, dim: int, model: str) -> None:
        stored = table.schema.field("vector").type.list_size
        if stored != dim:
            raise ConfigError(
                f"store '{self.alias}' holds {stored}-dimensional vectors "
                f"(model {self.embedding_model}); these chunks have {dim} (model {model}). "
                f"Index them into another table, or delete {self.uri}/{self.name}.lance "
                "to start over"
            )

    def _has_index(self, column: str) -> bool:
        table = self.table()
        if table is None:
            return False
        return any(column in ix.columns for ix in table.list_indices())

    def fulltext_column(self) -> str:
        """`search_text` (title + text), or `text` in a table written before it existed."""
        table = self.table()
        return SEARCH_COLUMN if table is None or SEARCH_COLUMN in table.schema.names else "text"

    def _fulltext_index_name(self) -> str:
        options = json.dumps(self.fulltext, sort_keys=True)
        return f"{self.fulltext_column()}_fts_{hashlib.sha256(options.encode()).hexdigest()[:8]}"

    def _fulltext_current(self) -> bool:
        table = self.table()
        if table is None:
            return True
        return any(ix.name == self._fulltext_index_name() for ix in table.list_indices())

    def _refresh_indexes(self, vector_index_threshold: int) -> tuple[bool, bool]:
        """Full-text index (built anew when its options change); a vector index once big."""
        table = self.require()
        fts_created = False
        if not self._fulltext_current():
            from lancedb.index import FTS

            column = self.fulltext_column()
            for old in table.list_indices():
                if column in old.columns and old.index_type == "FTS":
                    table.drop_index(old.name)
            config = FTS(with_position=False, **self.fulltext)
            table.create_index(column, config=config, name=self._fulltext_index_name())
            fts_created = True
        vector_created = False
        if not self._has_index("vector") and table.count_rows() >= vector_index_threshold:
            from lancedb.index import HnswSq

            table.create_index("vector", config=HnswSq(distance_type="cosine"))
            vector_created = True
        if not (fts_created and vector_created):
            table.optimize()  # folds new rows into the existing indexes
        return fts_created, vector_created

    # -- searching ---------------------------------------------------------------
    def search_vector(
        self, vector: Sequence[float], k: int, where: str | None
    ) -> list[dict[str, Any]]:
        query = self.require().search(list(vector), vector_column_name="vector")
        # HNSW candidates examined (ignored without an index): at LanceDB's default, recall@10
        # against brute force was 0.975 on SciFact chunks; at 100 it was 0.991 (0.995 on MS
        # MARCO) for about 3 ms a query (docs/retrieval-quality.md).
        query = query.distance_type("cosine").ef(max(ANN_EF, 2 * k))
        if where:
            query = query.where(where, prefilter=True)
        rows: list[dict[str, Any]] = query.select([*COLUMNS, "_distance"]).limit(k).to_list()
        for row in rows:
            row["score"] = 1.0 - float(row.pop("_distance"))
        return rows

    def search_text(self, text: str, k: int, where: str | None) -> list[dict[str, Any]]:
        query = self.require().search(text, query_type="fts", fts_columns=self.fulltext_column())
        if where:
            query = query.where(where, prefilter=True)
        rows: list[dict[str, Any]] = query.select([*COLUMNS, "_score"]).limit(k).to_list()
        for row in rows:
            row["score"] = float(row.pop("_score"))
        return rows


def open_chunk_table(
    uri: str,
    name: str,
    *,
    alias: str = "",
    storage_options: dict[str, str] | None = None,
    lock_dir: Path | None = None,
    fulltext: dict[str, Any] | None = None,
) -> ChunkTable:
    return ChunkTable(
        uri,
        name,
        alias=alias,
        storage_options=storage_options,
        lock_dir=lock_dir,
        fulltext=fulltext,
    )
