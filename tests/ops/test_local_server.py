"""The local Prefect server `ragline run` reuses when PREFECT_API_URL is not set.

Every test here has a PREFECT_HOME of its own and runs the real `ragline`
command without PREFECT_API_URL (the session's conftest sets it for everything
else), and stops every server it started: `servers` checks each pid is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.ops.local_server import (
    STATE_FILE,
    ServerState,
    alive,
    process_started,
    read_state,
    stop_server,
    write_state,
)
from ragline.ops.run_records import RUNS_DIR
from ragline.testing.prefect_server import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RAGLINE = str(Path(sys.executable).parent / "ragline")

TWO_STEPS = """\
apiVersion: ragline/v1
name: local-two-steps
steps:
  - {id: a, uses: value, with: {value: 1}}
  - {id: b, uses: value, with: {value: "${{ steps.a.output }}"}}
outputs:
  b: "${{ steps.b.output }}"
"""

SLEEPS = """\
apiVersion: ragline/v1
name: local-sleeps
steps:
  - {id: nap, uses: sleep, with: {seconds: 120}}
"""


class Servers:
    """Runs `ragline` against one PREFECT_HOME without PREFECT_API_URL; stops what it started."""

    def __init__(self, home: Path, folder: Path) -> None:
        self.home = home
        self.folder = folder
        self.pids: set[tuple[int, str | None]] = set()

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            # The Makefile's quiet setting too: ragline must turn analytics off itself.
            if k not in ("PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED")
        }
        paths = [str(ROOT / "tests" / "compiler"), str(ROOT / "src"), env.get("PYTHONPATH", "")]
        env.update(
            PREFECT_HOME=str(self.home),
            PYTHONPATH=os.pathsep.join(p for p in paths if p),
            RAGLINE_PLUGINS="ragline_test_steps",
        )
        env.update(extra)
        return env

    def ragline(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [RAGLINE, *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=400,
            env=self.env(**env),
        )
        self.note()
        return result

    def state(self) -> ServerState:
        state = read_state(self.home)
        assert state is not None, f"no {STATE_FILE} under {self.home}"
        return state

    def note(self) -> None:
        state = read_state(self.home)
        if state is not None:
            self.pids.add((state.pid, state.pid_started))

    def stop_all(self) -> None:
        self.note()
        stop_server(self.home)
        for pid, started in self.pids:
            deadline = time.monotonic() + 30
            while alive(pid, started) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(pid, started):
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"server pid {pid} was still running after `stop`")
        left = server_processes(self.home)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert left == [], "server processes left behind"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    (tmp_path / "two.yaml").write_text(TWO_STEPS)
    (tmp_path / "sleeps.yaml").write_text(SLEEPS)
    s = Servers(tmp_path / "prefect-home", tmp_path)
    try:
        yield s
    finally:
        s.stop_all()


def server_processes(home: Path) -> list[int]:
    """Every local-server process of this PREFECT_HOME, found in /proc (not in the state file)."""
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ragline.ops.server_process" in cmdline and f"PREFECT_HOME={home}".encode() in environ:
            out.append(int(proc.name))
    return out


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_two_runs_reuse_one_server_and_list_together(servers: Servers) -> None:
    first = servers.ragline("run", "two.yaml", "--json")
    assert first.returncode == 0, first.stderr
    assert "starting a local Prefect server" in first.stderr
    state = servers.state()
    second = servers.ragline("run", "two.yaml", "--json")
    assert second.returncode == 0, second.stderr
    assert "starting a local Prefect server" not in second.stderr
    assert servers.state().pid == state.pid
    # Prefect's analytics are off without the Makefile's variable: no telemetry error.
    assert "telemetry" not in first.stderr + second.stderr
    log = (servers.home / "ragline-server.log").read_text()
    assert "telemetry" not in log.lower(), log

    run_ids = [json.loads(r.stdout)["flow_run_id"] for r in (first, second)]
    listed = servers.ragline("runs", "--json", "--workflow", "local-two-steps")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["run_id"] for r in rows) == sorted(run_ids)
    assert {r["state"] for r in rows} == {"Completed"}

    status = servers.ragline("server", "status")
    assert status.returncode == 0
    assert f"pid {state.pid}" in status.stdout
    stopped = servers.ragline("server", "stop")
    assert stopped.returncode == 0
    assert f"stopped the local Prefect server {state.url}" in stopped.stdout
    assert not alive(state.pid, state.pid_started)
    assert not (servers.home / STATE_FILE).exists()
    assert servers.ragline("server", "status").returncode == 1


def test_a_killed_run_leaves_no_orphan_and_ends_crashed(servers: Servers) -> None:
    warm = servers.ragline("run", "two.yaml")
    assert warm.returncode == 0, warm.stderr
    state = servers.state()
    proc = subprocess.Popen(
        [RAGLINE, "run", "sleeps.yaml"],
        cwd=servers.folder,
        env=servers.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    record = servers.home / RUNS_DIR / f"{proc.pid}.json"
    deadline = time.monotonic() + 120
    flow_run_ids: list[str] = []
    while not flow_run_ids and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before its step started"
        time.sleep(0.2)
        if record.exists():
            flow_run_ids = json.loads(record.read_text())["flow_run_ids"]
    (flow_run_id,) = flow_run_ids
    assert _children(proc.pid) == []  # no server (nor anything else) of the run's own
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    deadline = time.monotonic() + 60
    flow_run: dict = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        flow_run = _get(f"{state.url}/flow_runs/{flow_run_id}")  # type: ignore[assignment]
        if flow_run["state"]["type"] != "RUNNING":
            break
        time.sleep(0.5)
    assert flow_run["state"]["type"] == "CRASHED", flow_run["state"]
    assert f"pid {proc.pid}" in flow_run["state"]["message"]
    assert not record.exists()
    assert servers.state().pid == state.pid  # the same server, still serving
    assert alive(state.pid, state.pid_started)


FAKE_SERVER = """\
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

