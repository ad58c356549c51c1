"""API keys are references resolved at run time: env:NAME or a Prefect Secret block."""

from __future__ import annotations

import uuid

import pytest

from ragline.errors import ConfigError
from ragline.llm.redact import redact
from ragline.llm.secrets import resolve_secret
from ragline.testing.fixtures import workflow_model
from ragline.testing.openai_server import FakeOpenAI


def test_a_missing_environment_variable_names_the_field_and_the_fix(
    service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError) as err:
        service(models={"answer": [{"model": "openai/x", "api_key": "env:NOT_SET_ANYWHERE"}]})
    assert "models.answer[0].api_key: environment variable NOT_SET_ANYWHERE is not set" in str(
        err.value
    )
    assert "export NOT_SET_ANYWHERE=" in str(err.value)


def test_a_literal_key_is_rejected_by_the_workflow_schema() -> None:
    with pytest.raises(ValueError, match="String should match pattern"):
        workflow_model(models={"answer": [{"model": "openai/x", "api_key": "sk-literal-key"}]})


def test_a_prefect_secret_block_is_resolved_at_run_time_and_masked(
    prefect: str, openai_server: FakeOpenAI, service
) -> None:
    from prefect.blocks.system import Secret

    name = f"ragline-test-{uuid.uuid4().hex[:8]}"
    value = f"sk-block-{uuid.uuid4().hex}"
    Secret(value=value).save(name)
    openai_server.set_behavior("guarded", "401")
    svc = service(
        models={
            "answer": [
                {
                    "model": "openai/guarded",
                    "api_base": openai_server.base_url,
                    "api_key": f"secret:{name}",
                }
            ]
        },
        routing={"num_retries": 0},
    )
    with pytest.raises(Exception) as err:
        svc.complete("answer", [{"role": "user", "content": "hi"}])
    sent = openai_server.calls("guarded")[0].headers["Authorization"]
    assert sent == f"Bearer {value}"
    assert value not in str(err.value)
    assert "Incorrect API key provided: ***" in str(err.value)
    assert redact(f"key={value}") == "key=***"


def test_a_missing_prefect_secret_block_is_a_config_error(prefect: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_secret("secret:no-such-block-anywhere", "models.answer[0].api_key")
    assert "cannot load Prefect Secret block 'no-such-block-anywhere'" in str(err.value)
