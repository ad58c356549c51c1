"""Content-addressed embedding cache: a chunk's vector is computed once per model.

Keyed by what the alias routes to (`ragline.llm.identity.alias_identity`, never
the alias name alone: pointing `embedder` at another model must not reuse old
vectors) and by the SHA-256 of the text, so an edited file re-embeds only the
chunks whose text changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragline.spec.model import Workflow


class EmbeddingCache:
    """Vectors in one SQLite file (WAL: safe across processes), read and written in batches.

    A plain keyed table rather than a general-purpose cache library: looking up
    5,000 chunks is a handful of `IN (...)` queries (milliseconds), and storing a
    batch is one transaction, so a warm re-ingest costs next to nothing.
    """

    BATCH = 900  # below SQLite's bound-parameter limit on every build

    def __init__(self, folder: Path) -> None:
        import sqlite3

        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(folder / "vectors.sqlite"), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self._db.commit()

    @staticmethod
    def key(model: str, text: str) -> str:
        return f"{model}:{hashlib.sha256(text.encode()).hexdigest()}"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The stored vector (float32 bytes) of each key, None where there is none."""
        found: dict[str, bytes] = {}
        distinct = list(dict.fromkeys(keys))
        for start in range(0, len(distinct), self.BATCH):
            batch = distinct[start : start + self.BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch
            )
            found.update(rows)
        return [found.get(k) for k in keys]

    def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", items)

    def close(self) -> None:
        self._db.close()


class RedisEmbeddingCache:
    """The same cache in the workflow's Redis (`cache: {type: redis}`): one for every worker.

    A run spread over processes and machines embeds each text once, whichever
    worker gets it: a worker's local SQLite file would be cold on every other
    worker and on the next machine. Keys `<namespace>:vectors:<model>:<sha256>`,
    values the float32 bytes; lookups are MGETs, stores a pipeline of SET NX.
    """

    BATCH = 1000

    def __init__(self, url: str, namespace: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=30)
        self._prefix = f"{namespace}:vectors:"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: list[bytes | None] = []
        for start in range(0, len(keys), self.BATCH):
            batch = [self._prefix + k for k in keys[start : start + self.BATCH]]
            found.extend(v if isinstance(v, bytes) else None for v in self._client.mget(batch))
        return found

    def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        for start in range(0, len(items), self.BATCH):
            pipe = self._client.pipeline(transaction=False)
            for key, vector in items[start : start + self.BATCH]:
                pipe.set(self._prefix + key, vector, nx=True)
            pipe.execute()

    def close(self) -> None:
        self._client.close()


def open_embedding_cache(
    workflow: Workflow, state_dir: Path
) -> EmbeddingCache | RedisEmbeddingCache:
    """Redis when the workflow's cache is Redis (shared by all workers), else the local file."""
    if workflow.cache.type == "redis":
        from ragline.llm.cache import DEFAULT_NAMESPACE, redis_url

        return RedisEmbeddingCache(
            redis_url(workflow.cache), workflow.cache.namespace or DEFAULT_NAMESPACE
        )
    return EmbeddingCache(state_dir / "embeddings")
