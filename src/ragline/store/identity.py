"""Which model and backend made a table's vectors, and refusing to mix them.

A table records, in its schema metadata, the embedding identity of the alias
that indexed it: the model name, and for a local model the backend after `@`
(`local/all-MiniLM-L6-v2@onnx-int8`). Vectors of two backends of one model
have the same dimension but are not the same vectors (int8 weights move them
by a cosine of about 0.005), so mixing them in one table would quietly skew
every ranking: writing or querying a table with another identity is an error
that names both. Tables written before backends existed record the bare local
model name; that is the torch backend they were made with. What an alias
stands for is `ragline.llm.identity.alias_models`; this module compares records.
"""

from __future__ import annotations

from ragline.errors import ErrorCategory, StepError
from ragline.llm.identity import DEFAULT_LOCAL_BACKEND


def normalised(identity: str) -> str:
    """Each model of a recorded identity with its backend spelled out."""
    parts = []
    for name in identity.split(","):
        name = name.strip()
        if name.startswith("local/") and "@" not in name:
            name = f"{name}@{DEFAULT_LOCAL_BACKEND}"
        parts.append(name)
    return ",".join(sorted(parts))


def same_embedding(recorded: str | None, current: str | None) -> bool:
    """Whether vectors recorded as `recorded` and made by `current` can be compared."""
    if not recorded or not current:
        return True  # nothing recorded (an old or foreign table): nothing to compare
    return normalised(recorded) == normalised(current)


def _fix(store: str, recorded: str, alias: str) -> str:
    model, _, backend = normalised(recorded).partition("@")
    if backend and "," not in recorded:
        match = f"point `{alias}` at {model} with `backend: {backend}`"
    else:
        match = f"point `{alias}` at {recorded}"
    return (
        f"{match} to use this table, or re-embed: index into another table, or delete "
        f"the table of store '{store}' and run the ingestion again"
    )


def check_index(store: str, recorded: str | None, current: str, alias: str) -> None:
    """Refuse to add vectors of another model or backend to a table."""
    if same_embedding(recorded, current):
        return
    raise StepError(
        f"index: store '{store}' holds vectors made by {normalised(recorded or '')}; these chunks "
        f"were embedded by {normalised(current)} (alias '{alias}'), and vectors of different "
        f"models or backends do not compare. To fix: {_fix(store, recorded or '', alias)}; "
        "or set `on_model_change: rebuild` on this index step to replace the table's "
        "contents with these chunks",
        category=ErrorCategory.INPUT,
    )


def check_query(store: str, recorded: str | None, current: str, alias: str) -> None:
    """Refuse to search a table with a query vector of another model or backend."""
    if same_embedding(recorded, current):
        return
    raise StepError(
        f"retrieve: store '{store}' was indexed with {normalised(recorded or '')}, but the "
        f"query would be embedded by {normalised(current)} (alias '{alias}'); vectors of "
        f"different models or backends do not compare. To fix: "
        f"{_fix(store, recorded or '', alias)}",
        category=ErrorCategory.INPUT,
    )
