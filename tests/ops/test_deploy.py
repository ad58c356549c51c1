"""`ragline deploy`: one deployment per workflow, its inputs as parameters, its
schedules as Prefect schedules, idempotent, and nothing deployed when a file is bad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops_support import Cli, api, execute_flow_run, greet_workflow, task_names, wait_for
from prefect.exceptions import ObjectNotFound

SCHEDULES = """\
schedule:
  - {cron: "0 6 * * 1-5", timezone: Europe/Paris, parameters: {times: 2}}
  - {interval: 3600, parameters: {times: 1, who: ada}}
  - {rrule: "FREQ=WEEKLY;BYDAY=SA", active: false, parameters: {times: 3}}
"""


def deployment(full_name: str) -> Any:
    return api(lambda c: c.read_deployment_by_name(full_name))


def test_deploy_makes_a_deployment_with_the_inputs_and_every_schedule(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    scheduled = greet_workflow(tmp_path, "ops-deploy-scheduled", SCHEDULES)
    unscheduled = greet_workflow(tmp_path, "ops-deploy-plain")
    result = cli("deploy", str(scheduled), str(unscheduled))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("created   ops-deploy-scheduled/default")

    d = deployment("ops-deploy-scheduled/default")
    assert d.entrypoint == "flows/run_workflow.py:workflow"
    assert d.description == "Greets someone, on a schedule."
    assert d.enforce_parameter_schema
    schema = d.parameter_openapi_schema
    assert schema["required"] == ["times"]
    assert schema["properties"]["who"] == {
        "title": "who",
        "position": 0,
        "type": "string",
        "description": "whom to greet",
        "default": "world",
    }
    assert schema["properties"]["times"]["minimum"] == 1
    assert schema["properties"]["times"]["maximum"] == 5

    by_slug = {s.slug: s for s in d.schedules}
    assert set(by_slug) == {"cron-0", "interval-1", "rrule-2"}
    cron = by_slug["cron-0"]
    assert (cron.schedule.cron, cron.schedule.timezone) == ("0 6 * * 1-5", "Europe/Paris")
    assert cron.parameters == {"times": 2} and cron.active
    assert by_slug["interval-1"].schedule.interval.total_seconds() == 3600
    assert by_slug["interval-1"].parameters == {"times": 1, "who": "ada"}
    assert "FREQ=WEEKLY;BYDAY=SA" in by_slug["rrule-2"].schedule.rrule
    assert not by_slug["rrule-2"].active

    plain = deployment("ops-deploy-plain/default")
    assert plain.schedules == []
    flow = api(lambda c: c.read_flow(plain.flow_id))
    assert flow.name == "ops-deploy-plain"


def test_redeploying_an_unchanged_workflow_changes_nothing_and_a_change_updates(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    path = greet_workflow(tmp_path, "ops-deploy-again", SCHEDULES)
    assert cli("deploy", str(path), "--name", "nightly").returncode == 0
    first = deployment("ops-deploy-again/nightly")

    again = cli("deploy", str(path), "--name", "nightly")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("unchanged ops-deploy-again/nightly")
    second = deployment("ops-deploy-again/nightly")
    assert (second.updated, second.version) == (first.updated, first.version)
    assert [s.id for s in second.schedules] == [s.id for s in first.schedules]

    path.write_text(path.read_text().replace("interval: 3600", "interval: 600"))
    changed = cli("deploy", str(path), "--name", "nightly")
    assert changed.stdout.startswith("updated   ops-deploy-again/nightly"), changed.stderr
    third = deployment("ops-deploy-again/nightly")
    assert third.id == first.id
    assert third.version != first.version
    intervals = [
        s.schedule.interval.total_seconds() for s in third.schedules if s.slug == "interval-1"
    ]
    assert intervals == [600]


def test_a_bad_schedule_is_reported_at_its_line_and_nothing_is_deployed(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    good = greet_workflow(tmp_path, "ops-deploy-good")
    bad = greet_workflow(
        tmp_path,
        "ops-deploy-bad",
        'schedule:\n  - {cron: "0 6 * * *", timezone: Mars/Olympus}\n',
    )
    result = cli("deploy", str(good), str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{bad}:14:35  schedule[0].timezone" in result.stderr
    assert "Mars/Olympus" in result.stderr
    assert "nothing was deployed" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(ObjectNotFound):
        deployment("ops-deploy-good/default")


def test_deploying_to_a_missing_work_pool_says_how_to_create_it(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    path = greet_workflow(tmp_path, "ops-deploy-nopool")
    result = cli("deploy", str(path), "--pool", "no-such-pool")
    assert result.returncode == 2
    assert "work pool 'no-such-pool' does not exist" in result.stderr
    assert "prefect work-pool create no-such-pool --type process" in result.stderr
    with pytest.raises(ObjectNotFound):
        deployment("ops-deploy-nopool/default")


def test_a_deployment_run_executes_the_workflow_named_after_it_with_its_parameters(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    path = greet_workflow(tmp_path, "ops-deploy-run")
    assert cli("deploy", str(path)).returncode == 0
    d = deployment("ops-deploy-run/default")
    run = api(lambda c: c.create_flow_run_from_deployment(d.id, parameters={"times": 2}))

    done = execute_flow_run(str(run.id))  # what a process worker runs for it
    assert done.returncode == 0, done.stderr[-3000:]
    finished = api(lambda c: c.read_flow_run(run.id))
    assert finished.state.is_completed(), finished.state
    assert finished.name.startswith("ops-deploy-run-")
    assert finished.parameters == {"times": 2}
    # Task runs reach the server as events, a moment after the flow run ends.
    assert wait_for(lambda: task_names(run.id), 15, "the task runs") == ["greet"]


def test_the_server_refuses_parameters_that_do_not_fit_the_inputs(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    path = greet_workflow(tmp_path, "ops-deploy-params")
    assert cli("deploy", str(path)).returncode == 0
    d = deployment("ops-deploy-params/default")
    from prefect.exceptions import PrefectHTTPStatusError

    with pytest.raises(PrefectHTTPStatusError, match="times"):
        api(lambda c: c.create_flow_run_from_deployment(d.id, parameters={"times": 9}))
