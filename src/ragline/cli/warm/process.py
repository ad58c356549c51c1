"""The warm process: imports what a run imports, then forks one child per `ragline run`.

Started in the background by a `ragline run` that found none (`client.start`), never
by hand. It holds `<key>.lock` for its whole life (one warm process per key), checks
that its environment gives the key it was started for, imports, checks that no thread
runs that a fork could copy mid-operation (`unexpected_threads`), then
listens on `<key>.sock` and drains the warm processes of other keys in the same
Prefect home. Each request forks a child (`ChildRun`) that becomes the caller's
command; this process reaps it and sends its exit code back.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragline.cli.warm import wire

IDLE_ENV = "RAGLINE_WARM_IDLE_TIMEOUT"
DEFAULT_IDLE_SECONDS = 900.0

# What `ragline run` imports before and during a run, in that order; a module that is not
# installed is skipped. Built-in steps are imported by name, never through the entry points:
# entry points would import plugins, and a plugin must be read fresh by every run.
PRELOAD = (
    "ragline.cli.main",
    "ragline.cli.run",
    "ragline.validation.workflow",
    "ragline.spec.inputs",
    "ragline.ops.run_api",
    "ragline.cli.run_without_server",
    "ragline.compiler.flow",
    "ragline.errors.classify",
    "ragline.llm.redact",
    "ragline.monitoring",
    "ragline.monitoring.logs",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.client.orchestration",
    "ragline.store",
    "lancedb",
    "pyarrow",
    "ragline.steps.value",
    "ragline.steps.ingest",
    "ragline.steps.chunk",
    "ragline.steps.embed",
    "ragline.steps.index",
    "ragline.steps.retrieve",
    "ragline.steps.prompt",
    "ragline.steps.generate",
    "ragline.steps.safety_check",
    "ragline.steps.evaluate",
    "ragline.steps.evaluate_retrieval",
)

# The model layer, imported after the rest: LiteLLM (configured by ragline first: with its
# local cost map it starts no thread), the local providers, and the libraries they run
# models with (sentence-transformers with torch, ONNX Runtime). Modules only: no model is
# loaded here (a loaded model owns thread pools a fork must not copy).
PRELOAD_MODELS = (
    "ragline.llm.service",
    "ragline.llm.router",
    "ragline.llm.providers.local",
    "ragline.llm.providers.extractive",
    "ragline.llm.providers.onnx_minilm",
    "ragline.llm.providers.minilm",
    "onnxruntime",
    "tokenizers",
    "sentence_transformers",
)

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def log(line: str) -> None:
    """A line in `warm.log` (this process's stdout)."""
    sys.stdout.write(f"{time.strftime('%H:%M:%S')} warm[{os.getpid()}]: {line}\n")
    sys.stdout.flush()


# Python threads that may be running when this process forks: lancedb's event loop, which
# lancedb itself restarts in a forked child (`os.register_at_fork`; its Rust runtime through
# `pthread_atfork`). Native threads are not counted: pyarrow's jemalloc background thread and
# lancedb's runtime have fork handlers, and none of them runs anything while we wait.
FORK_SAFE_THREADS = frozenset({"LanceDBBackgroundEventLoop"})


def unexpected_threads() -> list[str]:
    """Python threads besides the main one and those known to survive a fork."""
    main = threading.main_thread()
    return [
        t.name for t in threading.enumerate() if t is not main and t.name not in FORK_SAFE_THREADS
    ]


def preload(modules: tuple[str, ...] = PRELOAD + PRELOAD_MODELS) -> list[str]:
    """Import what a run would; the modules that failed to import (with why)."""
    failed = []
    if set(modules) & set(PRELOAD_MODELS):
        try:
            from ragline.llm._litellm import litellm

            litellm()  # ragline's offline defaults before `import litellm`, as a run does
        except Exception as exc:
            failed.append(f"litellm ({type(exc).__name__}: {exc})")
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional dependency: the child imports it itself
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    return failed


def idle_timeout() -> float:
    try:
        return float(os.environ.get(IDLE_ENV) or DEFAULT_IDLE_SECONDS)
    except ValueError:
        return DEFAULT_IDLE_SECONDS


@dataclass
class ChildRun:
    """What a forked child runs: the caller's command, in the caller's place."""

    request: dict[str, Any]
    fds: list[int]

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # the caller signals the child's whole group
        for target, fd in enumerate(self.fds):
            os.dup2(fd, target)
        for fd in self.fds:
            if fd > 2:
                os.close(fd)
        request = self.request
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["argv0"], *request["argv"]]
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(line_buffering=stream.isatty())  # type: ignore[union-attr]
        _as_a_fresh_process_would()
        from ragline.cli.main import main as run_here

        return run_here(list(request["argv"]))