health, version = int(sys.argv[2]), sys.argv[3]

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(version if self.path.endswith("/version") else True).encode()
        self.send_response(health if self.path.endswith("/health") else 200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.mark.parametrize(
    ("health", "version", "reason"),
    [
        (200, "0.0.1", "it runs Prefect 0.0.1"),
        (500, "3.8.8", "it answered /api/health with HTTP 500"),
    ],
)
def test_an_unusable_server_is_replaced_not_used(
    servers: Servers, health: int, version: str, reason: str
) -> None:
    port = free_port()
    fake = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, str(port), str(health), version])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/admin/version", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        write_state(
            servers.home,
            ServerState(
                pid=fake.pid,
                port=port,
                prefect_version="3.8.8",
                started_at=time.time(),
                idle_timeout=900,
                pid_started=process_started(fake.pid),
            ),
        )
        result = servers.ragline("run", "two.yaml", "--json")
        assert result.returncode == 0, result.stderr
        assert f"replacing the local Prefect server (pid {fake.pid}): {reason}" in result.stderr
        assert fake.wait(timeout=30) is not None  # stopped, not left running beside the new one
        assert servers.state().pid != fake.pid
        assert json.loads(result.stdout)["outputs"] == {"b": 1}
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()


def test_prefect_api_url_still_wins(servers: Servers, prefect: str) -> None:
    result = servers.ragline("run", "two.yaml", "--json", PREFECT_API_URL=prefect)
    assert result.returncode == 0, result.stderr
    flow_run_id = json.loads(result.stdout)["flow_run_id"]
    assert _get(f"{prefect}/flow_runs/{flow_run_id}")["state"]["type"] == "COMPLETED"  # type: ignore[index]
    assert not (servers.home / STATE_FILE).exists()
    assert "local Prefect server" not in result.stderr


def test_runs_without_a_server_says_so_and_starts_none(servers: Servers) -> None:
    result = servers.ragline("runs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"no local Prefect server is running under {servers.home}, so no runs were read"
    )
    assert not (servers.home / STATE_FILE).exists()


