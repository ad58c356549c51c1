"""`ragline serve PATH... [--name NAME] [--limit N]`: run the workflows' schedules here.

Prefect's `serve`: the deployments are created (or left unchanged) like
`ragline deploy` does, without a work pool, and this process polls for their
scheduled runs and starts each in a subprocess. Ctrl-C (SIGINT) or SIGTERM
stops it cleanly: runs still in flight are cancelled (Prefect marks them
Cancelled), and the schedules are paused so no runs pile up while nothing
serves them (`ragline deploy` or the next `ragline serve` resumes them).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ragline.ops.deployments import DEFAULT_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="workflow files")
    parser.add_argument(
        "--name",
        metavar="NAME",
        default=DEFAULT_NAME,
        help=f"deployment name, shown as WORKFLOW/NAME (default: {DEFAULT_NAME})",
    )
    parser.add_argument(
        "--limit", type=int, default=None, metavar="N", help="at most N runs at once"
    )


def _runner_deployment(plan: Any) -> Any:
    """A RunnerDeployment whose `aapply` is ours: same deployment as `ragline deploy` makes."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.deployments.runner import RunnerDeployment
    from pydantic import PrivateAttr

    from ragline.ops.deployments import apply

    class RaglineServedDeployment(RunnerDeployment):
        _plan: Any = PrivateAttr(default=None)

        async def aapply(self, *args: Any, **kwargs: Any) -> UUID:
            async with get_client() as client:
                applied = await apply(client, self._plan)
            print(f"{applied.outcome:<9} {plan.full_name}", flush=True)
            return UUID(applied.deployment_id)

    deployment = RaglineServedDeployment(name=plan.name, flow_name=plan.flow_name)
    deployment._plan = plan
    return deployment


async def _serve(deployments: list[Any], limit: int | None) -> None:
    """Prefect's Runner, stopped by SIGINT/SIGTERM through its own `astop`.

    `prefect.serve` leaves SIGINT to asyncio, whose cancellation the runner's
    task groups absorb (the process keeps polling), and its SIGTERM handler
    calls the async `stop` from sync code; so both signals set an event here.
    """
    import asyncio
    import signal

    from prefect.runner import Runner

    runner = Runner(pause_on_shutdown=True, limit=limit)
    for deployment in deployments:
        await runner.aadd_deployment(deployment)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    started = asyncio.create_task(runner.start())
    await asyncio.sleep(0)  # start() installs its SIGTERM handler first; ours replace it
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({started, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        print("stopping: no new runs start; pausing the schedules", flush=True)
        await runner.astop()
        await started
    stopping.cancel()


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ragline.cli.deployment_plans import PlanningFailed, plan_all, schedule_summary
    from ragline.ops.api import require_api

    try:
        plans = plan_all(args.paths, name=args.name, work_pool=None, debug=args.debug)
    except PlanningFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    url = require_api("ragline serve")
    deployments = [_runner_deployment(p) for p in plans]
    for plan in plans:
        print(f"serving   {plan.full_name}: {schedule_summary(plan)}", flush=True)
    print(f"polling {url} for scheduled runs; Ctrl-C to stop", flush=True)
    asyncio.run(_serve(deployments, args.limit))
    print("stopped; schedules paused until the next `ragline serve` or `ragline deploy`")
    return 0
