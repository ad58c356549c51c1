"""What stands behind a model alias: the single answer to "is it the same model?".

Every cache that holds what a model produced keys on it: a step's Prefect cache
key (for every config field that names a model alias, in any step type), the
response cache and the embedding-vector cache. Pointing `embedder` at another
deployment therefore re-runs `embed`, misses both caches and re-indexes.

The identity is each deployment's full config (model, api_base, api_version,
params, max_input_tokens, and any key added later, such as a backend), for
the alias and every alias its fallbacks lead to. Left out: the key (a secret)
and the knobs that shape traffic but not answers (rpm, tpm, weight, timeout).
Plain data, no LiteLLM: `ragline validate` and the compiler may use it.

`alias_models` is the readable form a vector table records (which model, and
for a local one which backend, made its vectors); `ragline.store.identity`
compares those records.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.spec.model import Deployment, Workflow

NOT_IDENTITY = frozenset({"api_key", "rpm", "tpm", "weight", "timeout"})
DEFAULT_LOCAL_BACKEND = "torch"
# Values that mean the same as leaving the key out.
DEFAULTS = {"backend": DEFAULT_LOCAL_BACKEND}


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


def deployment_name(d: Deployment) -> str:
    """`model` for a remote model, `model@backend` for a local one (`local/...@onnx-int8`)."""
    if d.model.startswith("local/"):
        return f"{d.model}@{d.backend or DEFAULT_LOCAL_BACKEND}"
    return d.model


def alias_models(workflow: Workflow, alias: str) -> str:
    """The alias's deployments by name (see `deployment_name`), comma-separated; else the alias."""
    names = sorted({deployment_name(d) for d in workflow.models.get(alias, [])})
    return ",".join(names) or alias
