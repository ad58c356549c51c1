"""Retrieved chunks as template values, each with a source id the answer can cite.

A template sees each context as a mapping: `id` (the citation, e.g.
`guide.md#2`), `text`, `source`, `title`, `score`, `rank`. The default
rendering, `{{ contexts | cite }}`, writes one `[id] text` block per context:
the convention the local extractive model reads back.

A citation is `<file name>#<chunk index>`; a record of a json/jsonl/csv file
adds its key (its `id_field`, else its position in the file):
`faq.jsonl:q-17#0`, so two records of one file never cite alike, whatever
their rank. `CITATION` matches both forms (and `~n`, which marks the rare
second context with one id).
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

CITATION = re.compile(
    r"\[(?P<source>[^\]#:\s]+)(?::(?P<record>[^\]#\s]+))?#(?P<chunk>\d+)(?:~\d+)?\]"
)
_NOT_IN_KEY = re.compile(r"[\s\[\]#]+")


def citation_id(item: dict[str, Any]) -> str:
    source = str(item.get("source") or item.get("document_id") or item.get("id") or "context")
    name = PurePath(source).name if "/" in source or "\\" in source else source
    document = str(item.get("document_id") or item.get("id") or "")
    if item.get("source") and document.startswith(f"{source}#"):
        # A record: the ingest step made its document id `<path>#<record key>`.
        key = _NOT_IN_KEY.sub("_", document[len(source) + 1 :]).strip("_")
        if key:
            name = f"{name}:{key}"
    index = item.get("index")
    return f"{name}#{index}" if index is not None else name


def as_context(item: Any, position: int) -> dict[str, Any]:
    """One context as a plain mapping; plain strings become contexts too."""
    if isinstance(item, BaseModel):
        data = item.model_dump(exclude={"vector"})
    elif isinstance(item, dict):
        data = {k: v for k, v in item.items() if k != "vector"}
    else:
        data = {"text": str(item), "id": f"context-{position + 1}"}
    data.setdefault("text", "")
    data.setdefault("score", 0.0)
    data.setdefault("rank", position + 1)
    data["chunk_id"] = data.get("id")
    data["id"] = (
        citation_id(data) if ("source" in data or "document_id" in data) else str(data.get("id"))
    )
    return data


def as_contexts(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        items = [items]
    contexts = [as_context(item, i) for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    for c in contexts:  # two chunks with one citation id would be ambiguous
        n = seen.get(c["id"], 0)
        seen[c["id"]] = n + 1
        if n:
            c["id"] = f"{c['id']}~{n + 1}"
    return contexts


def cite(contexts: Any) -> str:
    """Jinja filter: `[id] text` blocks separated by blank lines."""
    items = contexts if isinstance(contexts, list) else [contexts]
    blocks = []
    for i, c in enumerate(items):
        ctx = c if isinstance(c, dict) else as_context(c, i)
        text = " ".join(str(ctx.get("text", "")).split())
        blocks.append(f"[{ctx['id']}] {text}")
    return "\n\n".join(blocks)
