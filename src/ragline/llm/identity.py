"""What stands behind a model alias, as one digest: the single answer to "is it the same model?".

Every cache that holds what a model produced keys on it: a step's Prefect cache
key (for every config field that names a model alias, in any step type), the
response cache and the embedding-vector cache. Pointing `embedder` at another
deployment therefore re-runs `embed`, misses both caches and re-indexes.

The identity is each deployment's full config (model, api_base, api_version,
params, max_input_tokens, and any key added later, such as a backend), for
the alias and every alias its fallbacks lead to. Left out: the key (a secret)
and the knobs that shape traffic but not answers (rpm, tpm, weight, timeout).
Plain data, no LiteLLM: `ragline validate` and the compiler may use it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.spec.model import Workflow

NOT_IDENTITY = frozenset({"api_key", "rpm", "tpm", "weight", "timeout"})
# Values that mean the same as leaving the key out (the default torch backend).
DEFAULTS = {"backend": "torch"}


def reachable_aliases(workflow: Workflow, alias: str) -> list[str]:
    """The alias and every alias its fallbacks can lead to, in the order they are tried."""
    fallbacks = workflow.routing.fallbacks
    seen: list[str] = []
    todo = [alias]
    while todo:
        a = todo.pop(0)
        if a not in seen:
            seen.append(a)
            todo.extend(fallbacks.get(a, []))
    return seen


def alias_config(workflow: Workflow, alias: str) -> dict[str, list[dict[str, Any]]]:
    """alias -> its deployments' configs, for the alias and its fallbacks (no keys)."""
    return {
        a: [
            {
                k: v
                for k, v in d.model_dump(
                    mode="json", exclude_none=True, exclude=set(NOT_IDENTITY)
                ).items()
                if DEFAULTS.get(k) != v
            }
            for d in workflow.models.get(a, [])
        ]
        for a in reachable_aliases(workflow, alias)
    }


def alias_identity(workflow: Workflow, alias: str) -> str:
    """A short stable digest of `alias_config` (16 hex digits)."""
    text = json.dumps(alias_config(workflow, alias), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
