"""The local Prefect server that `ragline run` reuses when PREFECT_API_URL is not set.

Prefect's own answer to "no API configured" is a temporary server per process:
seconds of start-up on every run, runs that vanish with it, and a server left
behind when the run is SIGKILLed. ragline keeps one server per Prefect home
instead:

- started on the first run, in the background, on 127.0.0.1 with SQLite under
  PREFECT_HOME (`python -m ragline.ops.server_process`, its own session, so a
  killed run or a closed terminal does not take it down);
- found again by later runs through `PREFECT_HOME/ragline-server.json` (pid,
  port, Prefect version, started-at; written atomically by the server once it
  answers), and used only after `/api/health` and `/api/admin/version` say it
  is healthy and runs this Prefect version; anything else is stopped and
  replaced, never silently used;
- started by one process at a time: `PREFECT_HOME/ragline-server.lock` is held
  from the decision to start until the server has written its state file;
- stopped by itself after RAGLINE_SERVER_IDLE_TIMEOUT seconds without API
  traffic or live runs (default 900), or by `ragline server stop`.

Nothing here imports Prefect: a run decides which server to use (and exports
PREFECT_API_URL) before Prefect reads its settings.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from ragline.errors import ConfigError

STATE_FILE = "ragline-server.json"
LOCK_FILE = "ragline-server.lock"
LOG_FILE = "ragline-server.log"
IDLE_ENV = "RAGLINE_SERVER_IDLE_TIMEOUT"
DEFAULT_IDLE_SECONDS = 900
START_TIMEOUT_ENV = "RAGLINE_SERVER_START_TIMEOUT"
DEFAULT_START_SECONDS = 180.0

# Prefect's settings ragline turns off unless the user chose otherwise: the server's
# analytics (an error line on every offline run) and the "new version" check.
QUIET_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
}


def quiet_prefect() -> None:
    """Set ragline's quiet Prefect defaults in the environment (before Prefect is imported)."""
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)


def prefect_home(env: Mapping[str, str] | None = None) -> Path:
    """PREFECT_HOME of `env` (default: this process's environment)."""
    raw = (os.environ if env is None else env).get("PREFECT_HOME") or "~/.prefect"
    return Path(raw).expanduser()


def prefect_version() -> str:
    from importlib.metadata import version

    return version("prefect")


def idle_timeout() -> float:
    raw = os.environ.get(IDLE_ENV, "").strip()
    try:
        return float(raw) if raw else float(DEFAULT_IDLE_SECONDS)
    except ValueError:
        raise ConfigError(
            f"{IDLE_ENV}={raw!r} is not a number of seconds",
            hint=f"set {IDLE_ENV} to the seconds the local server may stay idle (default "
            f"{DEFAULT_IDLE_SECONDS})",
        ) from None


@dataclass
class ServerState:
    """What `ragline-server.json` says about the server of one Prefect home."""

    pid: int
    port: int
    prefect_version: str
    started_at: float
    idle_timeout: float | None
    pid_started: str | None = None  # the process's start time, so a reused pid is not ours
    kind: str = "background"  # or "foreground": `ragline server` in a terminal
    csrf_protection: bool | None = None  # the server's setting; None: not recorded (older)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def describe(self) -> str:
        idle = f", stops after {self.idle_timeout:g} s idle" if self.idle_timeout else ""
        return f"{self.url} (pid {self.pid}, Prefect {self.prefect_version}{idle})"


def client_defaults(state: ServerState) -> dict[str, object]:
    """Prefect settings (as defaults: a value the user set still wins) for a run on the local
    server, which ragline has just checked (`problem_with`) and which records crashed runs
    itself (`run_records`):

    - no flow-run heartbeats: they exist so a server can detect crashed runs, which the
      local server does from ragline's run records; and Prefect's heartbeat thread sleeps in
      one-second steps, so joining it at the end of a short run cost up to a second;
    - no second version handshake (`/api/admin/version`): `problem_with` just did it;
    - no CSRF token request when the server does not enforce CSRF.
    """
    defaults: dict[str, object] = {
        "flows.heartbeat_frequency": None,
        "client.server_version_check_enabled": False,
    }
    if state.csrf_protection is False:
        defaults["client.csrf_support_enabled"] = False
    return defaults


