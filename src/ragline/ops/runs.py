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


def _time(value: Any) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _duration(run: dict[str, Any]) -> float | None:
    start, end = _time(run.get("start_time")), _time(run.get("end_time"))
    if start is None:
        return None
    if end is not None:
        return float((end - start).total_seconds())
    estimated = run.get("estimated_run_time")
    return float(estimated) if isinstance(estimated, (int, float)) else None


class Api:
    """The few Prefect API calls `ragline runs` makes, as plain JSON over HTTP.

    Prefect's client costs seconds to import; listing runs should not.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 15.0):
        self.url = url.rstrip("/")
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.timeout = timeout

    def post(self, path: str, body: dict[str, Any]) -> Any:
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), headers=self.headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())


def known_workflows(api: Api) -> list[str]:
    # Empty filter objects would mean "flows that have runs, deployments, ...".
    flows = api.post("/flows/filter", {"sort": "NAME_ASC", "limit": 200})
    return sorted(str(f["name"]) for f in flows)


def recent_runs(api: Api, *, workflow: str | None, limit: int) -> list[RunRow]:
    """The most recently started runs (scheduled-but-not-started ones are left out)."""
    body: dict[str, Any] = {
        "flow_runs": {"start_time": {"is_null_": False}},
        "sort": "START_TIME_DESC",
        "limit": limit,
    }
    if workflow:
        body["flows"] = {"name": {"any_": [workflow]}}
    runs = api.post("/flow_runs/filter", body)
    if not runs:
        return []
    flow_ids = sorted({str(r["flow_id"]) for r in runs})
    flows = api.post("/flows/filter", {"flows": {"id": {"any_": flow_ids}}, "limit": len(flow_ids)})
    names = {str(f["id"]): str(f["name"]) for f in flows}
    # An empty task-run filter would drop flow-run artifacts: filter on flow runs only.
    artifacts = api.post(
        "/artifacts/filter",
        {
            "artifacts": {"key": {"any_": [USAGE_KEY]}},
            "flow_runs": {"id": {"any_": [str(r["id"]) for r in runs]}},
            "sort": "CREATED_DESC",
            "limit": len(runs) * 2,
        },
    )
    totals: dict[str, dict[str, Any]] = {}
    for artifact in artifacts:
        for row in _table(artifact.get("data")):
            if row.get("model") == "TOTAL":
                totals.setdefault(str(artifact.get("flow_run_id")), row)
    out: list[RunRow] = []
    for run in runs:
        total = totals.get(str(run["id"]))
        state = run.get("state") or {}
        out.append(
            RunRow(
                run_id=str(run["id"]),
                name=str(run["name"]),
                workflow=names.get(str(run["flow_id"]), "?"),
                state=str(state.get("name") or "?"),
                started=_time(run.get("start_time")),
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
