"""Step fingerprints: what a step's result depends on, as one hash.

type + version + resolved config + the fingerprints of the steps it reads. The
Prefect cache policy keys on it, so an unchanged step is skipped and a failed
run resumes at the step that failed.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from typing import Any

from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=_default, separators=(",", ":")).encode()


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(canonical(part))
        h.update(b"\x00")
    return h.hexdigest()


def content_digest(value: Any) -> str:
    """Fingerprint of a value a non-cacheable step produced (its content is all we know)."""
    try:
        return digest(value)
    except (TypeError, ValueError):
        return hashlib.sha256(pickle.dumps(value, protocol=5)).hexdigest()
