"""`ragline deploy PATH... [--pool NAME] [--name NAME]`: one Prefect deployment per workflow.

Each workflow's `schedule:` becomes the deployment's schedules, its `inputs:`
its parameters, and its entrypoint is `flows/run_workflow.py:workflow`. Every
file is validated and the server checked before anything is created.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from ragline.ops.deployments import DEFAULT_NAME

if TYPE_CHECKING:
    from ragline.ops.deployments import DeploymentPlan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="workflow files")
    parser.add_argument(
        "--pool",
        metavar="NAME",
        default=None,
        help="work pool whose workers run the deployments (e.g. a process pool); "
        "without it, runs wait for `ragline serve` or a worker of the pool set later",
    )
    parser.add_argument(
        "--name",
        metavar="NAME",
        default=DEFAULT_NAME,
        help=f"deployment name, shown as WORKFLOW/NAME (default: {DEFAULT_NAME})",
    )


async def _apply_all(plans: list[DeploymentPlan], pool: str | None, url: str) -> None:
    from prefect.client.orchestration import get_client

    from ragline.cli.deployment_plans import schedule_summary, server_error
    from ragline.ops.deployments import apply, check_work_pool

    async with get_client() as client:
        if pool:
            await check_work_pool(client, pool)
        for plan in plans:
            try:
                applied = await apply(client, plan)
            except Exception as err:  # network or server failure halfway: say what was applied
                raise server_error(url, err) from err
            where = f"pool {pool}" if pool else "no pool"
            print(
                f"{applied.outcome:<9} {plan.full_name}  ({where}; {schedule_summary(plan)})"
                f"  version {plan.version}"
            )


def run(args: argparse.Namespace) -> int:
    from ragline.cli.deployment_plans import PlanningFailed, plan_all
    from ragline.ops.api import require_api

    try:
        plans = plan_all(args.paths, name=args.name, work_pool=args.pool, debug=args.debug)
    except PlanningFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    url = require_api("ragline deploy")
    asyncio.run(_apply_all(plans, args.pool, url))
    return 0
