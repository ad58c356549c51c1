"""The Prefect API a command that runs flows records into, and the record of its process.

`ragline run` and `ragline test` both run flows from a shell. Without
PREFECT_API_URL they use the local server of the Prefect home (started once,
reused by later commands; `ragline.ops.local_server`), never Prefect's
temporary per-process server; with it, they check it answers before anything
is created on it. Either way the process keeps a run record
(`ragline.ops.run_records`), so a killed command's flow runs end CRASHED.

The choice is made in two halves around Prefect's import: `choose_api` before
(it exports the local server's URL, so Prefect's settings read it), and
`api_for_runs` after (a project file only Prefect reads may still name a URL).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragline.ops.local_server import ServerState
from ragline.ops.run_records import RunRecord

Hook = Callable[[Any, Any, Any], None]


def _to_stderr(line: str) -> None:
    """What the local server's start says, for the person at the shell (stdout is the run's)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def local_server() -> ServerState:
    """The local server of this Prefect home (started if needed), its URL exported."""
    from ragline.ops.local_server import ensure_server, prefect_home
    from ragline.ops.run_records import register

    server = ensure_server(announce=_to_stderr)
    # At once, before Prefect's import: a live run keeps the server from stopping idle.
    register(prefect_home(), server.url)
    os.environ["PREFECT_API_URL"] = server.url  # for Prefect's settings, and child processes
    return server


def choose_api() -> ServerState | None:
    """The local server when nothing configures an API (call before Prefect is imported)."""
    from ragline.ops.api import api_url_without_prefect

    known, url = api_url_without_prefect()
    return local_server() if known and url is None else None


def api_for_runs(
    local: ServerState | None, purpose: str, consequence: str
) -> tuple[str, ServerState | None]:
    """The API URL flows record into, and the local server when it is that API.

    `local` is what `choose_api` returned. Imports Prefect (its settings decide).
    """
    from ragline.ops.api import configured_api_url, require_api

    url = configured_api_url()
    if url is None:  # a project file only Prefect reads said nothing either
        local = local_server()
        return local.url, local
    if local is None:  # fail in a second with the URL, not after Prefect's retries
        require_api(purpose, consequence=consequence)
    return url, local


# `ragline test` starts flow runs from several threads.
_RECORD_LOCK = threading.Lock()


@dataclass
class _RecordRun:
    """Prefect's `on_running` hook that adds a flow run to this process's run record.

    A picklable object, not a closure over a lock: Prefect ships the flow, hooks and
    all, with every task it submits to a Dask worker (the hook runs only here).
    """

    home: Path
    record: RunRecord

    def __call__(self, _flow: Any, flow_run: Any, _state: Any) -> None:
        from ragline.ops.run_records import add_flow_run

        with _RECORD_LOCK:
            add_flow_run(self.home, self.record, str(flow_run.id))


@contextlib.contextmanager
def recorded_runs(url: str, local: ServerState | None) -> Iterator[Hook]:
    """Prefect's settings for runs on `url`, and an `on_running` hook that records each flow
    run in this process's run record (so a killed process's runs end CRASHED, not RUNNING).

    Runs of vanished processes on the same API are marked first. On the local server,
    Prefect's client settings that only cost time there are off unless the user set them
    (`client_defaults`).
    """
    from ragline.ops.api import auth_header
    from ragline.ops.local_server import client_defaults, prefect_home
    from ragline.ops.run_records import register, sweep

    home = prefect_home()
    with contextlib.suppress(OSError):  # never block a run on marking older ones
        sweep(home, url, headers=auth_header())
    record_run = _RecordRun(home, register(home, url))

    from prefect.settings import PREFECT_API_URL
    from prefect.settings.context import temporary_settings

    defaults: Any = client_defaults(local) if local is not None else None
    # The URL too: Prefect may have read its settings before the URL was exported.
    with temporary_settings(updates={PREFECT_API_URL: url}, set_defaults=defaults):
        yield record_run


def forget_this_process() -> None:
    """Remove this process's run record (it ended, however it ended)."""
    from ragline.ops.local_server import prefect_home
    from ragline.ops.run_records import unregister

    unregister(prefect_home())