def _as_a_fresh_process_would() -> None:
    """Prefect read its settings and set up logging when this process imported it; do both
    again under the caller's environment and folder (and its terminal, for colours). The
    step registry is read by the child: plugins are never imported before the fork."""
    from ragline.ops.local_server import quiet_prefect
    from ragline.sdk.registry import default_registry

    default_registry.cache_clear()
    quiet_prefect()
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context
        from prefect.logging.configuration import setup_logging

        refresh_global_settings_context()
        setup_logging(incremental=False)


@dataclass
class _Run:
    pid: int
    conn: socket.socket
    pidfd: int
    caller_gone: bool = False


class WarmServer:
    """The accept-fork-reap loop; `serve` returns a ChildRun in a forked child."""

    def __init__(self, listener: socket.socket, key: str, idle: float) -> None:
        self.listener = listener
        self.key = key
        self.idle = idle
        self.pid = os.getpid()
        self.runs: dict[int, _Run] = {}
        self.draining = False
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()

    def serve(self) -> ChildRun | None:
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGTERM, self._drain)
        signal.signal(signal.SIGINT, self._drain)
        self.selector.register(self.listener, selectors.EVENT_READ, ("accept", None))
        self.selector.register(self.wake_r, selectors.EVENT_READ, ("wake", None))
        last_used = time.monotonic()
        while True:
            if self.runs:
                last_used = time.monotonic()
            elif self.draining:
                return None
            elif time.monotonic() - last_used >= self.idle:
                log(f"idle for {self.idle:g} s, stopping")
                return None
            for key, _ in self.selector.select(timeout=1.0):
                kind, run = key.data
                if kind == "accept":
                    child = self._accept()
                    if child is not None:
                        return child
                elif kind == "wake":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 512)
                elif kind == "exit":
                    self._reap(run)
                elif kind == "caller":
                    self._check_caller(run)

    def _drain(self, signum: int, _frame: object) -> None:
        if not self.draining:
            log(f"signal {signum}: no new runs; stopping once {len(self.runs)} running end")
            self.draining = True
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(self.listener)
            self.listener.close()

    def _accept(self) -> ChildRun | None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return None
        try:
            conn.settimeout(10.0)
            _pid, uid, _gid = _UCRED.unpack(
                conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
            )
            if uid != os.getuid():
                log(f"refused a connection from uid {uid}")
                conn.close()
                return None
            request, fds = wire.receive_request(conn)
        except (OSError, ValueError, ConnectionError) as exc:
            log(f"a request could not be read: {exc}")
            conn.close()
            return None
        if request.get("key") != self.key or self.draining:
            why = "draining" if self.draining else "another environment"
            with contextlib.suppress(OSError):
                wire.send_line(conn, {"refused": why})
            for fd in fds:
                os.close(fd)
            conn.close()
            return None
        return self._fork(conn, request, fds)

    def _fork(
        self, conn: socket.socket, request: dict[str, Any], fds: list[int]
    ) -> ChildRun | None:
        pid = os.fork()
        if pid == 0:
            self._become_child()
            conn.close()
            return ChildRun(request, fds)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also here: the caller may signal the group at once
        for fd in fds:
            os.close(fd)
        try:
            wire.send_line(conn, {"pid": pid})
        except OSError:
            os.killpg(pid, signal.SIGKILL)
        run = _Run(pid, conn, os.pidfd_open(pid))
        conn.setblocking(False)
        self.runs[pid] = run
        self.selector.register(run.pidfd, selectors.EVENT_READ, ("exit", run))
        self.selector.register(conn, selectors.EVENT_READ, ("caller", run))
        log(f"run {request['argv'][:2]} as pid {pid} in {request['cwd']}")
        return None

    def _become_child(self) -> None:
        """In the child: drop everything of the server (its socket, signal wiring, runs)."""
        signal.set_wakeup_fd(-1)
        self.selector.close()
        self.listener.close()
        for fd in (self.wake_r, self.wake_w):
            os.close(fd)
        for run in self.runs.values():
            run.conn.close()
            os.close(run.pidfd)
        self.runs = {}

    def _check_caller(self, run: _Run) -> None:
        try:
            data = run.conn.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return
        # The caller is gone (killed, or its terminal closed): its run goes with it.
        self.selector.unregister(run.conn)
        run.caller_gone = True
        log(f"the caller of pid {run.pid} went away: killing its process group")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.pid, signal.SIGKILL)

    def _reap(self, run: _Run) -> None:
        _, status = os.waitpid(run.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.selector.unregister(run.pidfd)
        os.close(run.pidfd)
        if not run.caller_gone:
            self.selector.unregister(run.conn)
            with contextlib.suppress(OSError):
                run.conn.setblocking(True)
                wire.send_line(run.conn, {"exit": code} if code >= 0 else {"signal": -code})
        run.conn.close()
        del self.runs[run.pid]
        log(f"pid {run.pid} ended with {code}")


def _drain_others(home: Path, key: str) -> None:
    """One warm process per Prefect home: ask the others (other keys) to stop."""
    for pid in wire.stop_warm_processes(home, keep=key):
        log(f"draining the warm process of another environment (pid {pid})")


def _listen(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket: the lock says no live process serves it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    listener.listen(16)
    return listener


def serve(key: str) -> ChildRun | None:
    """Become the warm process of `key` (None when it ends; a ChildRun in a forked child)."""
    from ragline.cli.warm.identity import warm_key
    from ragline.ops.local_server import prefect_home, process_started, quiet_prefect

    home = prefect_home()
    folder = wire.folder(home)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_fd = os.open(wire.lock_path(home, key), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        return None  # another process serves (or is becoming) this key
    if warm_key(os.environ, os.getcwd(), sys.path) != key:
        log("not serving: this process's environment does not give the key it was started for")
        return None
    started = time.monotonic()
    quiet_prefect()
    failed = preload()
    threads = unexpected_threads()
    log(
        f"imported in {time.monotonic() - started:.1f} s"
        + (f"; not imported: {', '.join(failed)}" if failed else "")
    )
    if threads:
        log(f"not serving: threads {threads} run after the imports (a fork would copy them)")
        return None
    # lancedb warns in every forked child; nothing of lancedb has run here, so there is no
    # operation the fork could interrupt.
    warnings.filterwarnings("ignore", "lancedb fork support is experimental", RuntimeWarning)
    socket_path = wire.socket_path(home, key)
    if not wire.usable(socket_path) or not wire.private_folder(socket_path.parent):
        log(f"not serving: no private folder for a Unix socket at {socket_path}")
        return None
    listener = _listen(socket_path)
    state = {"pid": os.getpid(), "pid_started": process_started(os.getpid()), "key": key}
    state_file = wire.state_path(home, key)
    state_file.write_text(json.dumps({**state, "cwd": os.getcwd(), "started_at": time.time()}))
    _drain_others(home, key)
    server = WarmServer(listener, key, idle_timeout())
    child = server.serve()
    if child is not None:
        os.close(lock_fd)  # the child's copy; the lock stays with this process's
        return child
    with contextlib.suppress(OSError):
        listener.close()
    for path in (socket_path, state_file):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    os.close(lock_fd)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ragline warm process")
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    log(f"starting for key {args.key} in {os.getcwd()}")
    child = serve(args.key)
    if child is not None:
        _exit_as_a_process_would(_run_child(child))


def _run_child(child: ChildRun) -> int:
    """The child's exit code, as the interpreter would make it of how `run` ended."""
    try:
        return child.run()
    except SystemExit as exc:  # argparse's usage errors, sys.exit in a plugin
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1


def _exit_as_a_process_would(code: int) -> None:
    """End a child as the interpreter ends a process, without C++ static destructors.

    Threads joined, atexit handlers run (Prefect's last logs, LiteLLM, weakref finalizers),
    output flushed; then `os._exit`, as multiprocessing ends its forked children. The
    libraries imported before the fork own native threads that exist only in the warm
    process: their destructors would join them here and abort the child
    (`std::system_error: Invalid argument`, exit code 134, after a successful run).
    """
    import atexit

    # What Py_Finalize does first: the threading module's exit hooks (a ThreadPoolExecutor
    # tells its idle workers to stop), then a join of every non-daemon thread.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


# Started as `python -c` with the caller's sys.path set first (see client.start).
BOOTSTRAP = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from ragline.cli.warm.process import main; main(sys.argv[2:])"
)
