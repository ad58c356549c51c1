"""Routing through LiteLLM over real HTTP: retries, fallbacks, timeouts, broken answers."""

from __future__ import annotations

import time

import pytest

from ragline.errors import StepError
from ragline.testing.fixtures import fake_deployments as deployments
from ragline.testing.openai_server import FakeOpenAI

USER = [{"role": "user", "content": "What is ragline?"}]


def test_a_rate_limited_request_is_retried_after_retry_after(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.retry_after = 1.0
    openai_server.script("m1", ["429"])
    svc = service(models={"answer": deployments(openai_server, "m1")}, routing={"num_retries": 2})
    result = svc.complete("answer", USER)
    assert result.text == "echo: What is ragline?"
    calls = openai_server.calls("m1")
    assert [r.behavior for r in calls] == ["429", "ok"]
    assert calls[1].at - calls[0].at >= 0.5  # waited ~Retry-After: 1 (0.88 s seen)
    assert result.usage.retries == 1
    assert result.usage.model == "openai/m1"


def test_a_failing_deployment_falls_back_to_the_second_one(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.set_behavior("broken", "500")
    svc = service(
        models={
            "answer": [*deployments(openai_server, "broken"), *deployments(openai_server, "good")]
        },
        routing={"num_retries": 2},
    )
    answers = [svc.complete("answer", [{"role": "user", "content": f"q{i}"}]) for i in range(4)]
    assert {a.usage.model for a in answers} == {"openai/good"}
    assert {a.deployment for a in answers} == {"answer[1]"}
    assert len(openai_server.calls("good")) == 4


def test_fallback_alias_answers_when_every_deployment_of_the_first_fails(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.set_behavior("primary", "500")
    svc = service(
        models={
            "answer": deployments(openai_server, "primary"),
            "backup": deployments(openai_server, "secondary"),
        },
        routing={"num_retries": 1, "fallbacks": {"answer": ["backup"]}},
    )
    result = svc.complete("answer", USER)
    assert result.usage.model == "openai/secondary"
    assert result.usage.fallbacks == 1
    # The failed deployment is cooled down at once (allowed_fails 0), and with a
    # fallback alias configured LiteLLM goes there rather than retry a cooled-down one.
    assert len(openai_server.calls("primary")) == 1


def test_when_no_deployment_works_the_error_names_each_deployment(
    openai_server: FakeOpenAI, service, api_key: str
) -> None:
    openai_server.set_behavior("m-500", "500")
    openai_server.set_behavior("m-429", "429")
    openai_server.set_behavior("m-empty", "no_choices")
    svc = service(
        models={
            "answer": deployments(openai_server, "m-500", "m-429"),
            "backup": deployments(openai_server, "m-empty"),
        },
        routing={"num_retries": 1, "fallbacks": {"answer": ["backup"]}},
    )
    with pytest.raises(StepError) as err:
        svc.complete("answer", USER)
    message = str(err.value)
    assert "model alias 'answer': no deployment answered" in message
    assert "answer[0] (openai/m-500): InternalServerError" in message
    assert "the fake server failed" in message
    assert "answer[1]" in message and "rate limited by the fake server" in message
    assert "fallback 'backup'" in message and "choices" in message
    assert err.value.category == "model"
    assert api_key not in message


def test_a_hanging_server_times_out_as_a_retryable_model_error(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.set_behavior("slow", "hang")
    svc = service(
        models={"answer": deployments(openai_server, "slow")},
        routing={"num_retries": 0, "timeout": 0.5},
    )
    started = time.monotonic()
    with pytest.raises(StepError) as err:
        svc.complete("answer", USER)
    assert time.monotonic() - started < 8
    assert "Timeout" in str(err.value)
    assert err.value.retryable and err.value.category == "model"


def test_malformed_json_is_a_model_error_naming_the_deployment(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.set_behavior("bad", "malformed")
    svc = service(models={"answer": deployments(openai_server, "bad")}, routing={"num_retries": 0})
    with pytest.raises(StepError) as err:
        svc.complete("answer", USER)
    assert "answer[0]" in str(err.value)
    assert err.value.category == "model"


def test_any_working_deployment_is_enough(openai_server: FakeOpenAI, service) -> None:
    openai_server.set_behavior("a", "500")
    openai_server.set_behavior("b", "malformed")
    svc = service(
        models={"answer": deployments(openai_server, "a", "b", "c")},
        routing={"num_retries": 3, "strategy": "least-busy"},
    )
    for i in range(3):
        assert (
            svc.complete("answer", [{"role": "user", "content": f"n{i}"}]).usage.model == "openai/c"
        )


@pytest.mark.parametrize(
    "strategy", ["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing"]
)
def test_every_routing_strategy_spreads_calls_over_working_deployments(
    openai_server: FakeOpenAI, service, strategy: str
) -> None:
    svc = service(
        models={"answer": deployments(openai_server, "a", "b", tpm=100000, rpm=6000)},
        routing={"strategy": strategy},
    )
    used = {
        svc.complete("answer", [{"role": "user", "content": f"q{i}"}]).usage.model for i in range(6)
    }
    assert used <= {"openai/a", "openai/b"} and used
    assert len(openai_server.requests) == 6


def test_calls_to_one_deployment_reuse_one_connection(openai_server: FakeOpenAI, service) -> None:
    svc = service(models={"answer": deployments(openai_server, "m")})
    for i in range(8):
        svc.complete("answer", [{"role": "user", "content": f"q{i}"}])
    assert len({r.peer for r in openai_server.calls("m")}) == 1


def test_a_one_deployment_alias_that_keeps_failing_gets_every_retry(
    openai_server: FakeOpenAI, service
) -> None:
    """Its first attempt skips the Router; the retries and the final report are the Router's."""
    openai_server.set_behavior("down", "500")
    svc = service(models={"answer": deployments(openai_server, "down")}, routing={"num_retries": 2})
    with pytest.raises(StepError) as err:
        svc.complete("answer", USER)
    assert len(openai_server.calls("down")) == 3  # the first attempt and two retries
    message = str(err.value)
    assert "model alias 'answer': no deployment answered (3 failed attempts)" in message
    assert "answer[0] (openai/down): InternalServerError" in message
    assert err.value.retryable


def test_a_rejected_key_is_not_retried(openai_server: FakeOpenAI, service, api_key: str) -> None:
    openai_server.set_behavior("m", "401")
    svc = service(models={"answer": deployments(openai_server, "m")}, routing={"num_retries": 2})
    with pytest.raises(StepError) as err:
        svc.complete("answer", USER)
    assert len(openai_server.calls("m")) == 1
    message = str(err.value)
    assert "(1 failed attempts)" in message
    assert "answer[0] (openai/m): AuthenticationError" in message
    assert not err.value.retryable
    assert api_key not in message


def test_a_one_deployment_alias_answers_through_the_router(
    openai_server: FakeOpenAI, service
) -> None:
    """Every alias is routed (no side path): the answer names its deployment, no retry counted."""
    svc = service(
        models={
            "single": deployments(openai_server, "a"),
            "pair": deployments(openai_server, "a", "b"),
            "paced": deployments(openai_server, "a", rpm=600),
            "guarded": deployments(openai_server, "a"),
            "spare": deployments(openai_server, "b"),
        },
        routing={"fallbacks": {"guarded": ["spare"]}},
    )
    answer = svc.complete("single", USER)
    assert answer.deployment == "single[0]" and answer.usage.model == "openai/a"
    assert answer.usage.retries == 0
    assert len(openai_server.calls("a")) == 1


def test_with_retries_off_a_failing_call_is_made_once(openai_server: FakeOpenAI, service) -> None:
    openai_server.set_behavior("down", "500")
    svc = service(models={"single": deployments(openai_server, "down")}, routing={"num_retries": 0})
    with pytest.raises(StepError) as err:
        svc.complete("single", USER)
    assert len(openai_server.calls("down")) == 1
    assert "(1 failed attempts)" in str(err.value)