def test_the_server_stops_itself_when_idle(servers: Servers) -> None:
    result = servers.ragline("run", "two.yaml", RAGLINE_SERVER_IDLE_TIMEOUT="3")
    assert result.returncode == 0, result.stderr
    assert "stops after 3 s idle" in result.stderr
    state = servers.state()
    deadline = time.monotonic() + 60
    while alive(state.pid, state.pid_started) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not alive(state.pid, state.pid_started)
    assert not (servers.home / STATE_FILE).exists()


def test_two_first_runs_at_once_start_one_server(servers: Servers) -> None:
    procs = [
        subprocess.Popen(
            [RAGLINE, "run", "two.yaml"],
            cwd=servers.folder,
            env=servers.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=400) for p in procs]
    servers.note()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    starts = sum("starting a local Prefect server" in err for _, err in outputs)
    assert starts == 1
    assert server_processes(servers.home) == [servers.state().pid]


def test_a_bad_idle_timeout_is_refused_before_a_server_starts(servers: Servers) -> None:
    result = servers.ragline("run", "two.yaml", RAGLINE_SERVER_IDLE_TIMEOUT="soon")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: RAGLINE_SERVER_IDLE_TIMEOUT='soon' is not a number of seconds\n"
    )
    assert "Traceback" not in result.stderr
    assert server_processes(servers.home) == []


def test_a_server_that_does_not_start_in_time_is_stopped_and_reported(servers: Servers) -> None:
    result = servers.ragline("run", "two.yaml", RAGLINE_SERVER_START_TIMEOUT="0.5")
    assert result.returncode == 2
    assert "error: the local Prefect server did not start within 0.5 s" in result.stderr
    assert "raise RAGLINE_SERVER_START_TIMEOUT on a busy machine" in result.stderr
    assert "Traceback" not in result.stderr
    assert server_processes(servers.home) == []  # the half-started server was stopped
    assert not (servers.home / STATE_FILE).exists()


