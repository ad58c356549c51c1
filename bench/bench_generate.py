"""ragline's generate path against LiteLLM called directly, on the same fake server.

1. Overhead: sequential requests, each a new question (so every call misses the
   cache), at two server latencies:
   - realistic: the fake server waits `RAGLINE_BENCH_LATENCY` seconds (default
     0.3, a short hosted-model answer) before it answers; 30 requests per path.
     Target: ragline / `litellm.completion` <= 1.1.
   - local: the fake server answers at once (~3 ms here); 200 requests per path.
     Every fixed cost looms large against 3 ms, so this line is reported in
     milliseconds per call (what ragline adds) and as a ratio, without a target:
     it shows where the time goes, not what a user waits for.
   Five paths, each timed in blocks that alternate (drift hits all alike):
   `litellm.completion` (the baseline); a plain LiteLLM Router with nothing of
   ragline, called through its sync API (`Router.completion`, as ragline calls
   it) and through `Router.acompletion` on one long-lived event loop (an anyio
   blocking portal, the alternative); and ragline's `prompt` + `generate`
   (every alias goes through the Router: routing, retries, the response cache
   lookup and store, budget, usage recording) with `cache: {type: none}` and
   with the default disk cache. A Router hooks callbacks into LiteLLM that every later call of the
   process runs, so the baseline blocks run with no Router in the process: each
   ragline block is one run (its Router built by a warm-up call outside the
   timing, unhooked by the run's end), each plain-Router block builds and
   discards its own.
2. Cached repeat: the same temperature-0 request again; p50 of the whole
   generate step. Target: < 5 ms.
3. Concurrency: 50 generate steps at once in threads against a server that
   answers in 100 ms, versus one batch of 50 concurrent direct
   `litellm.acompletion` calls. Target: < 1.5x (the runner does not serialise
   model calls).

Run: `.venv/bin/python -m bench bench_generate` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("BENCH_KEY", "sk-bench-not-a-real-key")

CONCURRENT = 50
REALISTIC_LATENCY = float(os.environ.get("RAGLINE_BENCH_LATENCY", "0.3"))
Call = Callable[[str], object]


def _workflow(fake: Any, cache: str = "disk") -> Any:
    from ragline.testing.fixtures import workflow_model

    return workflow_model(
        models={
            "answer": [
                {"model": "openai/bench", "api_base": fake.base_url, "api_key": "env:BENCH_KEY"}
            ]
        },
        routing={"num_retries": 2, "timeout": 30},
        cache={"type": cache},
    )


def _context(wf: Any, folder: Path, services: Any = None) -> Any:
    from ragline.sdk.context import RunServices, StepContext

    return StepContext(
        step_id="generate", workflow=wf, workflow_dir=folder, services=services or RunServices()
    )


def _messages(question: str) -> list[dict[str, str]]:
    return [
        {
            "role": "user",
            "content": f"[doc.md#0] Benchmarks measure ratios.\n\nQuestion: {question}",
        }
    ]


def _ragline_call(ctx: Any, question: str) -> str:
    from ragline.steps.generate import GenerateConfig, generate
    from ragline.steps.prompt import PromptConfig, prompt

    p = prompt(
        PromptConfig(
            text="[doc.md#0] Benchmarks measure ratios.\n\nQuestion: {{ q }}", vars={"q": question}
        ),
        ctx,
    )
    answer = generate(GenerateConfig(model="answer", prompt=p, temperature=0, max_tokens=64), ctx)
    return str(answer.text)


def _direct_call(lib: Any, fake: Any, question: str) -> str:
    response = lib.completion(
        model="openai/bench",
        api_base=fake.base_url,
        api_key=os.environ["BENCH_KEY"],
        messages=_messages(question),
        temperature=0,
        max_tokens=64,
    )
    return str(response.choices[0].message.content)


@contextmanager
def _direct(lib: Any, fake: Any, folder: Path) -> Iterator[Call]:
    yield lambda q: _direct_call(lib, fake, q)


def _router(lib: Any, fake: Any) -> Any:
    return lib.Router(
        model_list=[
            {
                "model_name": "answer",
                "litellm_params": {
                    "model": "openai/bench",
                    "api_base": fake.base_url,
                    "api_key": os.environ["BENCH_KEY"],
                },
            }
        ],
        num_retries=2,
        timeout=30,
    )


@contextmanager
def _plain_router(lib: Any, fake: Any, folder: Path) -> Iterator[Call]:
    """`Router.completion`, as ragline calls it: LiteLLM's own sync path in the caller's thread."""
    router = _router(lib, fake)

    def call(question: str) -> str:
        response = router.completion(
            model="answer", messages=_messages(question), temperature=0, max_tokens=64
        )
        return str(response.choices[0].message.content)

    try:
        call("warm")
        yield call
    finally:
        router.discard()


@contextmanager
def _router_on_portal(lib: Any, fake: Any, folder: Path) -> Iterator[Call]:
    """`Router.acompletion` on one long-lived event loop (an anyio blocking portal).

    The alternative to LiteLLM's sync path, which starts an event loop per call;
    ragline used to run such a loop of its own (`llm/loop.py`).
    """
    from anyio.from_thread import start_blocking_portal

    router = _router(lib, fake)

    def call(question: str) -> str:
        request = partial(
            router.acompletion,
            model="answer",
            messages=_messages(question),
            temperature=0,
            max_tokens=64,
        )
        return str(portal.call(request).choices[0].message.content)

    with start_blocking_portal() as portal:
        try:
            call("warm")
            yield call
        finally:
            router.discard()


def _ragline(cache: str) -> Callable[[Any, Any, Path], Any]:
    @contextmanager
    def run(lib: Any, fake: Any, folder: Path) -> Iterator[Call]:
        ctx = _context(_workflow(fake, cache), folder)
        try:
            _ragline_call(ctx, f"warm {time.perf_counter_ns()}")  # builds the run's Router
            yield lambda q: _ragline_call(ctx, q)
        finally:
            ctx.services.close()  # the end of the run: its Router unhooked

    return run


PATHS: dict[str, Callable[[Any, Any, Path], Any]] = {
    "litellm.completion": _direct,
    "plain Router.completion": _plain_router,
    "plain Router.acompletion on a portal": _router_on_portal,
    "ragline, cache: none": _ragline("none"),
    "ragline, disk cache": _ragline("disk"),
}


def _blocks(lib: Any, fake: Any, folder: Path, n: int, block: int) -> dict[str, list[float]]:
    """Seconds per call of every path, in alternating blocks of `block` calls, n per path."""
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    for round_ in range(n // block):
        for name, path in PATHS.items():
            with path(lib, fake, folder) as call:
                for i in range(block):
                    started = time.perf_counter()
                    call(f"{name} {round_} {i}")
                    times[name].append(time.perf_counter() - started)
    return times


def overhead(lib: Any, latency: float, n: int, block: int) -> dict[str, list[float]]:
    from ragline.testing.openai_server import FakeOpenAI

    with FakeOpenAI(latency=latency) as fake, tempfile.TemporaryDirectory() as tmp:
        for i in range(10):  # warm the baseline (connection pool, lazy imports)
            _direct_call(lib, fake, f"warm {i}")
        times = _blocks(lib, fake, Path(tmp), n, block)
    base = times["litellm.completion"]
    answers = f"after {latency * 1e3:.0f} ms" if latency else "at once"
    print(f"overhead, server answering {answers}: {n} requests per path, blocks of {block}")
    for name, xs in times.items():
        added = (sum(xs) - sum(base)) / len(xs) * 1e3
        print(
            f"  {name:37s} {sum(xs):7.3f} s  p50 {statistics.median(xs) * 1e3:7.2f} ms"
            f"  / litellm.completion = {sum(xs) / sum(base):.3f}  ({added:+.2f} ms per call)"
        )
    return times


def _ratio(times: dict[str, list[float]], name: str) -> float:
    return sum(times[name]) / sum(times["litellm.completion"])


def cached_repeat(lib: Any) -> float:
    from ragline.testing.openai_server import FakeOpenAI

    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        ctx = _context(_workflow(fake), Path(tmp))
        _ragline_call(ctx, "question 0")
        cached = []
        for _ in range(200):
            t = time.perf_counter()
            _ragline_call(ctx, "question 0")
            cached.append(time.perf_counter() - t)
        ctx.services.close()
    p50 = statistics.median(cached) * 1e3
    p95 = sorted(cached)[int(len(cached) * 0.95)] * 1e3
    print(f"cached repeat: p50 {p50:.3f} ms  p95 {p95:.3f} ms  [target < 5 ms]")
    return p50


def concurrency(lib: Any) -> float:
    from ragline.testing.openai_server import FakeOpenAI

    with FakeOpenAI(latency=0.1) as fake, tempfile.TemporaryDirectory() as tmp:
        wf = _workflow(fake)
        ctx = _context(wf, Path(tmp))
        _ragline_call(ctx, "warm")
        _direct_call(lib, fake, "warm")

        async def batch(tag: str) -> None:
            messages = [[{"role": "user", "content": f"{tag} {i}"}] for i in range(CONCURRENT)]
            await asyncio.gather(
                *[
                    lib.acompletion(
                        model="openai/bench",
                        api_base=fake.base_url,
                        api_key=os.environ["BENCH_KEY"],
                        messages=m,
                        temperature=0,
                    )
                    for m in messages
                ]
            )

        asyncio.run(batch("warm"))
        t = time.perf_counter()
        asyncio.run(batch("direct"))
        direct = time.perf_counter() - t

        def one(i: int) -> str:
            return _ragline_call(_context(wf, Path(tmp), ctx.services), f"concurrent {i}")

        with ThreadPoolExecutor(CONCURRENT) as pool:
            list(pool.map(one, range(CONCURRENT)))  # warm the threads' clients
            t = time.perf_counter()
            list(pool.map(lambda i: one(i + 1000), range(CONCURRENT)))
            ours = time.perf_counter() - t
        ctx.services.close()
        ratio = ours / direct
        print(
            f"concurrency: {CONCURRENT} calls at 100 ms  direct batch {direct:.3f} s"
            f"  ragline {ours:.3f} s  ratio {ratio:.2f}  [target < 1.5]"
        )
        return ratio


def main() -> int:
    from ragline.llm._litellm import litellm

    lib = litellm()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    realistic = overhead(lib, REALISTIC_LATENCY, n=30, block=3)
    ratio = _ratio(realistic, "ragline, disk cache")
    print(f"  ragline / litellm.completion = {ratio:.3f}  [target <= 1.1]")
    local = overhead(lib, 0.0, n=200, block=5)
    print(
        "  [no target: fixed costs against an answer that takes no time]  ragline's share on"
        f" top of the Router (disk cache / plain Router.completion) = "
        f"{sum(local['ragline, disk cache']) / sum(local['plain Router.completion']):.3f}"
    )
    p50 = cached_repeat(lib)
    conc = concurrency(lib)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    ok = ratio <= 1.1 and p50 < 5 and conc < 1.5
    print("bench_generate:", "all targets met" if ok else "TARGET MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
