"""The model-response cache: LiteLLM's `Cache`, on disk by default, Redis for several workers.

Only deterministic requests are cached (temperature 0, no streaming): the same
alias (and the same deployments behind it), messages and parameters return the
stored answer without a model call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ragline.llm._litellm import litellm
from ragline.spec.model import CacheSpec

if TYPE_CHECKING:
    from ragline.spec.model import Workflow

DEFAULT_NAMESPACE = "ragline"


def redis_url(spec: CacheSpec) -> str:
    """The Redis URL of a `type: redis` cache, secret references resolved."""
    if not spec.url:
        from ragline.errors import ConfigError

        raise ConfigError(
            "cache.type is redis but cache.url is missing",
            hint="set cache.url: redis://host:6379/0",
        )
    raw = spec.url
    if raw.startswith(("env:", "secret:")):  # a URL with a password is a secret too
        from ragline.llm.secrets import resolve_secret

        raw = resolve_secret(raw, "cache.url")
    return raw


def cache_location(spec: CacheSpec, state_dir: Path, workflow_dir: Path) -> str | None:
    """Where the cache of `spec` lives (services with the same location share one), or None."""
    if spec.type == "none":
        return None
    if spec.type == "redis":
        return f"redis:{redis_url(spec)}#{spec.namespace or DEFAULT_NAMESPACE}:{spec.ttl}"
    return f"disk:{_disk_folder(spec, state_dir, workflow_dir).resolve()}:{spec.ttl}"


def _disk_folder(spec: CacheSpec, state_dir: Path, workflow_dir: Path) -> Path:
    folder = Path(spec.dir) if spec.dir else state_dir / "cache"
    return folder if folder.is_absolute() else workflow_dir / folder


def build_cache(spec: CacheSpec, state_dir: Path, workflow_dir: Path) -> Any | None:
    """A LiteLLM `Cache` for the spec, or None when caching is off."""
    if spec.type == "none":
        return None
    litellm()  # offline defaults before LiteLLM modules load
    from litellm.caching.caching import Cache

    if spec.type == "redis":
        url = urlparse(redis_url(spec))
        kwargs: dict[str, Any] = {
            "type": "redis",
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 6379),
            "namespace": spec.namespace or DEFAULT_NAMESPACE,
        }
        if url.password:
            kwargs["password"] = url.password
        if url.path.strip("/").isdigit():
            kwargs["db"] = int(url.path.strip("/"))
    else:
        folder = _disk_folder(spec, state_dir, workflow_dir)
        folder.mkdir(parents=True, exist_ok=True)
        kwargs = {"type": "disk", "disk_cache_dir": str(folder)}
    if spec.ttl:
        kwargs["ttl"] = spec.ttl
    return Cache(**kwargs)


def cache_model_key(workflow: Workflow, alias: str) -> str:
    """The `model` part of a cache key: the alias and what stands behind it (never the keys)."""
    from ragline.llm.identity import alias_identity

    return f"{alias}@{alias_identity(workflow, alias)}"
