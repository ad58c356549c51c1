"""LanceDB access for ragline: one table per store alias, idempotent writes, search.

Steps never talk to LanceDB directly; they open a `ChunkTable`, which owns the
table's schema, its write lock and its indexes.
"""

from ragline.store.filters import where_sql
from ragline.store.table import ChunkTable, IndexReport, open_chunk_table

__all__ = ["ChunkTable", "IndexReport", "open_chunk_table", "where_sql"]
