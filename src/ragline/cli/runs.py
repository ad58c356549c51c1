"""`ragline runs [--workflow NAME] [--limit N] [--json]`: recent runs from the Prefect API.

State, duration, tokens in/out and cost per run. Without PREFECT_API_URL it
reads the local Prefect database that `ragline run` records into.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workflow", metavar="NAME", default=None, help="only this workflow")
    parser.add_argument(
        "--limit", type=int, default=20, metavar="N", help="how many runs (default 20)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per run")


async def _collect(workflow: str | None, limit: int) -> tuple[list[Any], list[str]]:
    from prefect.client.orchestration import get_client

    from ragline.ops.runs import known_workflows, recent_runs

    async with get_client() as client:
        rows = await recent_runs(client, workflow=workflow, limit=limit)
        names = await known_workflows(client) if workflow and not rows else []
    return rows, names


def run(args: argparse.Namespace) -> int:
    from ragline.ops.api import configured_api_url, require_api
    from ragline.ops.runs import render_table

    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    url = configured_api_url()
    if url:
        require_api("ragline runs", consequence="no runs were read")
    rows, names = asyncio.run(_collect(args.workflow, args.limit))
    where = url or "the local Prefect database"
    if not rows:
        if args.workflow and args.workflow not in names:
            from ragline.spec.diagnostics import did_you_mean

            print(
                f"error: no workflow named '{args.workflow}' has runs on {where}"
                f"{did_you_mean(args.workflow, names)}",
                file=sys.stderr,
            )
            return 2
        print(f"no runs yet on {where}")
        return 0
    if args.json:
        for row in rows:
            print(json.dumps(row.as_dict()))
    else:
        print(render_table(rows))
    return 0
