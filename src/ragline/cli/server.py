"""`ragline server [start|stop|status] [--host H] [--port P] [--no-ui]`: the local Prefect server.

`ragline server` (or `start`) runs a Prefect server with its UI in this
terminal. It takes the place of the background server `ragline run` starts for
this PREFECT_HOME (that one is stopped first, so two servers never share one
SQLite file) and registers itself in `PREFECT_HOME/ragline-server.json`, so
runs without PREFECT_API_URL record into it while it runs. `stop` stops the
background server, `status` says whether one is up (see docs/running.md).

It is `prefect server start` after two checks: a PostgreSQL database set in
PREFECT_API_DATABASE_CONNECTION_URL must answer (else one clear line instead
of a traceback loop), and a server listening beyond loopback must have
PREFECT_SERVER_API_AUTH_STRING set to `user:password` with a real password
(at least 12 characters), so its API is never open to the network.
Without a database URL Prefect uses SQLite under PREFECT_HOME.

The UI asks `/ui-settings` where the API is; ragline sets PREFECT_UI_API_URL
to this server's own address (unless it is set already), so `--port 4300`
serves a UI that calls port 4300, not Prefect's default 4200.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from ragline.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
MIN_PASSWORD = 12


def auth_problem(auth: str | None) -> str | None:
    """Why an API auth string is too weak for a server beyond loopback, or None."""
    if not auth or not auth.strip():
        return "PREFECT_SERVER_API_AUTH_STRING is not set"
    user, sep, password = auth.partition(":")
    if not sep or not user.strip():
        return "PREFECT_SERVER_API_AUTH_STRING must be 'user:password' (no user given)"
    if len(password.strip()) < MIN_PASSWORD or len(set(password)) < 4:
        return (
            f"the password in PREFECT_SERVER_API_AUTH_STRING is too weak (at least "
            f"{MIN_PASSWORD} characters, not one repeated character)"
        )
    return None


def ui_api_url(host: str, port: int) -> str:
    """The API URL the UI should call: this server's own address."""
    name = socket.getfqdn() if host in WILDCARD else host
    if ":" in name and not name.startswith("["):  # IPv6 literal
        name = f"[{name}]"
    return f"http://{name}:{port}/api"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=["start", "stop", "status"],
        default="start",
        help="start (default: in this terminal, with the UI), stop or status of the local "
        "server that `ragline run` uses without PREFECT_API_URL",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=4200, help="port (default 4200)")
    parser.add_argument("--no-ui", action="store_true", help="the API only, no dashboard")


def _stop() -> int:
    from ragline.cli.warm.client import stop_all
    from ragline.ops.local_server import prefect_home, stop_server

    for pid in stop_all(prefect_home()):  # they would start runs against a stopped server
        print(f"stopped the warm ragline process (pid {pid}); a run it serves finishes first")
    state = stop_server()
    if state is None:
        print(f"no local Prefect server is running under {prefect_home()}")
    else:
        print(f"stopped the local Prefect server {state.describe()}")
    return 0


def _status() -> int:
    from ragline.ops.local_server import prefect_home, read_state, running_server

    state = running_server()
    if state is None:
        stale = read_state(prefect_home())
        print(
            f"no local Prefect server is running under {prefect_home()}"
            + (" (its state file is stale: the next run replaces it)" if stale else "")
        )
        return 1
    print(f"local Prefect server: {state.describe()}")
    print(f"  UI: {state.url.removesuffix('/api')}")
    return 0


def _take_over(args: argparse.Namespace) -> None:
    """Stop this home's background server and register this one, for runs to find."""
    import time

    from ragline.ops.local_server import (
        ServerState,
        prefect_home,
        prefect_version,
        process_started,
        stop_server,
        write_state,
    )

    previous = stop_server()
    if previous is not None:
        print(f"stopped the background server {previous.describe()}; runs now use this one")
    if args.host in (*LOOPBACK, "0.0.0.0", "::"):
        state = ServerState(
            pid=os.getpid(),  # execv keeps the pid: it is the Prefect server's from here on
            port=args.port,
            prefect_version=prefect_version(),
            started_at=time.time(),
            idle_timeout=None,
            pid_started=process_started(os.getpid()),
            kind="foreground",
        )
        write_state(prefect_home(), state)


def run(args: argparse.Namespace) -> int:
    if args.action == "stop":
        return _stop()
    if args.action == "status":
        return _status()
    from prefect.settings import get_current_settings

    from ragline.ops.database import check_postgres, database_url

    settings = get_current_settings()
    auth = settings.server.api.auth_string
    problem = auth_problem(auth.get_secret_value() if auth is not None else None)
    if args.host not in LOOPBACK and problem:
        raise ConfigError(
            f"refusing to serve the Prefect API on {args.host} without authentication: {problem}",
            hint="set PREFECT_SERVER_API_AUTH_STRING=user:password on the server (and "
            "PREFECT_API_AUTH_STRING to the same on workers and CLIs), or listen on 127.0.0.1",
        )
    url = database_url()
    if url and url.startswith("postgresql"):
        check_postgres(url)
    where = "PostgreSQL" if url and url.startswith("postgresql") else "SQLite"
    print(
        f"starting Prefect server on http://{args.host}:{args.port} ({where}); "
        f"point clients at PREFECT_API_URL=http://{args.host}:{args.port}/api",
        flush=True,
    )
    if "api_url" not in settings.server.ui.model_fields_set:  # not set by the user
        os.environ["PREFECT_UI_API_URL"] = ui_api_url(args.host, args.port)
    _take_over(args)
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", args.host, "--port", str(args.port)]
    if args.no_ui:
        command.append("--no-ui")
    os.execv(sys.executable, command)  # the server owns the process (and Ctrl-C) from here
    return 0  # pragma: no cover - execv does not return
