"""Shared real backends for the whole test session.

One Prefect server (SQLite, temporary PREFECT_HOME) is started once and every
test, in-process or through the `ragline` CLI in a subprocess, talks to it. An
autouse guard refuses network connections beyond loopback, so no test quietly
depends on the internet.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragline.testing.prefect_server import free_port, local_prefect_server

pytest_plugins = ["ragline.testing.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


# Settings must be in the environment before anything imports prefect or litellm.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="ragline-tests-"))
_PREFECT_PORT = free_port()
os.environ.update(
    {
        "PREFECT_HOME": str(_SESSION_HOME / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{_PREFECT_PORT}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # No warm process behind `ragline run` (tests/cli/test_warm_runs.py turns it on): each
        # test's own folder and environment would start one of its own.
        "RAGLINE_WARM": "0",
    }
)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real Prefect server on loopback for the session; its API URL."""
    with local_prefect_server(
        Path(os.environ["PREFECT_HOME"]), port=_PREFECT_PORT, timeout=240
    ) as url:
        yield url


@pytest.fixture
def prefect(prefect_server: str) -> str:
    """Depend on this in a test that runs flows."""
    return prefect_server


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    loopback = str(host).startswith("127.") or host in ("localhost", "::1")
    if host is not None and inet and not loopback:
        raise OSError(f"test tried to reach {address}: tests may only use 127.0.0.1")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# A test that uses one of these starts a server or a subprocess: it belongs to the
# integration tier, which `make test-fast` leaves out and `make test` (CI) runs.
_SERVER_FIXTURES = {"prefect_server", "prefect", "cli", "plugin_env"} | {
    "openai_server",
    "slow_openai_server",
}
_SERVICE_MARKS = ("postgres", "redis", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses_server = bool(_SERVER_FIXTURES & set(getattr(item, "fixturenames", ())))
        if uses_server or any(item.get_closest_marker(m) for m in _SERVICE_MARKS):
            item.add_marker(pytest.mark.integration)


def _refuse(what: str) -> Callable[..., object]:
    def refuse(*args: object, **kwargs: object) -> object:
        raise RuntimeError(
            f"this test {what} but is not marked integration: add @pytest.mark.integration "
            "(or use a fixture that implies it) so the fast tier stays fast"
        )

    return refuse


@pytest.fixture(autouse=True)
def _fast_tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the integration tier a test may not start a subprocess or listen on a port."""
    if request.node.get_closest_marker("integration"):
        return
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("starts a subprocess"))
    monkeypatch.setattr(socket.socket, "listen", _refuse("starts a server"))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder laid out like a project: workflows/ beside data."""
    (tmp_path / "workflows").mkdir()
    return tmp_path


def ragline_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real `ragline` command."""
    exe = shutil.which("ragline", path=str(Path(sys.executable).parent)) or "ragline"
    return subprocess.run(
        [exe, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return ragline_cli


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)
