"""Several workers share one response cache through Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.llm.service import ModelService
from ragline.testing.fixtures import fake_deployments, workflow_model
from ragline.testing.openai_server import FakeOpenAI

pytestmark = pytest.mark.redis


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free port when one is installed, else the one on 6379."""
    exe = shutil.which("redis-server")
    if exe is None:
        if not _port_open(6379):
            pytest.skip("needs redis-server installed or Redis on 127.0.0.1:6379")
        yield "redis://127.0.0.1:6379/0"
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_second_worker_is_served_from_the_shared_redis_cache(
    openai_server: FakeOpenAI, redis_url: str, tmp_path: Path
) -> None:
    wf = workflow_model(
        models={"answer": fake_deployments(openai_server, "m")},
        cache={"type": "redis", "url": redis_url},
    )
    question = [{"role": "user", "content": "Is the cache shared?"}]
    (tmp_path / "w1").mkdir()
    (tmp_path / "w2").mkdir()
    first = ModelService(wf, tmp_path / "w1").complete("answer", question, temperature=0)
    second = ModelService(wf, tmp_path / "w2").complete("answer", question, temperature=0)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.text == first.text
    assert len(openai_server.calls("m")) == 1
    assert not (tmp_path / "w1" / ".ragline" / "cache").exists()


def test_the_redis_url_can_be_a_secret_reference(
    openai_server: FakeOpenAI, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGLINE_TEST_REDIS_URL", redis_url)
    wf = workflow_model(
        models={"answer": fake_deployments(openai_server, "m")},
        cache={"type": "redis", "url": "env:RAGLINE_TEST_REDIS_URL"},
    )
    svc = ModelService(wf, tmp_path)
    svc.complete("answer", [{"role": "user", "content": "x"}], temperature=0)
    assert svc.complete("answer", [{"role": "user", "content": "x"}], temperature=0).cache_hit


def test_redis_cache_without_url_is_a_config_error(tmp_path: Path) -> None:
    from ragline.errors import ConfigError

    wf = workflow_model(models={"a": [{"model": "local/extractive"}]}, cache={"type": "redis"})
    with pytest.raises(ConfigError, match=r"cache\.type is redis but cache\.url is missing"):
        ModelService(wf, tmp_path)
