"""A slow stand-in for `embed`, loaded through RAGLINE_PLUGINS by the scale-out tests:
each slice notes its worker's pid before it sleeps, so a test can kill that worker, and
its first chunk's id when it is done (and both together in `where`, when given)."""

from __future__ import annotations

import hashlib
import os
import time

from ragline.documents import Chunk
from ragline.sdk import StepConfig, StepContext, step
from ragline.sdk.step import Ref


class SlowVectorsConfig(StepConfig):
    """Give every chunk a vector derived from its text, after `delay` seconds per slice."""

    chunks: Ref[list[Chunk]]
    started: str = "started.log"
    finished: str = "finished.log"
    delay: float = 0.0
    where: str | None = None


@step("slow-vectors", config=SlowVectorsConfig, cache=False, partition="chunks")
def slow_vectors(config: SlowVectorsConfig, ctx: StepContext) -> list[Chunk]:
    """Note `pid` in `started`, sleep, note the first chunk's id in `finished`, then return
    the chunks with 8-dimensional vectors."""
    with ctx.resolve_path(config.started).open("a") as f:
        f.write(f"{os.getpid()}\n")
    if config.where is not None:
        with ctx.resolve_path(config.where).open("a") as f:
            f.write(f"{config.chunks[0].id if config.chunks else '-'} {os.getpid()}\n")
    time.sleep(config.delay)
    with ctx.resolve_path(config.finished).open("a") as f:
        f.write(f"{config.chunks[0].id if config.chunks else '-'}\n")
    out = []
    for c in config.chunks:
        digest = hashlib.sha256(c.text.encode()).digest()
        out.append(c.model_copy(update={"vector": [b / 255 + 0.01 for b in digest[:8]]}))
    return out
