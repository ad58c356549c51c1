"""Aliases with nothing to route: their first attempt goes straight to LiteLLM.

LiteLLM's Router earns its cost when it has a choice to make (several
deployments, fallbacks, rpm/tpm windows), but it charges that cost on every
call: deployment bookkeeping, model-info copies and its retry wrapper made a
call to a one-deployment alias about 1.35x a plain `litellm.acompletion` to a
local server (bench/bench_generate.py). For an alias with exactly one
deployment, no rpm/tpm limit and no fallbacks, the first attempt is that plain
LiteLLM call, with the deployment's own parameters, timeout and no SDK retries.
If it fails in any way, the service makes the call again through the Router
with one retry fewer, so retries, Retry-After waits and the error naming each
deployment are the Router's, exactly as for every other alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.spec.model import Workflow

# Router-only settings of a deployment; a plain LiteLLM call must not get them.
_ROUTER_ONLY = ("rpm", "tpm", "weight")


@dataclass(frozen=True)
class DirectRoute:
    """How to call an alias's only deployment without the Router."""

    deployment_id: str
    params: dict[str, Any]


def direct_routes(workflow: Workflow, items: list[dict[str, Any]]) -> dict[str, DirectRoute]:
    """alias -> its direct route, for the aliases that have nothing to route.

    Empty when retries are off: a failed direct attempt is retried through the
    Router, and with `num_retries: 0` there must be no second attempt.
    """
    routing = workflow.routing
    if routing.num_retries < 1:
        return {}
    by_alias: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_alias.setdefault(item["model_name"], []).append(item)
    routes: dict[str, DirectRoute] = {}
    for alias, deployments in by_alias.items():
        if len(deployments) != 1 or routing.fallbacks.get(alias):
            continue
        params = deployments[0]["litellm_params"]
        if any(params.get(key) for key in ("rpm", "tpm")):
            continue
        call = {k: v for k, v in params.items() if k not in _ROUTER_ONLY}
        call["timeout"] = params.get("timeout") or routing.timeout
        call["max_retries"] = 0  # the SDK never retries: a second attempt is the Router's
        # As the Router passes it: LiteLLM callbacks (a Router's usage counters, ragline's
        # model-call events) read the deployment from it.
        call["model_info"] = dict(deployments[0]["model_info"])
        routes[alias] = DirectRoute(str(deployments[0]["model_info"]["id"]), call)
    return routes
