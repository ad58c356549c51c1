"""Where a warm process listens, and the messages on its Unix socket.

One request per connection: a length-prefixed JSON object (arguments, working
directory, environment, umask, key) sent together with the caller's stdin, stdout
and stderr as file descriptors (SCM_RIGHTS). The warm process answers with JSON
lines: `{"pid": N}` once the run's child exists, then `{"exit": code}`; or
`{"refused": why}` when it cannot serve (another key, draining), and the caller runs
the command itself.

The socket lives in `PREFECT_HOME/ragline-warm/` (mode 0700), or, when that path is
too long for a Unix socket, in `<tmp>/ragline-warm-<uid>/` (mode 0700, checked to be
this user's alone): only this user can connect, and the warm process checks the
peer's uid as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
from pathlib import Path
from typing import Any

FOLDER = "ragline-warm"
HEADER = struct.Struct("!I")
MAX_REQUEST = 16 * 1024 * 1024
# sockaddr_un's sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107


def folder(home: Path) -> Path:
    return home / FOLDER


def socket_path(home: Path, key: str) -> Path:
    """`<home>/ragline-warm/<key>.sock`; where that is too long for a Unix socket (a deep
    PREFECT_HOME), a short path in this user's own folder under the system's temp dir."""
    path = folder(home) / f"{key}.sock"
    if usable(path):
        return path
    import hashlib
    import tempfile

    short = Path(tempfile.gettempdir()) / f"ragline-warm-{os.getuid()}"
    home_id = hashlib.sha256(os.fsencode(home.resolve())).hexdigest()[:12]
    return short / f"{home_id}-{key}.sock"


def private_folder(path: Path) -> bool:
    """Create the socket's folder (mode 0700); False if it is not this user's alone."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = path.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def lock_path(home: Path, key: str) -> Path:
    return folder(home) / f"{key}.lock"


def state_path(home: Path, key: str) -> Path:
    return folder(home) / f"{key}.json"


def log_path(home: Path) -> Path:
    return folder(home) / "warm.log"


def usable(path: Path) -> bool:
    """A Unix socket can be bound at `path` (its length fits sun_path)."""
    return len(os.fsencode(path)) <= MAX_SOCKET_PATH


def stop_warm_processes(home: Path, *, keep: str | None = None) -> list[int]:
    """SIGTERM every live warm process of this Prefect home (but `keep`'s): each stops
    taking runs and exits once the runs it serves end. The pids signalled."""
    from ragline.ops.local_server import alive

    stopped = []
    for path in folder(home).glob("*.json"):
        if path.stem == keep:
            continue
        try:
            state = json.loads(path.read_text())
            pid, started = int(state["pid"]), state.get("pid_started")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
    return stopped


def send_request(sock: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    body = json.dumps(request).encode("utf-8", "surrogateescape")
    data = HEADER.pack(len(body)) + body
    sent = socket.send_fds(sock, [data], fds)
    if sent < len(data):
        sock.sendall(data[sent:])


def _recv_exact(sock: socket.socket, size: int, buffer: bytearray) -> bytes:
    while len(buffer) < size:
        chunk = sock.recv(min(size - len(buffer), 1 << 20))
        if not chunk:
            raise ConnectionError("the peer closed the connection mid-request")
        buffer.extend(chunk)
    return bytes(buffer[:size])


def receive_request(sock: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request and the file descriptors that came with it (the caller must close them)."""
    data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 3)
    try:
        buffer = bytearray(data)
        if len(buffer) < HEADER.size:
            buffer = bytearray(_recv_exact(sock, HEADER.size, buffer))
        (size,) = HEADER.unpack(bytes(buffer[: HEADER.size]))
        if size > MAX_REQUEST:
            raise ValueError(f"request of {size} bytes is over the limit")
        body = _recv_exact(sock, HEADER.size + size, buffer)[HEADER.size :]
        request = json.loads(body.decode("utf-8", "surrogateescape"))
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return request, list(fds)


def send_line(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


class LineReader:
    """JSON lines from the warm process, one at a time (None: it closed the connection)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""

    def next(self) -> dict[str, Any] | None:
        while b"\n" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        message = json.loads(line)
        return message if isinstance(message, dict) else None
