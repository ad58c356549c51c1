"""The process of ragline's local Prefect server: Prefect's API app plus a watchdog.

`python -m ragline.ops.server_process --idle-timeout S --lock-fd N` (started by
`ragline.ops.local_server`, never by hand) serves `prefect.server.api.server:
create_app` with uvicorn on a loopback port it binds itself, in this one
process: no child to orphan. Prefect's app runs as in its own temporary
server (the services that record task runs and events, no scheduler), plus
the UI (unless PREFECT_UI_ENABLED=false).

The watchdog thread, once the app answers, writes the state file and releases
the start lock; then every few seconds it marks the flow runs of vanished
`ragline run` processes CRASHED, and stops the server once nothing has used
the API for the idle timeout (no request in flight, no open websocket, no live
run registered). SIGTERM (`ragline server stop`) stops it at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ragline.ops.local_server import (
    ServerState,
    prefect_home,
    prefect_version,
    process_started,
    quiet_prefect,
    remove_state,
    write_state,
)

WATCHDOG_HEADER = b"x-ragline-watchdog"
SWEEP_SECONDS = 2.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Activity:
    """ASGI middleware: when the API was last used, and how many requests are open now."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.last = time.monotonic()
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        own = any(name == WATCHDOG_HEADER for name, _ in scope.get("headers", ()))
        if scope["type"] not in ("http", "websocket") or own:
            await self.app(scope, receive, send)
            return
        self.open += 1
        self.last = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.last


def _log(line: str) -> None:
    """A line in the server's log file (its stdout, opened by whoever started it)."""
    sys.stdout.write(f"ragline: {line}\n")
    sys.stdout.flush()


def _watch(
    server: Any,
    activity: Activity,
    port: int,
    idle_timeout: float,
    lock_fd: int | None,
    csrf_protection: bool,
) -> None:
    from ragline.ops.run_records import live_runs, sweep

    home = prefect_home()
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    state = ServerState(
        pid=os.getpid(),
        port=port,
        prefect_version=prefect_version(),
        started_at=time.time(),
        idle_timeout=idle_timeout or None,
        pid_started=process_started(os.getpid()),
        csrf_protection=csrf_protection,
    )
    write_state(home, state)
    if lock_fd is not None:
        os.close(lock_fd)  # the start lock: later runs may now read the state file
    headers = {WATCHDOG_HEADER.decode(): "1"}
    while not server.should_exit:
        time.sleep(SWEEP_SECONDS)
        try:
            sweep(home, state.url, headers=headers)
        except Exception as exc:  # a sweep failing must not stop the server; the next one retries
            _log(f"marking crashed runs failed: {exc!r}")
        if idle_timeout and activity.idle_for() >= idle_timeout:
            if live_runs(home, state.url):
                activity.last = time.monotonic()
                continue
            _log(f"idle for {idle_timeout:g} s, stopping")
            server.should_exit = True


def serve(idle_timeout: float, lock_fd: int | None) -> None:
    quiet_prefect()
    import uvicorn
    from prefect.server.api.server import create_app, create_ui_app
    from prefect.settings import get_current_settings

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    app = create_app(ephemeral=True, final=True)
    csrf_protection = bool(get_current_settings().server.api.csrf_protection_enabled)
    # Prefect's temporary-server mode runs only the services a run needs (no scheduler,
    # no late-run marking) and leaves the UI out; put the UI back, so the "View at" link
    # every run prints opens the dashboard with all local runs.
    for route in app.routes:
        if getattr(route, "name", None) == "ui":
            route.app = create_ui_app(ephemeral=False)  # type: ignore[attr-defined]
    activity = Activity(app)
    config = uvicorn.Config(activity, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    watchdog = threading.Thread(
        target=_watch,
        args=(server, activity, port, idle_timeout, lock_fd, csrf_protection),
        daemon=True,
    )
    watchdog.start()
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        remove_state(prefect_home(), os.getpid())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ragline.ops.server_process")
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    parser.add_argument("--lock-fd", type=int, default=None)
    args = parser.parse_args()
    serve(args.idle_timeout, args.lock_fd)


if __name__ == "__main__":
    main()
