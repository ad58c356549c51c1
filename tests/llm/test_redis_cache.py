"""Several workers share one response cache and one rate-limit account through Redis.

Redis is the one on 127.0.0.1:6379 (CI runs it), else a private redis-server
when one is installed. Without either the tests skip, unless
RAGLINE_REQUIRE_SERVICES=1 (CI), where a missing Redis is a failure. Each test
gets its own key namespace and deletes its keys afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ragline.llm.service import ModelService
from ragline.testing.fixtures import fake_deployments, workflow_model, write_workflow
from ragline.testing.openai_server import FakeOpenAI

pytestmark = pytest.mark.redis


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _private_redis(exe: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [exe, *args, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not _port_open(port):
        assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    return proc, port


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """Redis on 127.0.0.1:6379, else a private redis-server on a free port."""
    if _port_open(6379):
        yield "redis://127.0.0.1:6379/0"
        return
    exe = shutil.which("redis-server")
    if exe is None:
        message = "needs Redis on 127.0.0.1:6379 or redis-server installed"
        if os.environ.get("RAGLINE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"RAGLINE_REQUIRE_SERVICES=1: {message}")
        pytest.skip(message)
    proc, port = _private_redis(exe, tmp_path)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    name = f"ragline-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _cache(redis_url: str, namespace: str) -> dict[str, Any]:
    return {"type": "redis", "url": redis_url, "namespace": namespace}


def test_a_second_worker_is_served_from_the_shared_redis_cache(
    openai_server: FakeOpenAI, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    wf = workflow_model(
        models={"answer": fake_deployments(openai_server, "m")},
        cache=_cache(redis_url, namespace),
    )
    question = [{"role": "user", "content": "Is the cache shared?"}]
    (tmp_path / "w1").mkdir()
    (tmp_path / "w2").mkdir()
    one = ModelService(wf, tmp_path / "w1")
    first = one.complete("answer", question, temperature=0)
    second = ModelService(wf, tmp_path / "w2").complete("answer", question, temperature=0)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.text == first.text
    assert len(openai_server.calls("m")) == 1
    assert not (tmp_path / "w1" / ".ragline" / "cache").exists()


def test_two_ragline_run_processes_share_cache_hits(
    openai_server: FakeOpenAI,
    redis_url: str,
    namespace: str,
    tmp_path: Path,
    prefect: str,
    cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    path = write_workflow(
        tmp_path,
        {
            "inputs": {"question": {"type": "string"}},
            "models": {"answer": fake_deployments(openai_server, "shared")},
            "cache": _cache(redis_url, namespace),
            "steps": [
                {
                    "id": "generate",
                    "uses": "generate",
                    "with": {
                        "model": "answer",
                        "prompt": "${{ inputs.question }}",
                        "temperature": 0,
                    },
                }
            ],
            "outputs": {
                "answer": "${{ steps.generate.output.text }}",
                "meta": "${{ steps.generate.output.metadata }}",
            },
            "defaults": {"cache": False},  # no Prefect step cache: only the model cache may answer
        },
    )

    def run() -> dict[str, Any]:
        result = cli(
            "run", path.name, "-p", "question=Who keeps the cache?", "--json", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        outputs: dict[str, Any] = json.loads(result.stdout)["outputs"]
        return outputs

    first, second = run(), run()
    assert first["meta"]["cache_hit"] is False
    assert second["meta"]["cache_hit"] is True
    assert second["answer"] == first["answer"] == "echo: Who keeps the cache?"
    assert len(openai_server.calls("shared")) == 1


def test_workers_share_the_routers_rpm_accounting(
    openai_server: FakeOpenAI, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    wf = workflow_model(
        models={"answer": fake_deployments(openai_server, "counted", rpm=600)},
        routing={"strategy": "usage-based-routing"},
        cache=_cache(redis_url, namespace),
    )
    minutes = {datetime.now().strftime("%H-%M")}
    worker = ModelService(wf, tmp_path)
    for i in range(3):
        worker.complete("answer", [{"role": "user", "content": f"call {i}"}], temperature=0.5)
    minutes.add(datetime.now().strftime("%H-%M"))
    # Another Router, as in another process: only Redis is shared.
    other = ModelService(wf, tmp_path)

    def counted() -> int:
        return sum(
            int((other.router.cache.get_cache(key=f"answer:rpm:{m}") or {}).get("answer[0]", 0))
            for m in minutes
        )

    deadline = time.monotonic() + 10  # LiteLLM updates the counters in a success callback
    while counted() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert counted() == 3


def test_the_redis_url_can_be_a_secret_reference(
    openai_server: FakeOpenAI,
    redis_url: str,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAGLINE_TEST_REDIS_URL", redis_url)
    wf = workflow_model(
        models={"answer": fake_deployments(openai_server, "m")},
        cache={"type": "redis", "url": "env:RAGLINE_TEST_REDIS_URL", "namespace": namespace},
    )
    svc = ModelService(wf, tmp_path)
    svc.complete("answer", [{"role": "user", "content": "x"}], temperature=0)
    assert svc.complete("answer", [{"role": "user", "content": "x"}], temperature=0).cache_hit


def test_redis_cache_without_url_is_a_config_error(tmp_path: Path) -> None:
    from ragline.errors import ConfigError

    wf = workflow_model(models={"a": [{"model": "local/extractive"}]}, cache={"type": "redis"})
    with pytest.raises(ConfigError, match=r"cache\.type is redis but cache\.url is missing"):
        ModelService(wf, tmp_path)
