"""`ragline doctor` tries what a run will need and says what is wrong, on one screen:
exit 0 when all is well, 1 when a check fails, 2 for an invalid workflow."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from ragline.ops.doctor import (
    check_model,
    check_prefect_api,
    check_prefect_database,
    check_redis,
    check_secret,
    check_store,
    redact_url,
)
from ragline.spec.model import Deployment, StoreSpec
from ragline.testing.openai_server import FakeOpenAI


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workflow_file(folder: Path, **sections: Any) -> Path:
    data = {
        "apiVersion": "ragline/v1",
        "name": "checked",
        "steps": [{"id": "hello", "uses": "value", "with": {"value": "hi"}}],
        **sections,
    }
    path = folder / "checked.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def checks_of(stdout: str) -> dict[str, dict[str, Any]]:
    report = json.loads(stdout)
    return {c["name"]: c for s in report["sections"] for c in s["checks"]}


# -- through the CLI --------------------------------------------------------------------------


def test_a_healthy_setup_passes_every_check(
    tmp_path: Path, prefect: str, cli: Any, openai_server: FakeOpenAI
) -> None:
    path = workflow_file(
        tmp_path,
        models={
            "answer": [
                {
                    "model": "openai/gpt-4o-mini",
                    "api_base": openai_server.base_url,
                    "api_key": "env:DOCTOR_KEY",
                }
            ],
            "local": [{"model": "local/extractive"}],
        },
        stores={"docs": {"uri": ".ragline/lancedb", "table": "docs"}},
    )
    result = cli("doctor", str(path), env={"DOCTOR_KEY": "sk-doctor-secret-value"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "environment"
    assert any(line.split()[:3] == ["ok", "prefect", "api"] and prefect in line for line in lines)
    for name in ("store docs", "model answer[0]", "model local[0]", "secret env:DOCTOR_KEY"):
        assert any(line.strip().startswith(f"ok    {name}") for line in lines), name
    assert lines[-1] == "all checks passed"
    assert "sk-doctor-secret-value" not in result.stdout + result.stderr


def test_every_problem_is_reported_at_once_and_the_exit_code_is_1(
    tmp_path: Path, prefect: str, cli: Any
) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the store should be")
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    path = workflow_file(
        tmp_path,
        models={"answer": [{"model": "openai/m", "api_base": dead, "api_key": "env:NOT_SET_KEY"}]},
        stores={"docs": {"uri": "not-a-folder/lancedb", "table": "docs"}},
    )
    api = f"http://127.0.0.1:{closed_port()}/api"
    result = cli("doctor", str(path), "--json", env={"PREFECT_API_URL": api})
    assert result.returncode == 1, result.stdout + result.stderr
    checks = checks_of(result.stdout)
    failed = {name for name, c in checks.items() if c["status"] == "fail"}
    assert failed == {"prefect api", "store docs", "model answer[0]", "secret env:NOT_SET_KEY"}
    assert api in checks["prefect api"]["detail"]
    assert "NOT_SET_KEY is not set" in checks["secret env:NOT_SET_KEY"]["detail"]
    assert dead in checks["model answer[0]"]["detail"]
    assert "is a file" in checks["store docs"]["detail"]


def test_the_screen_says_what_failed_and_what_to_do(tmp_path: Path, cli: Any) -> None:
    api = f"http://127.0.0.1:{closed_port()}/api"
    result = cli("doctor", env={"PREFECT_API_URL": api})
    assert result.returncode == 1
    assert f"FAIL  prefect api  {api} cannot be reached" in result.stdout
    assert "hint: start the server (`ragline server` or `prefect server start`)" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 problem(s)"


def test_an_invalid_workflow_exits_2_with_its_diagnostics(tmp_path: Path, cli: Any) -> None:
    path = workflow_file(tmp_path, stepz=[])
    result = cli("doctor", str(path))
    assert result.returncode == 2
    assert "checked.yaml:" in result.stderr and "stepz" in result.stderr
    assert "Traceback" not in result.stderr


# -- each check on its own --------------------------------------------------------------------


def test_an_unreachable_prefect_api_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = f"http://127.0.0.1:{closed_port()}/api"
    with temporary_settings({PREFECT_API_URL: url}):
        check = check_prefect_api()
    assert check.status == "fail" and url in check.detail and "Connection refused" in check.detail


def test_a_missing_secret_is_named_and_a_present_one_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCTOR_MISSING", raising=False)
    missing = check_secret("env:DOCTOR_MISSING", "models.answer[0].api_key")
    assert missing.status == "fail"
    assert missing.detail == (
        "environment variable DOCTOR_MISSING is not set (models.answer[0].api_key)"
    )
    monkeypatch.setenv("DOCTOR_PRESENT", "sk-very-secret")
    present = check_secret("env:DOCTOR_PRESENT", "models.answer[0].api_key")
    assert present.status == "ok" and "sk-very-secret" not in repr(present)


def test_a_store_folder_that_cannot_be_created_fails(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("")
    check = check_store("docs", StoreSpec(uri="blocked/db", table="t"), tmp_path)
    assert check.status == "fail" and "is a file" in check.detail


def test_an_existing_store_is_opened_with_lancedb(tmp_path: Path) -> None:
    import lancedb

    lancedb.connect(str(tmp_path / "db")).create_table("docs", data=[{"id": "a", "n": 1}])
    present = check_store("docs", StoreSpec(uri="db", table="docs"), tmp_path)
    assert present.status == "ok" and "table docs present" in present.detail
    fresh = check_store("new", StoreSpec(uri="later/db", table="docs"), tmp_path)
    assert fresh.status == "ok" and "will be created" in fresh.detail


def test_an_unreachable_model_endpoint_fails_and_a_live_one_answers(
    openai_server: FakeOpenAI,
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    down = check_model("answer", 0, Deployment(model="openai/m", api_base=dead))
    assert down.status == "fail" and dead in down.detail and down.hint
    up = check_model("answer", 0, Deployment(model="openai/m", api_base=openai_server.base_url))
    assert up.status == "ok" and "answered HTTP" in up.detail
    unknown = check_model("answer", 0, Deployment(model="local/nope"))
    assert unknown.status == "fail" and "local/extractive" in (unknown.hint or "")


def test_an_unreachable_redis_fails_without_showing_its_password() -> None:
    check = check_redis(f"redis://:hunter2@127.0.0.1:{closed_port()}/0")
    assert check.status == "fail" and "hunter2" not in repr(check)
    assert redact_url("postgresql://u:pw@db:5432/x") == "postgresql://u:***@db:5432/x"


def test_a_postgres_database_that_refuses_is_reported_without_its_password() -> None:
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings

    url = f"postgresql+asyncpg://prefect:s3cret@127.0.0.1:{closed_port()}/prefect"
    with temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: url}):
        check = check_prefect_database()
    assert check is not None and check.status == "fail"
    assert "nothing answers at 127.0.0.1:" in check.detail and "s3cret" not in repr(check)
    with temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: "sqlite+aiosqlite:///x.db"}):
        assert check_prefect_database() is None
