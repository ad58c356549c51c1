"""The `ragline run` side: hand the command to the warm process, or start one for next time.

Stdlib only and no ragline import beyond `identity` and `wire`: this runs before
anything else in every `ragline run`, and when no warm process serves it, it must
cost nothing the in-process run would not pay anyway (about 3 ms: the key).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from ragline.cli.warm import wire

ENABLE_ENV = "RAGLINE_WARM"
WAIT_ENV = "RAGLINE_WARM_WAIT"
# A run does not wait for a warm process that is still importing (about 13 s with the model
# layer): it runs in its own process, which is never slower than it was without one.
DEFAULT_WAIT_SECONDS = 0.0
REPLY_SECONDS = 60.0
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def enabled(env: Mapping[str, str]) -> bool:
    """Warm runs are on unless RAGLINE_WARM=0; they need Linux (fork, pidfd, fd passing)."""
    if env.get(ENABLE_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


def _home(env: Mapping[str, str]) -> Path:
    from ragline.ops.local_server import prefect_home

    return prefect_home(env)


def _key(env: Mapping[str, str], path: Sequence[str]) -> str:
    from ragline.cli.warm.identity import warm_key

    return warm_key(env, os.getcwd(), path)


def _starting(home: Path, key: str) -> bool:
    """A warm process holds this key's lock (it is importing, or serving)."""
    try:
        fd = os.open(wire.lock_path(home, key), os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _connect(home: Path, key: str) -> socket.socket | None:
    """A connection to this key's warm process; waits while one is still importing."""
    path = wire.socket_path(home, key)
    if not wire.usable(path) or not wire.private_folder(path.parent):
        return None
    try:
        wait = float(os.environ.get(WAIT_ENV) or DEFAULT_WAIT_SECONDS)
    except ValueError:
        wait = DEFAULT_WAIT_SECONDS
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return sock
        except OSError:
            sock.close()
        if time.monotonic() >= deadline or not _starting(home, key):
            return None
        time.sleep(0.05)


def serve_warm(argv: Sequence[str], env: Mapping[str, str], path: Sequence[str]) -> int | None:
    """Run `ragline <argv>` in this key's warm process; its exit code, or None when no warm
    process could take it (the caller then runs the command itself)."""
    home = _home(env)
    key = _key(env, path)
    sock = _connect(home, key)
    if sock is None:
        return None
    with sock:
        request = {
            "key": key,
            "argv": list(argv),
            "argv0": sys.argv[0] if sys.argv else "ragline",
            "cwd": os.getcwd(),
            "env": dict(env),
            "umask": _umask(),
        }
        sock.settimeout(REPLY_SECONDS)
        try:
            wire.send_request(sock, request, [0, 1, 2])
        except OSError:
            return None  # nothing started: run it here
        reader = wire.LineReader(sock)
        try:
            first = reader.next()
        except TimeoutError:
            # It may have started the run: running it here too could write twice.
            print(
                f"error: the warm ragline process did not answer in {REPLY_SECONDS:g} s; "
                "the run may not have started",
                file=sys.stderr,
            )
            print(
                "  hint: run it again with RAGLINE_WARM=0, or `ragline server stop`",
                file=sys.stderr,
            )
            return 1
        except (OSError, ValueError):
            first = None
        if first is None or "pid" not in first:
            return None  # refused (another environment, draining), or closed before forking
        sock.settimeout(None)
        return _follow(int(first["pid"]), reader)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _follow(pid: int, reader: wire.LineReader) -> int:
    """Pass signals to the run's process group until the warm process reports its end."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        while True:
            try:
                message = reader.next()
            except InterruptedError:
                continue
            if message is None:
                return _lost(pid)
            if "exit" in message:
                return int(message["exit"])
            if "signal" in message:
                return 128 + int(message["signal"])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _lost(pid: int) -> int:
    """The warm process ended mid-run: wait for the run's own process, say so."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            break
        time.sleep(0.2)
    print(
        f"error: the warm ragline process ended while it served this run (pid {pid}); "
        "the run's exit code is unknown",
        file=sys.stderr,
    )
    return 1


def start(env: Mapping[str, str], path: Sequence[str]) -> None:
    """Start this key's warm process in the background, unless one already runs.

    `path` is `sys.path` as the command started: the run that just ended here may have
    added to it (onnxruntime's quantizer appends its own folder when it loads), and a
    process keyed by that path would never serve the next command, which starts without.
    """
    from ragline.cli.warm.process import BOOTSTRAP

    home = _home(env)
    key = _key(env, path)
    if not wire.usable(wire.socket_path(home, key)) or _starting(home, key):
        return
    folder = wire.folder(home)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = open(wire.log_path(home), "ab")  # noqa: SIM115 - handed to the child
    except OSError:
        return
    with log:
        subprocess.Popen(
            [sys.executable, "-c", BOOTSTRAP, json.dumps(list(path)), "--key", key],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,  # not in the caller's process group: Ctrl-C stops a run only
        )


def stop_all(home: Path) -> list[int]:
    """Ask every warm process of this Prefect home to stop (running runs finish first)."""
    return wire.stop_warm_processes(home)
