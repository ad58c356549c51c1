"""Store answers in the response cache after the caller has them, not before.

A cache store (a SQLite commit on disk, a round trip to Redis) used to sit on
the path of every uncached call. One writer thread per model service does it
instead; until the write has landed, the answer is served from memory, so a
repeat right after the first call is still a hit. The writer is a
`concurrent.futures` thread, which the interpreter joins at exit, so a run's
last answers reach the cache before the process ends (another worker sharing
a Redis cache sees them).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class CacheWriter:
    """Reads through to a LiteLLM `Cache`; writes to it in the background."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self._pending: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ragline-cache-write")
        self._last: Future[None] | None = None

    def get(self, key: str) -> Any:
        with self._lock:
            if key in self._pending:
                return self._pending[key]
        return self.cache.get_cache(cache_key=key)

    def add(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._pending[key] = value
            self._last = self._pool.submit(self._write, key, value)

    def _write(self, key: str, value: dict[str, Any]) -> None:
        try:
            self.cache.add_cache(value, cache_key=key)
        finally:
            with self._lock:
                if self._pending.get(key) is value:
                    del self._pending[key]

    def flush(self) -> None:
        """Wait until every answer stored so far is in the cache."""
        with self._lock:
            last = self._last
        if last is not None:
            last.result()

    def close(self) -> None:
        """Flush, then stop the writer thread (a run's service is done with it)."""
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)
