"""`ragline run` served by a warm process: the same outputs, exit codes and messages as a
run in its own process, plugins read fresh, and a caller's signals and death reach the run.

Each test has a PREFECT_HOME of its own (its warm processes live there) and records into
the session's Prefect server; `warm` stops every warm process a test started and checks
that none is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragline.cli.warm import client, wire
from ragline.ops.local_server import alive

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RAGLINE = str(Path(sys.executable).parent / "ragline")

PROBE = """\
import os
import sys
from pydantic import BaseModel
from ragline.sdk import StepConfig, StepContext, step

VERSION = {version}


class ProbeConfig(StepConfig):
    marker: str = ""


class Probe(BaseModel):
    pid: int
    version: int


@step("probe", config=ProbeConfig)
def probe(config: ProbeConfig, ctx: StepContext) -> Probe:
    if config.marker == "extend-sys-path":  # as onnxruntime's quantizer does when it loads
        sys.path.append(os.path.join(os.path.dirname(os.__file__), "json"))
    return Probe(pid=os.getpid(), version=VERSION)
"""

PROBE_FLOW = """\
apiVersion: ragline/v1
name: warm-probe
steps:
  - {id: look, uses: probe, with: {marker: "${{ inputs.marker }}"}}
inputs:
  marker: {type: string, default: ""}
outputs:
  pid: "${{ steps.look.output.pid }}"
  version: "${{ steps.look.output.version }}"
"""

FAILING = """\
apiVersion: ragline/v1
name: warm-fails
steps:
  - id: boom
    uses: flaky
    with: {log: runs.log, failures: 9, category: business_logic, value: 1}
"""

ASK = """\
apiVersion: ragline/v1
name: warm-ask
inputs:
  question: {type: string}
models:
  answer: [{model: local/extractive}]
  embedder: [{model: local/all-MiniLM-L6-v2, backend: onnx-int8}]
stores:
  docs: {uri: .ragline/lancedb, table: docs}
steps:
  - {id: ingest, uses: ingest, with: {paths: ["notes/*.md"]}}
  - {id: chunk, uses: chunk, with: {documents: "${{ steps.ingest.output }}", size: 60}}
  - {id: embed, uses: embed, with: {chunks: "${{ steps.chunk.output }}", model: embedder}}
  - {id: index, uses: index, with: {chunks: "${{ steps.embed.output }}", store: docs}}
  - id: retrieve
    uses: retrieve
    needs: [index]
    with: {query: "${{ inputs.question }}", store: docs, k: 2, model: embedder}
  - id: prompt
    uses: prompt
    with:
      template: answer.j2
      vars: {question: "${{ inputs.question }}", contexts: "${{ steps.retrieve.output }}"}
  - {id: generate, uses: generate, with: {model: answer, prompt: "${{ steps.prompt.output }}"}}
outputs:
  answer: "${{ steps.generate.output.text }}"
"""

NOTES = (
    "# Stores\n\nLanceDB keeps the vectors in a folder next to the workflow file.\n\n"
    "# Runs\n\nPrefect runs every step as a task and retries the ones that fail.\n"
)

SLEEPS = """\
apiVersion: ragline/v1
name: warm-sleeps
inputs:
  seconds: {type: number, default: 120}
defaults: {cache: false}
steps:
  - {id: nap, uses: sleep, with: {seconds: "${{ inputs.seconds }}"}}
