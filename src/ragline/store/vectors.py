"""Content-addressed embedding cache: a chunk's vector is computed once per model.

Keyed by what the alias routes to (never the alias name alone: pointing
`embedder` at another model must not reuse old vectors) and by the SHA-256 of
the text, so an edited file re-embeds only the chunks whose text changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.spec.model import Workflow


def model_identity(workflow: Workflow, alias: str) -> str:
    """The models behind `alias` (name, api_base; never keys), as a short stable digest."""
    public = [
        {k: v for k, v in d.model_dump(exclude_none=True).items() if k in ("model", "api_base")}
        for d in workflow.models.get(alias, [])
    ]
    digest = hashlib.sha256(json.dumps(public, sort_keys=True).encode()).hexdigest()[:16]
    return digest


def model_name(workflow: Workflow, alias: str) -> str:
    """What an alias embeds with, recorded on the table so `retrieve` can embed queries alike."""
    names = sorted({d.model for d in workflow.models.get(alias, [])})
    return ",".join(names) or alias


class EmbeddingCache:
    """Vectors on disk (diskcache: SQLite + files, safe across processes)."""

    def __init__(self, folder: Path) -> None:
        import diskcache  # type: ignore[import-untyped]

        folder.mkdir(parents=True, exist_ok=True)
        self._cache: Any = diskcache.Cache(str(folder), size_limit=2**34)

    @staticmethod
    def key(model: str, text: str) -> str:
        return f"{model}:{hashlib.sha256(text.encode()).hexdigest()}"

    def get_many(self, keys: Sequence[str]) -> list[Any | None]:
        return [self._cache.get(k) for k in keys]

    def set_many(self, items: Sequence[tuple[str, Any]]) -> None:
        with self._cache.transact():
            for key, vector in items:
                self._cache.set(key, vector)

    def close(self) -> None:
        self._cache.close()
