"""The response cache, rpm pacing and the run budget, over real HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ragline.errors import StepError
from ragline.llm.service import ModelService
from ragline.testing.fixtures import fake_deployments, workflow_model
from ragline.testing.openai_server import FakeOpenAI

QUESTION = [{"role": "user", "content": "What does the cache keep?"}]


def test_a_temperature_zero_repeat_is_served_from_the_cache(
    openai_server: FakeOpenAI, service
) -> None:
    svc = service(models={"answer": fake_deployments(openai_server, "m")})
    first = svc.complete("answer", QUESTION, temperature=0)
    second = svc.complete("answer", QUESTION, temperature=0)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.text == first.text
    assert second.usage.cache_hits == 1 and second.usage.prompt_tokens == 0
    assert len(openai_server.calls("m")) == 1


def test_the_disk_cache_outlives_the_run(openai_server: FakeOpenAI, tmp_path: Path) -> None:
    wf = workflow_model(models={"answer": fake_deployments(openai_server, "m")})
    ModelService(wf, tmp_path).complete("answer", QUESTION, temperature=0)
    again = ModelService(wf, tmp_path).complete("answer", QUESTION, temperature=0)
    assert again.cache_hit
    assert len(openai_server.calls("m")) == 1
    assert any((tmp_path / ".ragline" / "cache").iterdir())


@pytest.mark.integration
def test_a_stored_answer_is_visible_to_the_next_run_as_soon_as_the_call_returns(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    """Two runs of one process (`ragline serve`, a worker) share the disk cache.

    Each lookup of the second run's service comes right after the call of the
    first one returned, before a write behind the answer could have landed.
    """
    wf = workflow_model(models={"answer": fake_deployments(openai_server, "m")})
    writer, reader = ModelService(wf, tmp_path), ModelService(wf, tmp_path)
    for i in range(30):
        question = [{"role": "user", "content": f"question {i}"}]
        assert not writer.complete("answer", question, temperature=0).cache_hit
        assert reader.complete("answer", question, temperature=0).cache_hit, i
    assert len(openai_server.calls("m")) == 30


@pytest.mark.parametrize("changed", [{"temperature": 0.7}, {"max_tokens": 5}])
def test_nondeterministic_or_different_requests_are_not_served_from_cache(
    openai_server: FakeOpenAI, service, changed: dict[str, float]
) -> None:
    svc = service(models={"answer": fake_deployments(openai_server, "m")})
    svc.complete("answer", QUESTION, temperature=0)
    params = {"temperature": 0, **changed}
    assert not svc.complete("answer", QUESTION, **params).cache_hit
    assert len(openai_server.calls("m")) == 2


def test_cache_type_none_always_calls_the_model(openai_server: FakeOpenAI, service) -> None:
    svc = service(models={"answer": fake_deployments(openai_server, "m")}, cache={"type": "none"})
    svc.complete("answer", QUESTION, temperature=0)
    svc.complete("answer", QUESTION, temperature=0)
    assert len(openai_server.calls("m")) == 2


def test_rpm_limit_delays_requests_instead_of_failing_them(
    openai_server: FakeOpenAI, service
) -> None:
    svc = service(models={"answer": fake_deployments(openai_server, "paced", rpm=120)})
    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(
                lambda i: svc.complete("answer", [{"role": "user", "content": f"q{i}"}]), range(6)
            )
        )
    elapsed = time.monotonic() - started
    assert len(results) == 6 and all(r.text.startswith("echo: q") for r in results)
    assert [r.behavior for r in openai_server.calls("paced")] == ["ok"] * 6
    # 120 rpm = 2 per second with a burst of 2: the last of 6 leaves after ~2 s.
    assert elapsed >= 1.5
    stamps = sorted(r.at for r in openai_server.calls("paced"))
    assert stamps[-1] - stamps[0] >= 1.5


def test_the_request_budget_refuses_the_call_past_the_limit(
    openai_server: FakeOpenAI, service
) -> None:
    svc = service(
        models={"answer": fake_deployments(openai_server, "m")}, budget={"max_requests": 2}
    )
    svc.complete("answer", QUESTION)
    svc.complete("answer", QUESTION)
    with pytest.raises(StepError) as err:
        svc.complete("answer", QUESTION)
    assert "max_requests 2 reached" in str(err.value)
    assert err.value.category == "business_logic" and not err.value.retryable
    assert len(openai_server.calls("m")) == 2


def test_a_per_alias_token_budget_stops_after_the_call_that_crosses_it(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.set_reply("m", "many words " * 20)
    svc = service(
        models={
            "answer": fake_deployments(openai_server, "m"),
            "other": fake_deployments(openai_server, "o"),
        },
        budget={"per_alias": {"answer": {"max_tokens": 30}}},
    )
    with pytest.raises(StepError, match="alias 'answer': max_tokens 30 exceeded"):
        svc.complete("answer", QUESTION)
    svc.complete("other", QUESTION)  # other aliases keep their own budget


def test_a_cost_budget_uses_litellm_prices_for_known_models(
    openai_server: FakeOpenAI, service
) -> None:
    openai_server.set_reply("gpt-4o-mini", "word " * 100)
    svc = service(
        models={"answer": fake_deployments(openai_server, "gpt-4o-mini")},
        budget={"max_cost_usd": 0.0001},
    )
    first = svc.complete("answer", QUESTION)  # ~100 output tokens at gpt-4o-mini prices
    assert 0.00003 < first.usage.cost_usd < 0.0001
    with pytest.raises(StepError, match=r"max_cost_usd 0\.0001 exceeded"):
        svc.complete("answer", QUESTION)
