"""One background event loop per process for the Router's async calls.

The Router's synchronous `completion` starts a new event loop for every call
(`run_async_function` in LiteLLM), which cost about a quarter of a round trip
to a local server in `bench/bench_generate.py`. Steps are synchronous and run
in threads, so each call is handed to this one long-lived loop instead and the
calling thread waits for its result; concurrent steps become concurrent
coroutines on the loop (nothing is serialised), and LiteLLM's per-loop HTTP
clients live as long as the process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = 0


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _pid
    with _lock:
        # A forked child inherits the variable but not the thread: start its own loop.
        if _loop is None or _pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="ragline-llm-loop", daemon=True).start()
            if _loop is None:
                atexit.register(_shutdown)
            _loop, _pid = loop, os.getpid()
        return _loop


async def _cancel_others() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _shutdown() -> None:
    """Cancel LiteLLM's background tasks (its logging worker) and stop the loop at exit.

    Left pending, they are destroyed with the interpreter and Python prints
    "Task was destroyed but it is pending!" under the run's output.
    """
    loop = _loop
    if loop is None or _pid != os.getpid() or loop.is_closed() or not loop.is_running():
        return
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(_cancel_others(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the background loop and wait for its result in this thread."""
    loop = _background_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:  # called from a coroutine on the loop itself: waiting would deadlock
        coro.close()
        raise RuntimeError("ragline.llm.loop.run called from its own event loop")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()
