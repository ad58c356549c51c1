"""`ragline runs [--workflow NAME] [--limit N] [--json]`: recent runs from the Prefect API.

State, duration, tokens in/out and cost per run. With PREFECT_API_URL it asks
that server; without it, the local server `ragline run` records into (see
docs/running.md), and when that is not running it says so instead of starting
one. The API is read as plain JSON over HTTP: no Prefect import, so the answer
comes as fast as the other light commands.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workflow", metavar="NAME", default=None, help="only this workflow")
    parser.add_argument(
        "--limit", type=int, default=20, metavar="N", help="how many runs (default 20)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per run")


def _server() -> tuple[str | None, dict[str, str]]:
    """The API URL and headers to read from; (None, {}) when no local server is running."""
    from ragline.ops.api import api_url_without_prefect, auth_header_without_prefect

    known, url = api_url_without_prefect()
    headers = auth_header_without_prefect() if known else None
    if not known or headers is None:  # a project file only Prefect reads may set them
        from ragline.ops.api import auth_header, configured_api_url

        url, headers = configured_api_url(), auth_header()
    if url:
        from ragline.ops.api import require_api

        require_api("ragline runs", consequence="no runs were read", url=url, headers=headers)
        return url, headers
    from ragline.ops.local_server import running_server

    state = running_server()
    return (state.url, {}) if state else (None, {})


def run(args: argparse.Namespace) -> int:
    from ragline.ops.runs import Api, known_workflows, recent_runs, render_table

    if args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    url, headers = _server()
    if url is None:
        from ragline.ops.local_server import prefect_home

        print(
            f"no local Prefect server is running under {prefect_home()}, so no runs were read "
            "(`ragline run` starts it; or set PREFECT_API_URL to a server)"
        )
        return 0
    api = Api(url, headers)
    rows = recent_runs(api, workflow=args.workflow, limit=args.limit)
    if not rows:
        names = known_workflows(api) if args.workflow else []
        if args.workflow and args.workflow not in names:
            from ragline.spec.diagnostics import did_you_mean

            print(
                f"error: no workflow named '{args.workflow}' has runs on {url}"
                f"{did_you_mean(args.workflow, names)}",
                file=sys.stderr,
            )
            return 2
        print(f"no runs yet on {url}")
        return 0
    if args.json:
        for row in rows:
            print(json.dumps(row.as_dict()))
    else:
        print(render_table(rows))
    return 0
