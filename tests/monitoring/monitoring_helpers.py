"""Helpers for monitoring tests: writing workflows, reading a run back from the Prefect API."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import httpx


def write(folder: Path, text: str, name: str = "wf.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def flow_run_artifacts(api: str, flow_run_id: str) -> dict[str, dict[str, Any]]:
    """The artifacts of a flow run by key, read from the Prefect REST API."""
    response = httpx.post(
        f"{api}/artifacts/filter",
        json={"limit": 100, "offset": 0, "flow_runs": {"id": {"any_": [flow_run_id]}}},
    )
    response.raise_for_status()
    return {a["key"]: a for a in response.json()}


def task_run_states(api: str, flow_run_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every task run of a flow run by name, with its state history (oldest first)."""
    response = httpx.post(
        f"{api}/task_runs/filter",
        json={"limit": 100, "offset": 0, "flow_runs": {"id": {"any_": [flow_run_id]}}},
    )
    response.raise_for_status()
    out: dict[str, list[dict[str, Any]]] = {}
    for run in response.json():
        states = httpx.get(f"{api}/task_run_states/", params={"task_run_id": run["id"]})
        states.raise_for_status()
        out[run["name"]] = sorted(states.json(), key=lambda s: s["timestamp"])
    return out