"""


class Warm:
    """`ragline` with warm runs on, in one folder and PREFECT_HOME."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.home = folder / "prefect-home"
        self.probes = 0

    def env(self, **extra: str) -> dict[str, str]:
        paths = [str(self.folder / "plugins"), str(ROOT / "tests" / "compiler")]
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
            "RAGLINE_PLUGINS": "warm_probe,ragline_test_steps",
            "RAGLINE_WARM": "1",
            "RAGLINE_WARM_WAIT": "120",
        }
        env.update(extra)
        return env

    def ragline(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RAGLINE, *args],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=300,
            env=self.env(**env),
        )

    def probe(self, **env: str) -> dict[str, str]:
        """Run the probe workflow (a marker of its own, so no cached result answers)."""
        self.probes += 1
        marker = f"{time.time_ns()}-{self.probes}"
        return outputs(self.ragline("run", "probe.yaml", "-p", f"marker={marker}", **env))

    def served(self) -> list[int]:
        """The pids of the runs warm processes of this home forked, from their log."""
        return [int(pid) for pid in re.findall(r"as pid (\d+)", self.log())]

    def log(self) -> str:
        """What the warm processes of this home wrote (shown when an assertion fails)."""
        log = wire.log_path(self.home)
        return log.read_text() if log.exists() else ""

    def processes(self) -> list[tuple[int, str | None, str]]:
        """(pid, start time, key) of each warm process that wrote its state."""
        out = []
        for path in wire.folder(self.home).glob("*.json"):
            state = json.loads(path.read_text())
            out.append((int(state["pid"]), state.get("pid_started"), path.stem))
        return out

    def wait_until_listening(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if list(wire.folder(self.home).glob("*.json")):  # written once it listens
                return
            time.sleep(0.1)
        log = wire.log_path(self.home)
        pytest.fail(f"no warm process listens; {log}:\n{log.read_text() if log.exists() else ''}")

    def stop_all(self) -> None:
        states = self.processes()
        client.stop_all(self.home)
        for pid, started, _ in states:
            deadline = time.monotonic() + 30
            while alive(pid, started) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid, started):
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"warm process {pid} was still running after being stopped")


@pytest.fixture
def warm(tmp_path: Path, prefect: str) -> Iterator[Warm]:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "warm_probe.py").write_text(PROBE.format(version=1))
    (tmp_path / "probe.yaml").write_text(PROBE_FLOW)
    (tmp_path / "fails.yaml").write_text(FAILING)
    (tmp_path / "sleeps.yaml").write_text(SLEEPS)
    w = Warm(tmp_path)
    try:
        yield w
    finally:
        w.stop_all()


