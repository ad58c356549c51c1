"""`ragline validate` checks cron expressions, rrules and timezones the way Prefect
will at `ragline deploy`, each at its own position, without importing Prefect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ragline.spec.schedules import cron_problem, rrule_problem, timezone_problem
from ragline.validation.workflow import validate_file

ROOT = Path(__file__).resolve().parents[2]

CRONS = [
    "0 6 * * *",
    "*/15 9-17 * * mon-fri",
    "0 0 1 jan,jul *",
    "@daily",
    "0 6 * * 1#2",
    "0 6 L * *",
    "0 6 * * * 30",
    "0 25 * * *",
    "60 * * * *",
    "0 6 * * 8",
    "0 6 * *",
    "a b c d e",
    "H 6 * * *",
    "R R * * *",
    "",
]
TIMEZONES = ["UTC", "Europe/Paris", "America/New_York", "Etc/GMT+5", "Europe/Pari", "Mars/Olympus"]


@pytest.mark.parametrize("cron", CRONS)
def test_a_cron_expression_is_refused_exactly_when_prefect_refuses_it(cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
        prefect_accepts = True
    except ValueError:
        prefect_accepts = False
    assert (cron_problem(cron) is None) == prefect_accepts


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_a_timezone_is_refused_exactly_when_prefect_refuses_it(timezone: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron="0 6 * * *", timezone=timezone)
        prefect_accepts = True
    except ValueError:
        prefect_accepts = False
    assert (timezone_problem(timezone) is None) == prefect_accepts


@pytest.mark.parametrize("rrule", ["FREQ=WEEKLY;BYDAY=MO;BYHOUR=6", "FREQ=SOMETIMES", "nonsense"])
def test_an_rrule_is_refused_exactly_when_prefect_refuses_it(rrule: str) -> None:
    from prefect.client.schemas.schedules import RRuleSchedule

    try:
        RRuleSchedule(rrule=rrule)
        prefect_accepts = True
    except ValueError:
        prefect_accepts = False
    assert (rrule_problem(rrule) is None) == prefect_accepts


def test_a_bad_cron_and_a_bad_timezone_are_each_reported_at_their_own_key(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        "apiVersion: ragline/v1\nname: s\nsteps:\n  - {id: a, uses: value, with: {value: 1}}\n"
        'schedule: {cron: "0 25 * * *", timezone: Europe/Pari}\n'
    )
    found = [(d.line, d.col, d.path) for d in validate_file(path)]
    assert found == [(5, 18, "schedule.cron"), (5, 42, "schedule.timezone")]


PROBE = """\
import contextlib, io, sys
from ragline.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(code, "prefect" in sys.modules)
"""


@pytest.mark.integration
@pytest.mark.parametrize(
    ("path", "code"),
    [("workflows/ingest_docs.yaml", 0), ("tests/data/invalid/bad_schedules.yaml", 2)],
)
def test_checking_schedules_does_not_import_prefect(path: str, code: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "validate", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == [str(code), "False"], result.stderr


def test_deploy_reports_a_bad_cron_and_timezone_each_at_its_own_key_too() -> None:
    # Built without validation, as if validate had been skipped: deploy's own check.
    from ragline.errors import WorkflowError
    from ragline.ops.schedules import deployment_schedules
    from ragline.spec.loader import load_yaml_text
    from ragline.spec.model import Workflow
    from ragline.validation.workflow import LoadedWorkflow

    source = load_yaml_text(
        "apiVersion: ragline/v1\nname: s\nsteps:\n  - {id: a, uses: value, with: {value: 1}}\n"
        'schedule:\n  - {interval: 60}\n  - {cron: "0 25 * * *", timezone: Europe/Pari}\n',
        "wf.yaml",
    )
    loaded = LoadedWorkflow(Workflow.model_validate(source.data), Path("wf.yaml"), source)
    with pytest.raises(WorkflowError) as err:
        deployment_schedules(loaded)
    found = [(d.line, d.col, d.path) for d in err.value.diagnostics]
    assert found == [(7, 12, "schedule[1].cron"), (7, 36, "schedule[1].timezone")]
