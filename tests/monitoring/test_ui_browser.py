"""What a user sees in the Prefect UI, checked in a real headless Chromium (Debian's package,
driven by Playwright's Python client): the flow named after the workflow, task runs named
after step ids, the inputs as parameters, a retried step's retries, the run summary artifact,
and a failed step's error with its id and the user's words."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from monitoring_helpers import task_run_states, write

from ragline.testing.prefect_server import free_port, local_prefect_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

WORKFLOW = """\
    apiVersion: ragline/v1
    name: ui-check
    inputs:
      who: {type: string, default: world}
    defaults: {retry_delay_seconds: 0, cache: false, tags: [nightly]}
    steps:
      - id: greet
        uses: value
        with: {value: "hello ${{ inputs.who }}"}
      - id: shaky
        uses: flaky
        retries: 2
        retry_delay_seconds: 1
        with: {log: attempts.log, failures: 1}
    """

DOOMED = """\
    apiVersion: ragline/v1
    name: ui-doomed
    defaults: {retry_delay_seconds: 0, cache: false}
    steps:
      - id: doomed
        uses: flaky
        retries: 1
        with: {log: doomed.log, failures: 5}
    """


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server with its UI on 127.0.0.1 (the session's server runs without one)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    home = tmp_path_factory.mktemp("prefect-ui")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ui_env = {
        "PREFECT_API_URL": f"{url}/api",
        "PREFECT_UI_API_URL": f"{url}/api",
        "PREFECT_UI_ENABLED": "true",
    }
    with local_prefect_server(home, port=port, env=ui_env, ui=True, timeout=120):
        yield url


def run_workflow(cli: Any, path: Path, ui: str, plugin_env: dict[str, str]) -> dict[str, Any]:
    # INFO, a user's default (the test session sets WARNING): Prefect's retry lines are INFO.
    env = {**plugin_env, "PREFECT_API_URL": f"{ui}/api", "PREFECT_LOGGING_LEVEL": "INFO"}
    result = cli("run", str(path), "--json", env=env)
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (the UI fills in as its API calls return)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=30_000)
    return playwright_expect(locator)


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(url)
    return page


def test_a_retried_step_shows_its_retries_in_the_ui(
    tmp_path: Path, ui_server: str, browser: Any, cli: Any, plugin_env: dict[str, str]
) -> None:
    report = run_workflow(cli, write(tmp_path, WORKFLOW), ui_server, plugin_env)
    assert report["status"] == "completed"
    run_id = report["flow_run_id"]
    api = f"{ui_server}/api"

    flow_run = httpx.get(f"{api}/flow_runs/{run_id}").json()
    assert flow_run["parameters"] == {"who": "world"}
    assert re.fullmatch(r"ui-check-\d{8}-\d{6}", flow_run["name"])
    flow = httpx.get(f"{api}/flows/{flow_run['flow_id']}").json()
    assert flow["name"] == "ui-check"
    states = task_run_states(api, run_id)
    assert set(states) == {"greet", "shaky"}
    shaky = [s["name"] for s in states["shaky"]]
    assert "AwaitingRetry" in shaky and "Retrying" in shaky and shaky[-1] == "Completed"

    page = open_page(browser, f"{ui_server}/runs/flow-run/{run_id}")
    body = page.locator("body")
    expect(body).to_contain_text("Retry 1/2 will start")
    expect(body).to_contain_text(flow_run["name"])  # the run, named after the workflow
    page.screenshot(path=str(tmp_path / "flow-run-logs.png"), full_page=True)

    page.get_by_text("Task Runs", exact=True).click()
    expect(body).to_contain_text(re.compile(r"2 completed", re.IGNORECASE))
    expect(body).to_contain_text("nightly")  # the workflow's tags on its task rows
    expect(page.get_by_text("shaky", exact=True).first).to_be_visible()
    expect(page.get_by_text("greet", exact=True).first).to_be_visible()
    page.screenshot(path=str(tmp_path / "flow-run-task-runs.png"), full_page=True)

    page.get_by_text("Parameters", exact=True).click()
    expect(body).to_contain_text("who")
    expect(body).to_contain_text("world")

    page.get_by_text("Artifacts", exact=True).click()
    expect(body).to_contain_text("run-summary")
    page.screenshot(path=str(tmp_path / "flow-run-artifacts.png"), full_page=True)

    shaky_id = states["shaky"][-1]["state_details"]["task_run_id"]
    page.goto(f"{ui_server}/runs/task-run/{shaky_id}")
    expect(body).to_contain_text("attempt 1 failed on purpose")
    expect(body).to_contain_text(re.compile(r"Run Count\s*2"))
    page.screenshot(path=str(tmp_path / "task-run-shaky.png"), full_page=True)

    page.goto(f"{ui_server}/events?resource=prefect.task-run.{shaky_id}")
    expect(body).to_contain_text("Task run retrying")
    page.screenshot(path=str(tmp_path / "task-run-events.png"), full_page=True)
    page.close()
    assert (tmp_path / "flow-run-logs.png").stat().st_size > 10_000


def test_a_failed_step_shows_its_id_and_the_users_words_not_a_traceback(
    tmp_path: Path, ui_server: str, browser: Any, cli: Any, plugin_env: dict[str, str]
) -> None:
    report = run_workflow(cli, write(tmp_path, DOOMED), ui_server, plugin_env)
    assert report["status"] == "failed" and report["error"]["step_id"] == "doomed"
    run_id = report["flow_run_id"]
    api = f"{ui_server}/api"

    state = httpx.get(f"{api}/flow_runs/{run_id}").json()["state"]
    assert state["type"] == "FAILED"
    message = state["message"]
    assert "step 'doomed' failed" in message and "attempt 2 failed on purpose" in message
    assert "Traceback" not in message
    doomed = [s["name"] for s in task_run_states(api, run_id)["doomed"]]
    assert "Retrying" in doomed and doomed[-1] == "Failed"

    page = open_page(browser, f"{ui_server}/runs/flow-run/{run_id}")
    body = page.locator("body")
    expect(body).to_contain_text("step doomed failed")
    expect(body).to_contain_text("attempt 2 failed on purpose")
    expect(body).to_contain_text("Failed")
    page.screenshot(path=str(tmp_path / "failed-run.png"), full_page=True)
    page.close()
