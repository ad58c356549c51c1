"""Recent runs read back from the Prefect API, with the tokens and cost each one used.

Tokens and cost come from the `model-usage-total` table artifact the compiler
publishes on every run that called a model (its TOTAL row); a run without it
made no model calls (or ended before publishing), shown as "-".
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

USAGE_KEY = "model-usage-total"


@dataclass
class RunRow:
    """One flow run as `ragline runs` shows it."""

    run_id: str
    name: str
    workflow: str
    state: str
    started: datetime.datetime | None
    duration_s: float | None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "started": self.started.isoformat() if self.started else None,
        }


def _table(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return []
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


def _duration(run: Any) -> float | None:
    if run.start_time is None:
        return None
    if run.end_time is not None:
        return float((run.end_time - run.start_time).total_seconds())
    return float(run.estimated_run_time.total_seconds())


async def _flow_names(client: Any) -> list[str]:
    # A plain body: this server version answers 422 to the nulls `read_flows` sends,
    # and empty filter objects would mean "flows that have runs, deployments, ...".
    response = await client._client.post("/flows/filter", json={"sort": "NAME_ASC", "limit": 200})
    return [str(f["name"]) for f in response.json()]


async def known_workflows(client: Any) -> list[str]:
    return sorted(await _flow_names(client))


async def recent_runs(client: Any, *, workflow: str | None, limit: int) -> list[RunRow]:
    """The most recently started runs (scheduled-but-not-started ones are left out)."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterStartTime,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    flow_filter = FlowFilter(name=FlowFilterName(any_=[workflow])) if workflow else None
    runs = await client.read_flow_runs(
        flow_filter=flow_filter,
        flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(is_null_=False)),
        sort=FlowRunSort.START_TIME_DESC,
        limit=limit,
    )
    if not runs:
        return []
    flows = {fid: (await client.read_flow(fid)).name for fid in {r.flow_id for r in runs}}
    # A plain body, as in _flow_names: an empty task-run filter would drop flow-run artifacts.
    response = await client._client.post(
        "/artifacts/filter",
        json={
            "artifacts": {"key": {"any_": [USAGE_KEY]}},
            "flow_runs": {"id": {"any_": [str(r.id) for r in runs]}},
            "sort": "CREATED_DESC",
            "limit": len(runs) * 2,
        },
    )
    totals: dict[str, dict[str, Any]] = {}
    for artifact in response.json():
        for row in _table(artifact.get("data")):
            if row.get("model") == "TOTAL":
                totals.setdefault(str(artifact.get("flow_run_id")), row)
    out: list[RunRow] = []
    for run in runs:
        total = totals.get(str(run.id))
        out.append(
            RunRow(
                run_id=str(run.id),
                name=run.name,
                workflow=flows.get(run.flow_id, "?"),
                state=run.state.name if run.state else "?",
                started=run.start_time,
                duration_s=_duration(run),
                tokens_in=int(total.get("prompt_tokens") or 0) if total else None,
                tokens_out=int(total.get("completion_tokens") or 0) if total else None,
                cost_usd=float(total.get("cost_usd") or 0.0) if total else None,
            )
        )
    return out


def render_table(rows: list[RunRow]) -> str:
    """A plain aligned table: it reads the same in a terminal, a log and a CI page."""
    header = ["STARTED (UTC)", "WORKFLOW", "RUN", "STATE", "DURATION", "TOKENS IN/OUT", "COST"]
    lines = [header]
    for r in rows:
        started = (
            r.started.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") if (r.started) else "-"
        )
        duration = "-" if r.duration_s is None else f"{r.duration_s:.1f}s"
        tokens = "-" if r.tokens_in is None else f"{r.tokens_in}/{r.tokens_out}"
        cost = "-" if r.cost_usd is None else f"${r.cost_usd:.6f}"
        lines.append([started, r.workflow, r.name, r.state, duration, tokens, cost])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )
