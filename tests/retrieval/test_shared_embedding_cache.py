"""With `cache: {type: redis}` the embedding cache lives in that Redis, so every worker
process and machine of a scaled-out run sees the vectors any of them computed: two
projects with separate state folders (two machines) embed a corpus once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import default_registry
from ragline.validation.workflow import load_workflow

pytestmark = [pytest.mark.integration, pytest.mark.redis]

WORKFLOW = """\
    apiVersion: ragline/v1
    name: shared-embeddings
    models:
      embedder: [{{model: local/all-MiniLM-L6-v2}}]
    cache: {{type: redis, url: "{url}", namespace: "{namespace}"}}
    steps:
      - id: ingest
        uses: ingest
        with: {{paths: ["corpus/*.md"]}}
      - id: chunk
        uses: chunk
        with: {{documents: "${{{{ steps.ingest.output }}}}", size: 64, overlap: 8}}
      - id: embed
        uses: embed
        partition: {{count: 2}}
        with: {{chunks: "${{{{ steps.chunk.output }}}}", model: embedder}}
    outputs:
      chunks: "${{{{ steps.embed.output }}}}"
    """


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:  # as tests/llm/test_redis_cache.py: CI (services required) fails, never skips
        message = "needs redis-server installed"
        if os.environ.get("RAGLINE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"RAGLINE_REQUIRE_SERVICES=1: {message}")
        pytest.skip(message)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [exe, *args, "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not _port_open(port):
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _machine(folder: Path, url: str) -> Path:
    (folder / "corpus").mkdir(parents=True)
    for i in range(4):
        (folder / "corpus" / f"page{i}.md").write_text(f"# Page {i}\n\nFact {i * 11} lives here.\n")
    path = folder / "workflow.yaml"
    path.write_text(textwrap.dedent(WORKFLOW).format(url=url, namespace="shared-test"))
    return path


def _embedded(path: Path) -> tuple[int, list[Any]]:
    registry = default_registry()
    seen: dict[str, Any] = {}

    def on_finish(records: list[Any], outputs: dict[str, Any]) -> None:
        seen["embedded"] = next(r for r in records if r.step_id == "embed").metrics["embedded"]

    outputs = compile_workflow(load_workflow(path, registry), registry, on_finish=on_finish)()
    return seen["embedded"], outputs["chunks"]


def test_a_second_machine_reuses_the_vectors_the_first_embedded(
    tmp_path: Path, redis_url: str, prefect: str
) -> None:
    first, chunks = _embedded(_machine(tmp_path / "machine-a", redis_url))
    second, again = _embedded(_machine(tmp_path / "machine-b", redis_url))

    assert first == len(chunks) > 0
    assert second == 0
    assert [c.vector for c in again] == [c.vector for c in chunks]
    assert not (tmp_path / "machine-b" / ".ragline" / "embeddings").exists()
