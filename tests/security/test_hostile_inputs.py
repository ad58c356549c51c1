"""Hostile inputs (issue 12, items 1-5): what a template path, an expression, a run
parameter, a secret and a server's auth string may and may not do (docs/security.md).

Validation-time refusals also live in tests/data/invalid/ (template_outside_roots,
expression_attributes, env_secret) with their exact diagnostics.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ragline.errors import ConfigError, StepError
from ragline.llm.redact import register_secret
from ragline.sdk.context import StepContext
from ragline.spec.expressions import ExpressionError, MissingValue, follow, resolve
from ragline.spec.model import Workflow
from ragline.steps.prompt import PromptConfig, prompt
from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI
from ragline.testing.prefect_server import free_port


def _ctx(folder: Path) -> StepContext:
    wf = Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "t",
            "steps": [{"id": "p", "uses": "value", "with": {"value": 1}}],
        }
    )
    return StepContext(step_id="prompt", workflow=wf, workflow_dir=folder)


# 1. Prompt templates are confined to the workflow's folder (or the step's roots).


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../../../../../../../../../../etc/passwd", "/proc/self/environ", "~/x.j2"],
)
def test_a_template_path_outside_the_workflow_folder_is_refused_at_run_time(
    tmp_path: Path, path: str
) -> None:
    with pytest.raises(ConfigError, match="outside the allowed roots"):
        prompt(PromptConfig(template=path), _ctx(tmp_path / "project"))


def test_a_symlink_out_of_the_workflow_folder_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "secret.txt").write_text("API_KEY=sk-outside")
    (project / "innocent.j2").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ConfigError, match=r"resolves to .*secret\.txt, outside the allowed roots"):
        prompt(PromptConfig(template="innocent.j2"), _ctx(project))


def test_a_configured_root_admits_templates_beside_the_workflow_folder(tmp_path: Path) -> None:
    project, shared = tmp_path / "project", tmp_path / "shared"
    project.mkdir()
    shared.mkdir()
    (shared / "ask.j2").write_text("Question: {{ q }}")
    config = PromptConfig(template="../shared/ask.j2", roots=["../shared"], vars={"q": "why?"})
    assert prompt(config, _ctx(project)).text == "Question: why?"
    with pytest.raises(ConfigError, match="outside the allowed roots"):
        prompt(PromptConfig(template="../shared/ask.j2", vars={"q": "x"}), _ctx(project))


def test_include_reads_through_the_confined_loader(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "rules.j2").write_text("---\nversion: 1\n---\nCite every claim.\n")
    (tmp_path / "answer.j2").write_text("{% include 'partials/rules.j2' %}\n\nQuestion: {{ q }}")
    out = prompt(PromptConfig(template="answer.j2", vars={"q": "why?"}), _ctx(tmp_path))
    assert out.text == "Cite every claim.\nQuestion: why?"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../outside.j2", "'..' is not allowed"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("link.j2", "it resolves outside the allowed roots"),
    ],
)
def test_an_include_leaving_the_roots_is_refused_with_its_line(
    tmp_path: Path, name: str, why: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside.j2").write_text("SECRET")
    (project / "link.j2").symlink_to(tmp_path / "outside.j2")
    # The name comes from a variable, so only the run-time loader can refuse it.
    config = PromptConfig(text="Hello\n{% include page %}", vars={"page": name})
    with pytest.raises(StepError) as err:
        prompt(config, _ctx(project))
    message = str(err.value)
    assert f"with.text:2: '{name}' refused by the template sandbox ({why})" in message
    assert "SECRET" not in message


# 2. Expressions are data paths: keys, indexes, declared fields; never attributes.


class Answer(BaseModel):
    text: str


def test_an_expression_cannot_walk_python_attributes() -> None:
    scope: dict[str, Any] = {"inputs": {"q": "x"}, "steps": {"v": Answer(text="t")}, "env": {}}
    for text in (
        "${{ inputs.q.__class__ }}",
        "${{ steps.v.output.__class__.__init__.__globals__.sys.modules.os.environ.HOME }}",
        "${{ steps.v.output._secrets }}",
    ):
        with pytest.raises(ExpressionError, match="never Python attributes"):
            resolve(text, scope)


def test_a_path_reads_declared_fields_never_methods_or_other_objects() -> None:
    assert follow(Answer(text="t"), ("text",), "x") == "t"
    with pytest.raises(MissingValue, match=r"Answer has no field 'model_dump' \(fields: text\)"):
        follow(Answer(text="t"), ("model_dump",), "x")
    with pytest.raises(MissingValue, match="no field 'upper' on a str"):
        follow("text", ("upper",), "x")
    with pytest.raises(MissingValue, match="not a data field"):
        follow({"__class__": 1}, ("__class__",), "x")


# 3. A run parameter is data: it reaches Jinja as a variable, never as template source.


@pytest.mark.integration
def test_a_parameter_inside_inline_template_text_is_data_not_template_code(
    tmp_path: Path, prefect: str
) -> None:
    from ragline.compiler.flow import compile_workflow
    from ragline.validation.workflow import load_workflow

    path = write_workflow(
        tmp_path,
        {
            "inputs": {"q": {"type": "string"}},
            "steps": [
                {"id": "p", "uses": "prompt", "with": {"text": "Q: ${{ inputs.q }}"}},
                {
                    "id": "m",
                    "uses": "prompt",
                    "with": {"messages": [{"role": "user", "content": "${{ inputs.q }}"}]},
                },
            ],
            "outputs": {"text": "${{ steps.p.output.text }}", "m": "${{ steps.m.output.text }}"},
            "defaults": {"cache": False},
        },
    )
    out = compile_workflow(load_workflow(path))(q="{{ 7*7 }} {% include '/etc/passwd' %}")
    assert out["text"] == "Q: {{ 7*7 }} {% include '/etc/passwd' %}"
    assert out["m"] == "{{ 7*7 }} {% include '/etc/passwd' %}"


# 4. Secrets: declared, then masked wherever a value leaves ragline.


def test_env_of_a_secret_looking_name_is_refused_at_run_time_without_opt_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragline.compiler.values import run_scope

    monkeypatch.setenv("SOME_API_KEY", "sk-never-read")
    with pytest.raises(MissingValue, match="looks like a secret"):
        resolve("${{ env.SOME_API_KEY }}", run_scope({}, {}, secret_env=()))
    assert resolve("${{ env.SOME_API_KEY }}", run_scope({}, {}, ["SOME_API_KEY"])) == (
        "sk-never-read"
    )


@pytest.mark.integration
def test_a_declared_secret_is_masked_in_outputs_and_json(tmp_path: Path, cli, prefect: str) -> None:  # type: ignore[no-untyped-def]
    secret = f"tok-{uuid.uuid4().hex}"
    write_workflow(
        tmp_path,
        {
            "secret_env": ["SEARCH_API_TOKEN"],
            "steps": [
                {
                    "id": "header",
                    "uses": "value",
                    "with": {"value": "Bearer ${{ env.SEARCH_API_TOKEN }}"},
                },
                {"id": "p", "uses": "prompt", "with": {"text": "${{ steps.header.output }}"}},
            ],
            "outputs": {"header": "${{ steps.header.output }}", "prompt": "${{ steps.p.output }}"},
        },
        name="secret.yaml",
    )
    env = {"SEARCH_API_TOKEN": secret}
    text = cli("run", "secret.yaml", cwd=tmp_path, env=env)
    assert text.returncode == 0, text.stderr
    assert "header: Bearer ***" in text.stdout
    as_json = cli("run", "secret.yaml", "--json", cwd=tmp_path, env=env)
    assert as_json.returncode == 0, as_json.stderr
    outputs = json.loads(as_json.stdout)["outputs"]
    assert outputs["header"] == "Bearer ***"
    assert outputs["prompt"]["text"] == "Bearer ***"
    for result in (text, as_json):
        assert secret not in result.stdout + result.stderr


@pytest.mark.integration
def test_a_key_echoed_in_a_model_answer_is_masked_in_the_output_and_the_cache(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragline.compiler.flow import compile_workflow
    from ragline.validation.workflow import load_workflow

    key = f"sk-echo-{uuid.uuid4().hex}"
    monkeypatch.setenv(TEST_KEY_ENV, key)
    openai_server.set_reply("m", f"my key is {key}, keep it safe")
    path = write_workflow(
        tmp_path,
        {
            "models": {"answer": fake_deployments(openai_server, "m")},
            "steps": [
                {"id": "p", "uses": "prompt", "with": {"text": "say your key"}},
                {
                    "id": "g",
                    "uses": "generate",
                    "with": {
                        "model": "answer",
                        "prompt": "${{ steps.p.output }}",
                        "temperature": 0,
                    },
                },
            ],
            "outputs": {"answer": "${{ steps.g.output.text }}"},
            "defaults": {"cache": False},
        },
    )
    out = compile_workflow(load_workflow(path))()
    assert out["answer"] == "my key is ***, keep it safe"
    cache = tmp_path / ".ragline" / "cache"
    stored = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert b"keep it safe" in stored  # the answer was cached...
    assert key.encode() not in stored  # ...without the key


@pytest.mark.integration
def test_the_value_of_a_models_key_never_reaches_a_prompt_or_a_model_request(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragline.compiler.flow import compile_workflow
    from ragline.validation.workflow import load_workflow

    key = f"sk-same-{uuid.uuid4().hex}"
    monkeypatch.setenv(TEST_KEY_ENV, key)
    monkeypatch.setenv("INNOCENT_LOOKING", key)  # the key again, under a name that passes
    path = write_workflow(
        tmp_path,
        {
            "models": {"answer": fake_deployments(openai_server, "m")},
            "steps": [
                {
                    "id": "p",
                    "uses": "prompt",
                    "with": {"text": "x {{ v }}", "vars": {"v": "${{ env.INNOCENT_LOOKING }}"}},
                },
                {
                    "id": "g",
                    "uses": "generate",
                    "with": {
                        "model": "answer",
                        "prompt": "${{ steps.p.output }}",
                        "temperature": 0,
                    },
                },
            ],
            "outputs": {
                "prompt": "${{ steps.p.output.text }}",
                "env": "${{ env.INNOCENT_LOOKING }}",
            },
            "defaults": {"cache": False},
        },
    )
    out = compile_workflow(load_workflow(path))()
    assert out == {"prompt": "x ***", "env": "***"}
    [call] = openai_server.calls("m")
    assert call.headers["Authorization"] == f"Bearer {key}"  # the key goes where it belongs
    assert key not in json.dumps(call.body)  # and nowhere else


def test_every_log_record_is_masked_once_a_secret_is_known(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = f"pw-{uuid.uuid4().hex}"
    register_secret(secret)
    with caplog.at_level(logging.INFO):
        logging.getLogger("ragline.anything").info("connecting with %s", secret)
        logging.getLogger("httpx").warning(f"inline {secret}")
    assert [r.getMessage() for r in caplog.records] == ["connecting with ***", "inline ***"]


# 5. `ragline server` beyond loopback: real credentials; the UI calls its own server.


@pytest.mark.integration
@pytest.mark.parametrize("auth", [" ", ":", "x", "admin:", "admin:short", ":a-long-password-1"])
def test_server_beyond_loopback_refuses_a_trivial_auth_string(
    tmp_path: Path, cli, auth: str
) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
        env={"PREFECT_SERVER_API_AUTH_STRING": auth, "PREFECT_HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to serve the Prefect API on 0.0.0.0" in result.stderr
    assert "user:password" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_the_ui_of_a_server_on_another_port_calls_that_port(tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "ragline"
    process = subprocess.Popen(
        [str(exe), "server", "--port", str(port)],
        env={**os.environ, "PREFECT_HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        settings = None
        while settings is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui-settings") as r:
                    settings = json.load(r)
            except OSError:
                time.sleep(0.5)
        assert settings is not None, "the server did not answer /ui-settings in 120 s"
        assert settings["api_url"] == f"http://127.0.0.1:{port}/api"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.integration
def test_ragline_prompts_does_not_read_a_template_outside_the_roots(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write_workflow(
        tmp_path, {"steps": [{"id": "p", "uses": "prompt", "with": {"template": "/etc/passwd"}}]}
    )
    result = cli("prompts", "workflow.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "prompt template /etc/passwd resolves to /etc/passwd, outside the allowed roots" in (
        result.stderr
    )
    assert "root:" not in result.stdout + result.stderr  # nothing of the file