def outputs(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def test_the_first_run_starts_a_warm_process_that_serves_the_next(warm: Warm) -> None:
    first = warm.probe()
    assert warm.served() == []  # the first run ran in its own process
    warm.wait_until_listening()

    second = warm.probe()
    third = warm.probe()
    assert warm.served() == [int(second["pid"]), int(third["pid"])], warm.log()
    assert second["version"] == third["version"] == first["version"] == "1"
    assert len(warm.processes()) == 1


def test_a_run_that_extends_sys_path_still_starts_the_process_the_next_run_uses(
    warm: Warm,
) -> None:
    """A run may add to its own `sys.path` (onnxruntime's quantizer does, the first time a
    machine exports the int8 model): the warm process it starts afterwards is keyed by the
    path the command started with, which is the one the next command has."""
    first = warm.ragline("run", "probe.yaml", "-p", "marker=extend-sys-path")
    assert first.returncode == 0, first.stderr
    warm.wait_until_listening()
    served = warm.probe()
    assert [int(served["pid"])] == warm.served(), warm.log()


def test_a_plugin_edited_between_runs_is_read_fresh(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    assert warm.probe()["version"] == "1"

    (warm.folder / "plugins" / "warm_probe.py").write_text(PROBE.format(version=2))
    edited = warm.probe()
    assert edited["version"] == "2"
    assert int(edited["pid"]) in warm.served()


def test_exit_codes_and_messages_are_those_of_a_run_in_its_own_process(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    cases = [
        (("run", "probe.yaml", "-p", "nope=1"), 2),
        (("run", "fails.yaml"), 1),
        (("run", "missing.yaml"), 2),
    ]
    for args, code in cases:
        served = warm.ragline(*args)
        alone = warm.ragline(*args, RAGLINE_WARM="0")
        assert served.returncode == alone.returncode == code, served.stderr
        assert served.stdout == alone.stdout
        assert error_lines(served.stderr) == error_lines(alone.stderr)
        assert error_lines(served.stderr), served.stderr
    assert len(warm.served()) == len(cases)


def test_a_model_workflow_is_served_and_exits_cleanly(warm: Warm) -> None:
    """Embedding (ONNX Runtime) and an offline model (sentence-transformers, torch) in a
    served run: both libraries were imported before the fork, and their native threads
    exist only in the warm process; the child must still exit 0, not abort at exit."""
    (warm.folder / "notes").mkdir()
    (warm.folder / "notes" / "guide.md").write_text(NOTES)
    (warm.folder / "answer.j2").write_text(
        "{% for c in contexts %}{{ c.text }}\n{% endfor %}Question: {{ question }}"
    )
    (warm.folder / "ask.yaml").write_text(ASK)
    first = warm.ragline("run", "ask.yaml", "-p", "question=Where are the vectors kept?")
    assert first.returncode == 0, first.stderr
    warm.wait_until_listening()
    for question in ("Where does LanceDB keep vectors?", "What retries a failed step?"):
        served = warm.ragline("run", "ask.yaml", "-p", f"question={question}")
        assert served.returncode == 0, served.stderr
        assert served.stdout.startswith("answer: ")
    alone = warm.ragline("run", "ask.yaml", "-p", f"question={question}", RAGLINE_WARM="0")
    assert served.stdout == alone.stdout
    assert len(warm.served()) == 2, f"{warm.log()}\n{served.stderr}"


def test_json_output_goes_to_the_callers_stdout(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    result = warm.ragline("run", "probe.yaml", "--json", "-p", "marker=json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "completed"
    assert document["outputs"]["pid"] in warm.served()


def error_lines(stderr: str) -> list[str]:
    """The lines a user reads about a failure, without the ids that differ between runs."""
    lines = [line for line in stderr.splitlines() if not line[:2].isdigit()]  # no log lines
    lines = [re.sub(r"rl-[0-9a-f]+", "rl-ID", line) for line in lines]
    lines = [re.sub(r"attempt \d+", "attempt N", line) for line in lines]  # the flaky step's count
    return [re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "UUID", line) for line in lines]


def _start_sleeping_run(warm: Warm, seconds: int) -> tuple[subprocess.Popen[bytes], int]:
    """A served run of a sleeping step; the caller and the pid of the run's own process."""
    proc = subprocess.Popen(
        [RAGLINE, "run", "sleeps.yaml", "-p", f"seconds={seconds}"],
        cwd=warm.folder,
        env=warm.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        served = warm.served()
        if served and (warm.home / "ragline-runs" / f"{served[-1]}.json").exists():
            record = json.loads((warm.home / "ragline-runs" / f"{served[-1]}.json").read_text())
            if record["flow_run_ids"]:
                return proc, served[-1]
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.2)
    pytest.fail("the served run did not start its flow run")


def test_ctrl_c_reaches_the_run(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    proc, run_pid = _start_sleeping_run(warm, seconds=15)
    proc.send_signal(signal.SIGINT)
    # As in its own process: the flow run is interrupted at once (CRASHED), and the process
    # exits once the step's thread has finished its sleep.
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert b"Execution was aborted by an interrupt signal" in stderr
    assert stderr.rstrip().endswith(b"interrupted")
    assert not alive(run_pid)


def test_a_killed_caller_takes_its_run_with_it(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    proc, run_pid = _start_sleeping_run(warm, seconds=120)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while alive(run_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(run_pid), "the run outlived its caller"
    # The warm process lives on and serves the next run.
    assert warm.probe()["version"] == "1"


def test_another_environment_gets_its_own_process_and_the_old_one_stops(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    [(old_pid, old_started, old_key)] = warm.processes()

    other = warm.probe(RAGLINE_EXAMPLE_SETTING="other")
    assert int(other["pid"]) not in warm.served()  # not served by the old process
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and [k for *_, k in warm.processes() if k != old_key] == []:
        time.sleep(0.2)
    while alive(old_pid, old_started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(old_pid, old_started), "the warm process of the old environment still runs"
    served = warm.probe(RAGLINE_EXAMPLE_SETTING="other")
    assert int(served["pid"]) in warm.served()


def test_ragline_server_stop_stops_the_warm_processes(warm: Warm) -> None:
    warm.probe()
    warm.wait_until_listening()
    [(pid, started, key)] = warm.processes()
    result = warm.ragline("server", "stop")
    assert result.returncode == 0, result.stderr
    assert f"stopped the warm ragline process (pid {pid})" in result.stdout
    deadline = time.monotonic() + 30
    while alive(pid, started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid, started)
    assert not wire.socket_path(warm.home, key).exists()
    assert list(wire.folder(warm.home).glob("*.json")) == []


def test_turned_off_no_warm_process_starts(warm: Warm) -> None:
    for _ in range(2):
        assert warm.probe(RAGLINE_WARM="0")["version"] == "1"
    assert not wire.folder(warm.home).exists()
