"""ragline's generate path against LiteLLM called directly, on the same local server.

1. Overhead: 200 sequential requests, each a new question (so every call
   misses the cache): prompt render + routing + cache lookup/store + budget +
   usage recording, versus `litellm.completion` to the same deployment.
   Target: ratio <= 1.1. The alias has one deployment, so ragline's first
   attempt skips the Router (`ragline.llm.direct`); retries would be routed.
2. Cached repeat: the same temperature-0 request again; p50 of the whole
   generate step. Target: < 5 ms.
3. Concurrency: 50 generate steps at once in threads against a server that
   answers in 100 ms, versus one batch of 50 concurrent direct
   `litellm.acompletion` calls. Target: < 1.5x (the runner does not serialise
   model calls).

For comparison the overhead section also times a plain LiteLLM Router on the
same deployment, called the way ragline calls aliases that have something to
route (`Router.acompletion` on one long-lived event loop, `ragline.llm.loop`),
with nothing of ragline around it: the ratio of that line is what LiteLLM's
routing bookkeeping costs against a zero-latency local server. It is measured
after ragline's figure because a Router's callbacks slow every later LiteLLM
call of the process (the baseline's too), and unhooked after.

Run: `.venv/bin/python -m bench bench_generate` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("BENCH_KEY", "sk-bench-not-a-real-key")

N = 200
CONCURRENT = 50


def _workflow(fake: Any) -> Any:
    from ragline.testing.fixtures import workflow_model

    return workflow_model(
        models={
            "answer": [
                {"model": "openai/bench", "api_base": fake.base_url, "api_key": "env:BENCH_KEY"}
            ]
        },
        routing={"num_retries": 2, "timeout": 30},
    )


def _context(wf: Any, folder: Path, services: Any = None) -> Any:
    from ragline.sdk.context import RunServices, StepContext

    return StepContext(
        step_id="generate", workflow=wf, workflow_dir=folder, services=services or RunServices()
    )


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
    messages = [
        {
            "role": "user",
            "content": f"[doc.md#0] Benchmarks measure ratios.\n\nQuestion: {question}",
        }
    ]
    response = lib.completion(
        model="openai/bench",
        api_base=fake.base_url,
        api_key=os.environ["BENCH_KEY"],
        messages=messages,
        temperature=0,
        max_tokens=64,
    )
    return str(response.choices[0].message.content)


def _router_call(router: Any, question: str) -> str:
    messages = [
        {
            "role": "user",
            "content": f"[doc.md#0] Benchmarks measure ratios.\n\nQuestion: {question}",
        }
    ]
    from ragline.llm.loop import run

    response = run(
        router.acompletion(model="answer", messages=messages, temperature=0, max_tokens=64)
    )
    return str(response.choices[0].message.content)


def _interleaved(
    first: Callable[[str], object], second: Callable[[str], object], label: str
) -> tuple[list[float], list[float]]:
    """Seconds per call of `first` and `second`, alternated N times so drift hits both alike.

    Every question is new, so no call is answered from a cache.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(N):
        for call, seconds in zip((first, second), times, strict=True):
            started = time.perf_counter()
            call(f"{label} {i}")
            seconds.append(time.perf_counter() - started)
    return times


def overhead(lib: Any) -> tuple[float, float]:
    from ragline.testing.openai_server import FakeOpenAI

    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        wf = _workflow(fake)
        ctx = _context(wf, Path(tmp))
        for i in range(20):  # warm both paths (connection pools, lazy imports)
            _ragline_call(ctx, f"warm {i}")
            _direct_call(lib, fake, f"warm {i}")
        direct, ours = _interleaved(
            lambda q: _direct_call(lib, fake, q), lambda q: _ragline_call(ctx, q), "question"
        )
        # A Router hooks callbacks into LiteLLM that every later call of the process
        # runs, the direct ones included: it is measured after, and unhooked again.
        router = lib.Router(
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
        for i in range(20):
            _router_call(router, f"warm {i}")
        direct_beside_router, routed = _interleaved(
            lambda q: _direct_call(lib, fake, q),
            lambda q: _router_call(router, q),
            "routed question",
        )
        router.discard()
        ratio = sum(ours) / sum(direct)

        def line(name: str, xs: list[float]) -> str:
            return f"{name} {sum(xs):.3f} s (p50 {statistics.median(xs) * 1e3:.2f} ms)"

        print(
            f"overhead: {N} requests  {line('litellm.completion', direct)}  {line('ragline', ours)}"
            f"  {line('plain Router', routed)}"
        )
        print(f"  ragline / litellm.completion = {ratio:.3f}  [target <= 1.1]")
        print(
            f"  plain LiteLLM Router.acompletion / litellm.completion = "
            f"{sum(routed) / sum(direct_beside_router):.3f}  (LiteLLM's Router alone, no ragline,"
            f" measured after, interleaved with its own direct calls)"
        )

        cached = []
        for _ in range(200):
            t = time.perf_counter()
            _ragline_call(ctx, "question 0")
            cached.append(time.perf_counter() - t)
        p50 = statistics.median(cached) * 1e3
        p95 = sorted(cached)[int(len(cached) * 0.95)] * 1e3
        direct_p50 = statistics.median(direct) * 1e3
        print(
            f"cached repeat: p50 {p50:.3f} ms  p95 {p95:.3f} ms"
            f"  ({p50 / direct_p50:.3f} of an uncached direct call)  [target < 5 ms]"
        )
        return ratio, p50


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
        ratio = ours / direct
        print(
            f"concurrency: {CONCURRENT} calls at 100 ms  direct batch {direct:.3f} s"
            f"  ragline {ours:.3f} s  ratio {ratio:.2f}  [target < 1.5]"
        )
        return ratio


def main() -> int:
    from ragline.llm._litellm import litellm

    lib = litellm()
    ratio, p50 = overhead(lib)
    conc = concurrency(lib)
    ok = ratio <= 1.1 and p50 < 5 and conc < 1.5
    print("bench_generate:", "all targets met" if ok else "TARGET MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