def read_state(home: Path) -> ServerState | None:
    try:
        data = json.loads((home / STATE_FILE).read_text())
        return ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_state(home: Path, state: ServerState) -> None:
    """Atomically: a reader sees the old file or the new one, never half of it."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(asdict(state)))
    os.replace(tmp, home / STATE_FILE)


def remove_state(home: Path, pid: int) -> None:
    """Remove the state file if it still describes process `pid`."""
    state = read_state(home)
    if state is not None and state.pid == pid:
        with suppress(FileNotFoundError):
            (home / STATE_FILE).unlink()


def process_started(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), or None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, started: str | None = None) -> bool:
    """True when `pid` runs and (when known) is the same process that started at `started`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if Path(f"/proc/{pid}/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = ""
        if state == "Z":  # exited, not yet reaped by its parent
            return False
    return started is None or process_started(pid) in (None, started)


def _get_json(url: str, timeout: float) -> tuple[int, object]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
            status = int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code), None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def problem_with(state: ServerState, *, timeout: float = 3.0) -> str | None:
    """Why this server must not be used (None: healthy, this Prefect version, ours)."""
    if not alive(state.pid, state.pid_started):
        return f"its process {state.pid} is gone"
    try:
        health, _ = _get_json(f"{state.url}/health", timeout)
        if health != 200:
            return f"it answered /api/health with HTTP {health}"
        status, version = _get_json(f"{state.url}/admin/version", timeout)
    except (OSError, ValueError) as err:
        return f"it does not answer on {state.url} ({getattr(err, 'reason', err)})"
    if status != 200:
        return f"it answered /api/admin/version with HTTP {status}"
    if version != prefect_version():
        return f"it runs Prefect {version}, this environment has {prefect_version()}"
    return None


def running_server(home: Path | None = None) -> ServerState | None:
    """The local server of this Prefect home if it is up and usable; never starts one."""
    state = read_state(home or prefect_home())
    if state is None or problem_with(state) is not None:
        return None
    return state


@contextmanager
def _start_lock(home: Path) -> Iterator[int]:
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def stop(state: ServerState, *, timeout: float = 20.0) -> bool:
    """Stop the server `state` describes (SIGTERM, then SIGKILL); True if it was running."""
    if not alive(state.pid, state.pid_started):
        return False
    try:
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(state.pid, state.pid_started) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(state.pid, state.pid_started):
            os.kill(state.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def stop_server(home: Path | None = None) -> ServerState | None:
    """`ragline server stop`: stop this home's local server; the state it had, if any."""
    home = home or prefect_home()
    with _start_lock(home):
        state = read_state(home)
        if state is None:
            return None
        running = stop(state)
        remove_state(home, state.pid)
        return state if running else None


def ensure_server(home: Path | None = None, *, announce: Callable[[str], None]) -> ServerState:
    """The usable local server of this Prefect home, started (once) if there is none."""
    home = home or prefect_home()
    state = read_state(home)
    if state is not None and problem_with(state) is None:
        return state
    with _start_lock(home) as lock_fd:
        state = read_state(home)  # another run may have started one while we waited
        if state is not None:
            problem = problem_with(state)
            if problem is None:
                return state
            if state.kind == "foreground" and alive(state.pid, state.pid_started):
                return _wait_for_foreground(state)
            if stop(state):
                announce(f"replacing the local Prefect server (pid {state.pid}): {problem}")
            remove_state(home, state.pid)
        announce(
            f"starting a local Prefect server under {home} (the first run; later runs reuse it, "
            f"and it stops after {idle_timeout():g} s idle or with `ragline server stop`)"
        )
        return _spawn(home, lock_fd)


def _start_timeout() -> float:
    try:
        return float(os.environ.get(START_TIMEOUT_ENV) or DEFAULT_START_SECONDS)
    except ValueError:
        return DEFAULT_START_SECONDS


def _wait_for_foreground(state: ServerState) -> ServerState:
    """`ragline server` in a terminal is the user's: wait for it, never stop or replace it."""
    deadline = time.monotonic() + _start_timeout()
    problem = problem_with(state)
    while problem is not None and time.monotonic() < deadline:
        if not alive(state.pid, state.pid_started):
            break
        time.sleep(0.25)
        problem = problem_with(state)
    if problem is None:
        return state
    raise ConfigError(
        f"the Prefect server `ragline server` started (pid {state.pid}) is not usable: "
        f"{problem}; the workflow did not run",
        hint="stop it (Ctrl-C in its terminal) so runs start their own, or fix what its "
        "terminal shows",
    )


def _spawn(home: Path, lock_fd: int) -> ServerState:
    import subprocess

    log_path = home / LOG_FILE
    command = [sys.executable, "-m", "ragline.ops.server_process"]
    command += ["--idle-timeout", str(idle_timeout()), "--lock-fd", str(lock_fd)]
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            pass_fds=(lock_fd,),
            start_new_session=True,  # not in the run's process group: a Ctrl-C stops the run only
        )
    timeout = _start_timeout()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(home)
        if state is not None and state.pid == proc.pid:
            problem = problem_with(state)
            if problem is None:
                return state
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    tail = log_path.read_text(errors="replace")[-2000:].strip()
    raise ConfigError(
        f"the local Prefect server did not start within {timeout:g} s "
        f"(exit code {proc.returncode}); the workflow did not run"
        + (f"\n  its log ({log_path}) ends with:\n{tail}" if tail else ""),
        hint=f"raise {START_TIMEOUT_ENV} on a busy machine, or start a server yourself "
        "(`ragline server`) and set PREFECT_API_URL",
    )
