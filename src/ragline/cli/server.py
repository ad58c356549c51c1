"""`ragline server [--host H] [--port P] [--no-ui]`: a local Prefect server with its UI.

It is `prefect server start` after two checks: a PostgreSQL database set in
PREFECT_API_DATABASE_CONNECTION_URL must answer (else one clear line instead
of a traceback loop), and a server listening beyond loopback must have
PREFECT_SERVER_API_AUTH_STRING set, so its API is never open to the network.
Without a database URL Prefect uses SQLite under PREFECT_HOME.
"""

from __future__ import annotations

import argparse
import os
import sys

from ragline.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=4200, help="port (default 4200)")
    parser.add_argument("--no-ui", action="store_true", help="the API only, no dashboard")


def run(args: argparse.Namespace) -> int:
    from prefect.settings import get_current_settings

    from ragline.ops.database import check_postgres, database_url

    settings = get_current_settings()
    auth = settings.server.api.auth_string
    if args.host not in LOOPBACK and (auth is None or not auth.get_secret_value()):
        raise ConfigError(
            f"refusing to serve the Prefect API on {args.host} without authentication",
            hint="set PREFECT_SERVER_API_AUTH_STRING on the server (and "
            "PREFECT_API_AUTH_STRING on workers and CLIs), or listen on 127.0.0.1",
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
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", args.host, "--port", str(args.port)]
    if args.no_ui:
        command.append("--no-ui")
    os.execv(sys.executable, command)  # the server owns the process (and Ctrl-C) from here
    return 0  # pragma: no cover - execv does not return
