"""Build the LiteLLM Router for a workflow's `models:` and `routing:` sections.

One Router per run (it holds rate-limit windows, cooldowns and latency
statistics, which only make sense shared by every call of the run). Keys are
resolved here, at run time, and only ever live inside the Router.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragline.llm._litellm import litellm
from ragline.llm.rate_limit_wait import pacer
from ragline.llm.secrets import resolve_secret

if TYPE_CHECKING:
    from ragline.spec.model import Deployment, Workflow


def deployment_params(alias: str, index: int, d: Deployment) -> dict[str, Any]:
    """LiteLLM `litellm_params` of one deployment (keys resolved)."""
    params: dict[str, Any] = {**d.params, "model": d.model}
    if d.api_key:
        params["api_key"] = resolve_secret(d.api_key, f"models.{alias}[{index}].api_key")
    for field in ("api_base", "api_version", "rpm", "tpm", "timeout"):
        value = getattr(d, field)
        if value is not None:
            params[field] = value
    if d.weight is not None:
        params["weight"] = d.weight
    if d.backend is not None:
        params["backend"] = d.backend  # reaches the local provider as an optional param
    return params


def model_list(workflow: Workflow) -> list[dict[str, Any]]:
    items = []
    for alias, deployments in workflow.models.items():
        for i, d in enumerate(deployments):
            # A failed deployment is set aside (cooldown) at once, so the Router's retry
            # goes to another deployment of the alias; LiteLLM never cools down an
            # alias's only deployment, which keeps being retried.
            allowed = workflow.routing.allowed_fails
            info: dict[str, Any] = {
                "id": f"{alias}[{i}]",
                "allowed_fails": 0 if allowed is None else allowed,
            }
            if d.max_input_tokens:
                info["max_input_tokens"] = d.max_input_tokens
            items.append(
                {
                    "model_name": alias,
                    "litellm_params": deployment_params(alias, i, d),
                    "model_info": info,
                }
            )
    return items


def build_router(workflow: Workflow) -> Any:
    """A LiteLLM Router: strategy, retries, timeout, fallbacks and per-deployment limits."""
    lib = litellm()
    routing = workflow.routing
    kwargs: dict[str, Any] = {
        "model_list": model_list(workflow),
        "routing_strategy": routing.strategy,
        "num_retries": routing.num_retries,
        "timeout": routing.timeout,
        "retry_after": routing.retry_after,
        "fallbacks": [{alias: list(targets)} for alias, targets in routing.fallbacks.items()],
        "set_verbose": False,
    }
    if routing.allowed_fails is not None:
        kwargs["allowed_fails"] = routing.allowed_fails
    if routing.cooldown_time is not None:
        kwargs["cooldown_time"] = routing.cooldown_time
    if workflow.cache.type == "redis":
        # Rate-limit windows, usage counters and cooldowns in Redis: every worker
        # of the workflow counts against the same per-deployment rpm/tpm.
        from ragline.llm.cache import DEFAULT_NAMESPACE, redis_url

        kwargs["redis_url"] = redis_url(workflow.cache)
        kwargs["cache_kwargs"] = {
            "namespace": f"{workflow.cache.namespace or DEFAULT_NAMESPACE}:router"
        }
    if any(item["litellm_params"].get("rpm") for item in kwargs["model_list"]):
        # Only then: a LiteLLM callback runs on every call of the process.
        pacer().install(lib)
    return lib.Router(**kwargs)