def test_runs_record_into_the_server_ragline_server_runs_in_a_terminal(servers: Servers) -> None:
    port = free_port()
    log = open(servers.folder / "server-terminal.log", "w")  # noqa: SIM115 - closed below
    terminal = subprocess.Popen(
        [RAGLINE, "server", "--port", str(port), "--no-ui"],
        cwd=servers.folder,
        env=servers.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while read_state(servers.home) is None and time.monotonic() < deadline:
            assert terminal.poll() is None, (servers.folder / "server-terminal.log").read_text()
            time.sleep(0.2)
        state = servers.state()  # registered before it execs Prefect's server
        assert (state.pid, state.kind, state.port) == (terminal.pid, "foreground", port)
        # A run waits for it to answer rather than replacing it, then records into it.
        result = servers.ragline("run", "two.yaml", "--json")
        assert result.returncode == 0, result.stderr
        assert "local Prefect server" not in result.stderr
        flow_run_id = json.loads(result.stdout)["flow_run_id"]
        flow_run = _get(f"http://127.0.0.1:{port}/api/flow_runs/{flow_run_id}")
        assert flow_run["state"]["type"] == "COMPLETED"  # type: ignore[index]
        assert servers.state().pid == terminal.pid
    finally:
        terminal.terminate()
        terminal.wait(timeout=60)
        log.close()
        servers.pids.discard((terminal.pid, process_started(terminal.pid)))


def _events(url: str, flow_run_id: str) -> list[str]:
    body = json.dumps(
        {"filter": {"resource": {"id": [f"prefect.flow-run.{flow_run_id}"]}}, "limit": 50}
    ).encode()
    request = urllib.request.Request(
        f"{url}/events/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [e["event"] for e in json.loads(response.read())["events"]]


def _events_once_completed(url: str, flow_run_id: str) -> list[str]:
    """The flow run's events, once the server has persisted its Completed event."""
    deadline = time.monotonic() + 60
    events = _events(url, flow_run_id)
    while "prefect.flow-run.Completed" not in events and time.monotonic() < deadline:
        time.sleep(0.5)
        events = _events(url, flow_run_id)
    assert "prefect.flow-run.Completed" in events, events
    return events


def test_runs_on_the_local_server_skip_heartbeats_unless_the_user_sets_them(
    servers: Servers,
) -> None:
    # The local server marks killed runs CRASHED from run records, so a run there needs no
    # heartbeat thread (whose join cost up to a second per run); a user's setting still wins.
    default = servers.ragline("run", "two.yaml", "--json")
    assert default.returncode == 0, default.stderr
    url = servers.state().url
    events = _events_once_completed(url, json.loads(default.stdout)["flow_run_id"])
    assert "prefect.flow-run.heartbeat" not in events

    chosen = servers.ragline("run", "two.yaml", "--json", PREFECT_FLOWS_HEARTBEAT_FREQUENCY="60")
    assert chosen.returncode == 0, chosen.stderr
    events = _events_once_completed(url, json.loads(chosen.stdout)["flow_run_id"])
    assert "prefect.flow-run.heartbeat" in events


SUITE = """\
name: local-suite
workflow: two.yaml
concurrency: 2
cases:
  - name: first
    assert: [{type: equals, value: 1}]
  - name: second
    assert: [{type: equals, value: 1}]
"""

SLEEPY_SUITE = """\
name: local-sleepy-suite
workflow: sleeps.yaml
cases:
  - name: naps
    assert: [{type: max-latency-ms, value: 1000000}]
"""


def test_ragline_test_uses_the_local_server_too(servers: Servers) -> None:
    (servers.folder / "two.suite.yaml").write_text(SUITE)
    first = servers.ragline("test", "two.suite.yaml", "--json", "results.json")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "starting a local Prefect server" in first.stderr
    state = servers.state()
    second = servers.ragline("run", "two.yaml")
    assert second.returncode == 0, second.stderr
    assert "starting a local Prefect server" not in second.stderr
    assert servers.state().pid == state.pid  # the suite's server, reused by the run

    results = json.loads((servers.folder / "results.json").read_text())
    case_runs = {r["flow_run_id"] for r in results["results"]}
    listed = servers.ragline("runs", "--json", "--limit", "20")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    recorded = {r["run_id"] for r in rows}
    assert case_runs <= recorded  # the cases' runs stay listed after the command ended
    assert "ragline-test-local-suite" in {r["workflow"] for r in rows}
    assert not list((servers.home / RUNS_DIR).glob("*.json"))  # records removed at the end


def test_a_killed_ragline_test_ends_its_runs_crashed(servers: Servers) -> None:
    (servers.folder / "sleepy.suite.yaml").write_text(SLEEPY_SUITE)
    warm = servers.ragline("run", "two.yaml")
    assert warm.returncode == 0, warm.stderr
    state = servers.state()
    proc = subprocess.Popen(
        [RAGLINE, "test", "sleepy.suite.yaml"],
        cwd=servers.folder,
        env=servers.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    record = servers.home / RUNS_DIR / f"{proc.pid}.json"
    deadline = time.monotonic() + 120
    flow_run_ids: list[str] = []
    while len(flow_run_ids) < 2 and time.monotonic() < deadline:  # the suite's and the case's
        assert proc.poll() is None, "the suite ended before its case started"
        time.sleep(0.2)
        if record.exists():
            flow_run_ids = json.loads(record.read_text())["flow_run_ids"]
    assert len(flow_run_ids) == 2, flow_run_ids
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    for flow_run_id in flow_run_ids:
        deadline = time.monotonic() + 60
        flow_run: dict = {}  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            flow_run = _get(f"{state.url}/flow_runs/{flow_run_id}")  # type: ignore[assignment]
            if flow_run["state"]["type"] != "RUNNING":
                break
            time.sleep(0.5)
        assert flow_run["state"]["type"] == "CRASHED", flow_run["state"]
        assert f"pid {proc.pid}" in flow_run["state"]["message"]
    assert not record.exists()
